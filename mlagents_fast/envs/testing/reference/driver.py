"""The VecEnv driver (decision period, MaxStep, auto-reset) in Python, over the ported rules."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from mlagents_fast.envs.native.rng import Rng, mix
from mlagents_fast.envs.testing.reference import hallway, pushblock, pyramids, rules, walljump


class ReferenceVectorEnv:
    """Same arrays and semantics as the native VecEnv (flat numpy arrays, copy-major slots)."""

    def __init__(self, rule_set: rules.Rules, num_envs: int, seed: int = 0) -> None:
        self.rules = rule_set
        self.num_envs = num_envs
        slots = num_envs * rule_set.agents_per_env
        self.obs = [np.zeros((slots, *shape), np.float32) for shape in rule_set.obs_shapes]
        self.terminal_obs = [np.zeros_like(o) for o in self.obs]
        self.reward = np.zeros(slots, np.float32)
        self.terminated = np.zeros(slots, np.bool_)
        self.truncated = np.zeros(slots, np.bool_)
        self.action_mask = np.zeros((slots, sum(rule_set.branches)), np.bool_)
        self.episode_return = np.zeros(slots, np.float32)
        self.episode_length = np.zeros(slots, np.int32)
        self.continuous_actions = np.zeros((slots, rule_set.continuous_size), np.float32)
        self.discrete_actions = np.zeros((slots, len(rule_set.branches)), np.int32)
        self._states: list[Any] = [None] * slots
        self._steps = [0] * slots
        self._running_return = [0.0] * slots  # in double, as the native driver sums them
        self._running_length = [0] * slots
        self._rngs: list[Rng] = []
        self.reset(seed)

    def reset(self, seed: int) -> None:
        self._rngs = [Rng(mix(seed, e)) for e in range(self.num_envs)]
        for slot in range(len(self.reward)):
            self._begin(slot)
            self._observe(slot, self.obs, with_mask=True)
        self.reward[:] = 0.0
        self.terminated[:] = False
        self.truncated[:] = False
        self.episode_return[:] = 0.0
        self.episode_length[:] = 0

    def step(self) -> None:
        r = self.rules
        for slot in range(len(self.reward)):
            reward, terminated, truncated = np.float32(0.0), False, False
            for _ in range(r.decision_period):
                reward, terminated = r.tick(
                    self._states[slot], self.continuous_actions[slot], self.discrete_actions[slot], reward
                )
                self._steps[slot] += 1
                if terminated:
                    break
                if r.max_step > 0 and self._steps[slot] >= r.max_step:
                    truncated = True
                    break
            self.reward[slot] = reward
            self.terminated[slot] = terminated
            self.truncated[slot] = truncated
            self._running_return[slot] += float(reward)
            self._running_length[slot] += 1
            if terminated or truncated:
                self._observe(slot, self.terminal_obs, with_mask=False)
                self.episode_return[slot] = self._running_return[slot]
                self.episode_length[slot] = self._running_length[slot]
                self._begin(slot)
            self._observe(slot, self.obs, with_mask=True)

    def _begin(self, slot: int) -> None:
        rng = self._rngs[slot // self.rules.agents_per_env]
        if getattr(self.rules, "keeps_state", False):  # what an agent keeps between episodes (Sorter's heading)
            self._states[slot] = self.rules.begin_episode(rng, self._states[slot])  # type: ignore[call-arg]
        else:
            self._states[slot] = self.rules.begin_episode(rng)
        self._steps[slot] = 0
        self._running_return[slot] = 0.0
        self._running_length[slot] = 0

    def _observe(self, slot: int, target: list[np.ndarray], with_mask: bool) -> None:
        for array, values in zip(target, self.rules.observe(self._states[slot]), strict=True):
            array[slot] = values
        if with_mask and self.rules.branches:
            self.action_mask[slot] = self.rules.mask(self._states[slot])


_RULES: dict[str, Callable[[], rules.Rules]] = {
    "Basic": rules.Basic,
    "CartPole": rules.CartPole,
    "3DBall": partial(rules.Ball3D, hard=False),
    "3DBallHard": partial(rules.Ball3D, hard=True),
    "GridWorld": rules.GridWorld,
    "Hallway": hallway.Hallway,
    "PushBlock": pushblock.PushBlock,
    "Pyramids": pyramids.Pyramids,
    "SmallWallJump": walljump.WallJump,
    "BigWallJump": partial(walljump.WallJump, big=True),
}


def make_reference(name: str, num_envs: int = 1, seed: int = 0) -> ReferenceVectorEnv:
    return ReferenceVectorEnv(_RULES[name](), num_envs, seed)
