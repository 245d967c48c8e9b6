"""What a behavior observes and how it acts: ML-Agents' spec types, with the same names.

A leaf module: environments, steppers and trainers all import it, and it imports
nothing of theirs. Mirrors `mlagents_envs.base_env` (ObservationSpec, ActionSpec,
ActionTuple, BehaviorSpec) so scripts written against it keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

import numpy as np
from numpy.typing import NDArray


class DimensionProperty(IntFlag):
    """How a network may treat one dimension of an observation."""

    UNSPECIFIED = 0
    NONE = 1
    TRANSLATIONAL_EQUIVARIANCE = 2
    VARIABLE_SIZE = 4


class ObservationType(IntEnum):
    DEFAULT = 0
    GOAL_SIGNAL = 1


class ActionError(ValueError):
    """Actions that do not fit a behavior's action spec."""


@dataclass(frozen=True)
class ObservationSpec:
    """One observation: vector `(size,)`, visual channel-first `(C, H, W)` in [0, 1], or variable length.

    `dtype` is how the environment gives it: "float32", or "uint8" for an image whose pixels
    0-255 stand for 0-1 (kept as bytes through the buffers, scaled on the device by the
    network that reads it).
    """

    shape: tuple[int, ...]
    dimension_property: tuple[DimensionProperty, ...]
    observation_type: ObservationType = ObservationType.DEFAULT
    name: str = ""
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.dtype not in ("float32", "uint8"):
            raise ValueError(f"ObservationSpec dtype must be 'float32' or 'uint8'; got {self.dtype!r}.")
        if self.dtype == "uint8" and len(self.shape) != 3:
            raise ValueError(f"Only images (C, H, W) may be uint8; got an observation of shape {self.shape}.")

    @staticmethod
    def vector(
        size: int, name: str = "", observation_type: ObservationType = ObservationType.DEFAULT
    ) -> ObservationSpec:
        return ObservationSpec((size,), (DimensionProperty.NONE,), observation_type, name)

    @staticmethod
    def visual(channels: int, height: int, width: int, name: str = "", dtype: str = "float32") -> ObservationSpec:
        spatial = DimensionProperty.TRANSLATIONAL_EQUIVARIANCE
        dims = (DimensionProperty.NONE, spatial, spatial)
        return ObservationSpec((channels, height, width), dims, name=name, dtype=dtype)


@dataclass(frozen=True)
class ActionTuple:
    """Actions for n agents: continuous float32 `(n, continuous_size)`, discrete int32 `(n, branches)`."""

    continuous: NDArray[np.float32]
    discrete: NDArray[np.int32]


@dataclass(frozen=True)
class ActionSpec:
    """Continuous actions (`continuous_size` floats) and discrete branches (one choice per branch)."""

    continuous_size: int
    discrete_branches: tuple[int, ...]

    @staticmethod
    def create_continuous(continuous_size: int) -> ActionSpec:
        return ActionSpec(continuous_size, ())

    @staticmethod
    def create_discrete(discrete_branches: tuple[int, ...]) -> ActionSpec:
        return ActionSpec(0, tuple(discrete_branches))

    @staticmethod
    def create_hybrid(continuous_size: int, discrete_branches: tuple[int, ...]) -> ActionSpec:
        return ActionSpec(continuous_size, tuple(discrete_branches))

    def is_continuous(self) -> bool:
        return self.continuous_size > 0

    def is_discrete(self) -> bool:
        return len(self.discrete_branches) > 0

    @property
    def discrete_size(self) -> int:
        return len(self.discrete_branches)

    def empty_action(self, n_agents: int) -> ActionTuple:
        return ActionTuple(
            np.zeros((n_agents, self.continuous_size), np.float32),
            np.zeros((n_agents, self.discrete_size), np.int32),
        )

    def random_action(self, n_agents: int, rng: np.random.Generator | None = None) -> ActionTuple:
        """Continuous uniform in [-1, 1], discrete uniform over each branch."""
        rng = np.random.default_rng() if rng is None else rng
        continuous = rng.uniform(-1.0, 1.0, (n_agents, self.continuous_size)).astype(np.float32)
        discrete = np.stack([rng.integers(0, size, n_agents) for size in self.discrete_branches], axis=1) if (
            self.discrete_branches
        ) else np.zeros((n_agents, 0))  # fmt: skip
        return ActionTuple(continuous, discrete.astype(np.int32))

    def validate(self, actions: ActionTuple, n_agents: int, behavior: str) -> None:
        """Raise ActionError naming the behavior and field unless `actions` fits `n_agents` agents."""
        for field, array, width, dtype in (
            ("continuous", actions.continuous, self.continuous_size, np.float32),
            ("discrete", actions.discrete, self.discrete_size, np.int32),
        ):
            if array.shape != (n_agents, width) or array.dtype != dtype:
                raise ActionError(
                    f"Behavior {behavior!r} needs {field} actions of shape ({n_agents}, {width}) "
                    f"(agents, action size) and dtype {np.dtype(dtype).name}; got {array.dtype.name} {array.shape}."
                )
        if self.continuous_size and not np.isfinite(actions.continuous).all():
            agent = int(np.flatnonzero(~np.isfinite(actions.continuous).all(axis=1))[0])
            raise ActionError(f"Behavior {behavior!r}: continuous actions of agent index {agent} hold NaN or inf.")
        for branch, size in enumerate(self.discrete_branches):
            column = actions.discrete[:, branch]
            bad = np.flatnonzero((column < 0) | (column >= size))
            if bad.size:
                raise ActionError(
                    f"Behavior {behavior!r}: discrete branch {branch} has {size} choices (0 to {size - 1}); "
                    f"agent index {int(bad[0])} chose {int(column[bad[0]])}."
                )


@dataclass(frozen=True)
class BehaviorSpec:
    observation_specs: tuple[ObservationSpec, ...]
    action_spec: ActionSpec
