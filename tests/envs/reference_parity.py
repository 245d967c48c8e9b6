"""The comparison every native environment's parity test makes with its plain-Python reference."""

from __future__ import annotations

import numpy as np

from mlagents_fast.envs.testing.reference.driver import ReferenceVectorEnv
from mlagents_fast.envs.vector import StepBatch


def assert_outcome_equal(batch: StepBatch, port: ReferenceVectorEnv) -> int:
    """After a step of both: rewards, flags, and the ended episodes' final observations, returns
    and lengths are the reference's. Returns how many episodes ended."""
    np.testing.assert_array_equal(batch.reward, port.reward)
    np.testing.assert_array_equal(batch.terminated, port.terminated)
    np.testing.assert_array_equal(batch.truncated, port.truncated)
    done = batch.done
    for ours, theirs in zip(batch.terminal_obs, port.terminal_obs, strict=True):
        np.testing.assert_array_equal(ours[done], theirs[done])
    np.testing.assert_array_equal(batch.episode_return[done], port.episode_return[done])
    np.testing.assert_array_equal(batch.episode_length[done], port.episode_length[done])
    return int(done.sum())


def assert_observations_equal(batch: StepBatch, port: ReferenceVectorEnv) -> None:
    for ours, theirs in zip(batch.obs, port.obs, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    if batch.action_mask is not None:
        np.testing.assert_array_equal(batch.action_mask, port.action_mask)
