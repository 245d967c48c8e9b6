"""Reward signals: what an agent is paid, each with its own gamma, strength and value head.

A trainer asks `make_reward_signals` for the signals its settings name and treats them all
alike through the `RewardSignal` protocol, so a new signal (curiosity, RND, GAIL...) plugs in
with `register_reward_signal` without touching any trainer.
"""

from mlagents_fast.reward_signals.base import LearnedRewardSignal, RewardInput, RewardSignal, SignalUpdateBatch
from mlagents_fast.reward_signals.extrinsic import ExtrinsicRewardSignal
from mlagents_fast.reward_signals.registry import make_reward_signals, register_reward_signal

__all__ = [
    "ExtrinsicRewardSignal",
    "LearnedRewardSignal",
    "RewardInput",
    "RewardSignal",
    "SignalUpdateBatch",
    "make_reward_signals",
    "register_reward_signal",
]
