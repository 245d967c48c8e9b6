"""A sparse-reward chain for the intrinsic-reward tests: each agent starts at the left end of
`length` + 1 cells, observes its cell one-hot, and moves left, right or not at all; reaching the
right end pays +1 and ends the episode, nothing else pays, and an episode lasts at most
`max_decisions`. A random walk almost never gets there, so extrinsic reward alone has nothing to
learn from; a signal that pays for new observations leads the agents along the chain."""

from __future__ import annotations

import numpy as np

from mlagents_fast.envs.vector import SingleBehaviorVectorEnv, StepBatch
from mlagents_fast.spec import ActionSpec, ActionTuple, BehaviorSpec, ObservationSpec

BEHAVIOR = "SparseChain"


class SparseChain(SingleBehaviorVectorEnv):
    def __init__(self, num_envs: int = 16, length: int = 20, max_decisions: int = 40, seed: int = 0) -> None:
        self.name, self.num_envs = BEHAVIOR, num_envs
        self.length, self.max_decisions = length, max_decisions
        spec = BehaviorSpec((ObservationSpec.vector(length + 1),), ActionSpec(0, (3,)))
        self._specs = {BEHAVIOR: spec}
        self._batch = StepBatch.allocate(spec, num_envs)
        self._actions = ActionTuple(np.zeros((num_envs, 0), np.float32), np.zeros((num_envs, 1), np.int32))
        self.position = np.zeros(num_envs, np.int64)
        self.decisions = np.zeros(num_envs, np.int64)
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self.position[...] = 0
        self.decisions[...] = 0
        b = self._batch
        for array in (b.reward, b.terminated, b.truncated, b.episode_return, b.episode_length):
            array[...] = 0
        self._observe(b.obs[0])

    def step(self) -> None:
        b, move = self._batch, self._actions.discrete[:, 0]
        self.position = np.clip(self.position + np.where(move == 2, 1, np.where(move == 1, -1, 0)), 0, self.length)
        self.decisions += 1
        arrived = self.position == self.length
        b.reward[...] = arrived
        b.terminated[...] = arrived
        b.truncated[...] = ~arrived & (self.decisions >= self.max_decisions)
        done = b.terminated | b.truncated
        b.episode_return[done] = b.reward[done]
        b.episode_length[done] = self.decisions[done]
        self._observe(b.terminal_obs[0])
        self.position[done] = 0
        self.decisions[done] = 0
        self._observe(b.obs[0])

    def _observe(self, out: np.ndarray) -> None:
        out[...] = 0.0
        out[np.arange(self.num_envs), self.position] = 1.0

    def close(self) -> None:
        pass
