"""The contract for environments written in Python (user classes, gymnasium adapters, test envs).

A `PythonEnv` is one copy of an environment. A stepper (in-process or in worker
processes over shared memory) owns the batched `StepBatch` arrays of every behavior and
hands each copy the *views* of its own rows: the copy writes its observations, rewards
and flags straight into them, so nothing is pickled or copied per step.

Rules a copy follows on `reset` and `step` (the same ones the native environments keep):
- write `obs` for the next decision of every one of its agents;
- on `step`, write the reward of the decision just taken, and set `terminated` or
  `truncated` (never both; terminated wins) for agents whose episode ended. For those,
  write the final observation into `terminal_obs`, the episode's totals into
  `episode_return` / `episode_length`, start the next episode at once and write its
  first observation into `obs` (same-step auto-reset);
- on `reset`, clear `reward`, `terminated` and `truncated`;
- write `action_mask` (True = not allowed) when the behavior has discrete actions.
Agent ids, group ids and group rewards may be written too; the stepper fills agent ids
with the slot index before the first reset.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping

from mlagents_fast.envs.parameters import EnvironmentParameters
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.spec import ActionTuple, BehaviorSpec


class PythonEnv(ABC):
    """One copy of an environment written in Python, writing into views of shared arrays."""

    @property
    @abstractmethod
    def behavior_specs(self) -> Mapping[str, BehaviorSpec]: ...

    @property
    @abstractmethod
    def agents_per_env(self) -> Mapping[str, int]:
        """How many agent slots this copy has for each behavior (fixed for its lifetime)."""

    @abstractmethod
    def reset(self, out: Mapping[str, StepBatch], seed: int | None = None) -> None:
        """Start every agent's first episode, writing into `out` (this copy's rows only)."""

    @abstractmethod
    def step(self, actions: Mapping[str, ActionTuple], out: Mapping[str, StepBatch]) -> None:
        """Apply one decision's `actions` (this copy's rows) and write the outcome into `out`."""

    def set_parameters(self, parameters: EnvironmentParameters) -> None:  # noqa: B027 - optional hook
        """Where the copy reads its environment parameters at each episode reset
        (`parameters.get_with_default(name, default)`); copies that read none ignore it."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the copy holds."""


# Builds one copy; must be picklable (a module-level function or class) for worker processes.
EnvFactory = Callable[[], PythonEnv]
