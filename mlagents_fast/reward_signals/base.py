"""The seam between trainers and reward signals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.vector import StepBatch


class RewardInput:
    """One step of every agent: what it saw and did (`obs`, the actions), and what followed.

    Views into the trainer's rollout storage at the step's row; valid during the call only
    (a trainer reuses one object, so a step costs no allocation)."""

    __slots__ = ("_continuous", "_discrete", "_obs", "outcome", "row")
    outcome: StepBatch  # what followed the step: rewards, ends of episodes and the next observations

    def __init__(self, obs: list[NDArray[np.float32]], continuous: NDArray[Any] | None,
                 discrete: NDArray[Any] | None) -> None:  # fmt: skip
        self._obs, self._continuous, self._discrete = obs, continuous, discrete  # [T, N, ...] each
        self.row = 0

    @property
    def obs(self) -> tuple[NDArray[np.float32], ...]:
        return tuple(plane[self.row] for plane in self._obs)

    @property
    def continuous_action(self) -> NDArray[np.float32] | None:
        return None if self._continuous is None else self._continuous[self.row]

    @property
    def discrete_action(self) -> NDArray[np.int32] | None:
        return None if self._discrete is None else self._discrete[self.row]

    def at(self, row: int, outcome: StepBatch) -> RewardInput:
        """This object, now describing the step at ring `row` that `outcome` followed."""
        self.row, self.outcome = row, outcome
        return self


@dataclass(frozen=True)
class SignalUpdateBatch:
    """The steps an update trains on, agent by agent in time order (copies)."""

    obs: list[NDArray[np.float32]]
    continuous_action: NDArray[np.float32] | None
    discrete_action: NDArray[np.int32] | None
    trajectory_end: NDArray[np.bool_]  # True at the last step of each trajectory
    # The observation after each step (an ended episode's final one) and whether the step ended
    # its episode (terminated or interrupted; not a trajectory cut at time_horizon).
    next_obs: list[NDArray[np.float32]] | None = None
    done: NDArray[np.bool_] | None = None

    def __len__(self) -> int:
        return len(self.trajectory_end)

    def select(self, index: NDArray[np.int64] | slice) -> SignalUpdateBatch:
        """The steps at `index` (a minibatch, in that order; a slice gives views)."""

        def take(array: NDArray[Any] | None) -> Any:
            return None if array is None else array[index]

        return SignalUpdateBatch(
            [o[index] for o in self.obs], take(self.continuous_action), take(self.discrete_action),
            self.trajectory_end[index], None if self.next_obs is None else [o[index] for o in self.next_obs],
            take(self.done),
        )  # fmt: skip


class RewardSignal(Protocol):
    """A reward provider as a trainer sees it (ML-Agents' BaseRewardProvider)."""

    name: str  # its key under `reward_signals`, and the name of its value head
    gamma: float
    strength: float
    learns: bool  # whether `update` trains anything (a trainer gathers its batch only then)

    @property
    def stat_name(self) -> str:
        """The word in its stats: `Policy/<stat_name> Reward`, `Policy/<stat_name> Value Estimate` (PPO)
        or `Policy/<stat_name> Value` (SAC)."""
        ...

    def reward(self, step: RewardInput, out: NDArray[np.float32]) -> None:
        """Write every agent's reward for the step (before `strength`) into `out` [N]."""
        ...

    def update(self, batch: SignalUpdateBatch) -> dict[str, float]:
        """Train the signal's own networks, if it has any, on an update's steps; its stats by name."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps of it (empty when it learns nothing)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class LearnedRewardSignal(RewardSignal, Protocol):
    """A signal whose rewards come from networks it trains (`learns` is True): curiosity, RND, GAIL.

    As in ML-Agents, its rewards are evaluated with its networks as they are when an update
    takes the steps (PPO: all of the update's steps in one call, before the advantages; SAC: each
    round's minibatches, and each step as it is recorded, for the episode totals); its `reward`
    writes zeros (what PPO's collection pays it). `update` is called once per
    minibatch of the update, on the same minibatches as the policy's."""

    def evaluate(self, batch: SignalUpdateBatch) -> NDArray[np.float32]:
        """Every step's reward (before `strength`), [len(batch)]."""
        ...
