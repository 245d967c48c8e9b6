"""Preallocated experience storage: on-policy rollouts and the SAC replay ring."""

from mlagents_fast.buffer.fields import FieldSpec, rollout_fields
from mlagents_fast.buffer.gather import Gatherer
from mlagents_fast.buffer.replay import ReplayBuffer
from mlagents_fast.buffer.rollout import RolloutBuffer

__all__ = ["FieldSpec", "Gatherer", "ReplayBuffer", "RolloutBuffer", "rollout_fields"]
