"""The batched environment contract every stepper implements.

A `VectorEnv` runs `num_envs` copies of an environment. Each behavior has a fixed
number of agent slots (`num_envs * agents_per_env`, copy-major); every slot asks for a
decision on every `step()`. All data lives in preallocated struct-of-arrays that the
stepper writes in place, so readers get numpy views and no per-step allocation:

- `batch(name)` -> `StepBatch`: observations for the next decision, the reward of the
  last decision, `terminated` / `truncated` (ML-Agents' `interrupted`) and, for the
  slots whose episode ended this step, the final observation in `terminal_obs`. An
  ended episode is followed at once by the next one in the same slot (ML-Agents'
  auto-reset: the agent is in both TerminalSteps and DecisionSteps of one step).
- `actions(name)` -> `ActionTuple` of preallocated arrays that the caller fills before
  `step()`; the stepper validates them (shape, dtype, range, masks, NaN) and raises
  `ActionError` naming the environment, behavior, field and agent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.run.stats import StatsAggregationMethod
from mlagents_fast.spec import ActionTuple, BehaviorSpec


@dataclass(frozen=True)
class StepBatch:
    """One behavior's view of the latest step; every array's first axis is the agent slot.

    `action_mask` is True where a discrete action is *not* allowed (ML-Agents' convention),
    one column per choice of every branch, or None for behaviors without discrete actions.
    `episode_return` and `episode_length` (in decisions) hold the totals of the episode that
    ended, on the rows where `terminated | truncated`. `absent` is True where an agent asks for
    no decision this step (ML-Agents leaves it out of DecisionSteps: MultiAgentEnvironment's early
    finishers waiting for their group; a Unity agent between its decisions); its action is
    ignored. None: every agent asks. `opponent` is True where another policy plays the slot (a
    self-play opponent, as the ghost trainer shows the batch to its learner): its episodes are not
    the learner's to report, where an absent agent's episode that ends is.
    """

    obs: tuple[NDArray[np.float32], ...]
    terminal_obs: tuple[NDArray[np.float32], ...]
    reward: NDArray[np.float32]
    terminated: NDArray[np.bool_]
    truncated: NDArray[np.bool_]
    action_mask: NDArray[np.bool_] | None
    agent_id: NDArray[np.int32]
    group_id: NDArray[np.int32]
    group_reward: NDArray[np.float32]
    episode_return: NDArray[np.float32]
    episode_length: NDArray[np.int32]
    absent: NDArray[np.bool_] | None = None
    opponent: NDArray[np.bool_] | None = None

    @property
    def done(self) -> NDArray[np.bool_]:
        """Slots whose episode ended on the latest step (a new array)."""
        return self.terminated | self.truncated

    @staticmethod
    def allocate(spec: BehaviorSpec, num_agents: int) -> StepBatch:
        """Zeroed arrays for `num_agents` slots of `spec` (for steppers written in Python)."""
        obs = tuple(np.zeros((num_agents, *o.shape), o.dtype) for o in spec.observation_specs)
        terminal = tuple(np.zeros_like(o) for o in obs)
        mask_width = sum(spec.action_spec.discrete_branches)
        return StepBatch(
            obs=obs,
            terminal_obs=terminal,
            reward=np.zeros(num_agents, np.float32),
            terminated=np.zeros(num_agents, np.bool_),
            truncated=np.zeros(num_agents, np.bool_),
            action_mask=np.zeros((num_agents, mask_width), np.bool_) if mask_width else None,
            agent_id=np.arange(num_agents, dtype=np.int32),
            group_id=np.zeros(num_agents, np.int32),
            group_reward=np.zeros(num_agents, np.float32),
            episode_return=np.zeros(num_agents, np.float32),
            episode_length=np.zeros(num_agents, np.int32),
            absent=np.zeros(num_agents, np.bool_),
        )


class EnvError(RuntimeError):
    """An environment failed (raised, returned NaN, or its worker died beyond the restart limits)."""


class VectorEnv(ABC):
    """`num_envs` copies of one environment, stepped together into shared arrays."""

    name: str
    num_envs: int

    @property
    @abstractmethod
    def behavior_specs(self) -> Mapping[str, BehaviorSpec]: ...

    @abstractmethod
    def batch(self, behavior: str) -> StepBatch:
        """The arrays the stepper writes for `behavior` (the same objects on every call)."""

    @abstractmethod
    def actions(self, behavior: str) -> ActionTuple:
        """The arrays the caller fills before `step()` (the same objects on every call)."""

    @abstractmethod
    def reset(self, seed: int | None = None) -> None:
        """Start a new episode in every slot; rewards and done flags are cleared.

        `seed` reseeds every copy; without one the copies continue the random streams seeded
        at construction or by the last `reset(seed)` (never a fixed seed, which would make
        runs with different seeds alike).
        """

    @abstractmethod
    def step(self) -> None:
        """Apply the actions in `actions(...)` to every slot and advance one decision."""

    def set_parameters(self, parameters: Mapping[str, Any]) -> None:
        """Environment parameters (constants or sampler settings), applied at each episode reset.

        Names the environment does not read are ignored with a one-time warning, as Unity does.
        """
        raise EnvError(f"Environment {self.name!r} takes no environment parameters.")

    def game_stats(self) -> dict[str, list[tuple[float, StatsAggregationMethod]]]:
        """The stats the environment's game recorded since the last call, by name, as (value,
        aggregation) pairs (a Unity game's StatsRecorder); the built-in environments have none."""
        return {}

    @abstractmethod
    def close(self) -> None:
        """Release threads, processes and shared memory; safe to call twice."""

    def __enter__(self) -> VectorEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def num_agents(self, behavior: str) -> int:
        return int(self.batch(behavior).reward.shape[0])

    def teams(self, behavior: str) -> NDArray[np.int32] | None:
        """The team of each slot of `behavior` when its agents play in teams (self-play), else None."""
        return None

    def _check_behavior(self, behavior: str) -> None:
        if behavior not in self.behavior_specs:
            known = ", ".join(sorted(self.behavior_specs))
            raise KeyError(f"Environment {self.name!r} has no behavior {behavior!r}; its behaviors are: {known}.")


class SingleBehaviorVectorEnv(VectorEnv):
    """A VectorEnv of one behavior whose arrays are made once: a subclass sets `_specs` (the one
    behavior's name -> its spec), `_batch` and `_actions` in its constructor."""

    _specs: Mapping[str, BehaviorSpec]
    _batch: StepBatch
    _actions: ActionTuple

    @property
    def behavior_specs(self) -> Mapping[str, BehaviorSpec]:
        return self._specs

    def batch(self, behavior: str) -> StepBatch:
        self._check_behavior(behavior)
        return self._batch

    def actions(self, behavior: str) -> ActionTuple:
        self._check_behavior(behavior)
        return self._actions
