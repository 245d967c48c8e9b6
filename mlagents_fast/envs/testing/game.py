"""The game of ML-Agents' test environments, one agent at a time, and their observation specs.

Each agent has one position per action dimension, starting at 0 and clamped
to [-1, 1], and a goal of -1 or +1 drawn per episode. Every observation is filled with
the goal. A continuous action moves its position by the action clamped to
±step_size; a discrete branch (two choices) moves its position by +step_size (1) or
-step_size (0). The episode ends (terminated) when every position sits at -1 or +1; the
reward is -TIME_PENALTY per step and, on the last step, the mean over positions of
SUCCESS_REWARD * position * goal. There is no step limit, as in ML-Agents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.spec import ActionTuple, DimensionProperty, ObservationSpec, ObservationType

OBS_SIZE = 1
VIS_OBS_SIZE = (3, 20, 20)  # channel first
VAR_LEN_SIZE = (10, 5)  # (entities, features)
STEP_SIZE = 0.2
TIME_PENALTY = 0.01
MIN_STEPS = int(1.0 / STEP_SIZE) + 1
SUCCESS_REWARD = 1.0 + MIN_STEPS * TIME_PENALTY  # an optimal episode still returns about 1


def make_observation_specs(
    num_vector: int = 1,
    num_visual: int = 0,
    num_var_len: int = 0,
    vec_obs_size: int = OBS_SIZE,
    vis_obs_size: tuple[int, int, int] = VIS_OBS_SIZE,
    var_len_obs_size: tuple[int, int] = VAR_LEN_SIZE,
    goal_indices: Iterable[int] | None = None,
) -> tuple[ObservationSpec, ...]:
    """Vector, then visual, then variable-length observations; those at `goal_indices` are goal signals."""
    shapes: list[tuple[int, ...]] = [(vec_obs_size,)] * num_vector
    shapes += [tuple(vis_obs_size)] * num_visual + [tuple(var_len_obs_size)] * num_var_len
    goals = set(goal_indices or ())
    specs = []
    for i, shape in enumerate(shapes):
        # ML-Agents' test specs leave dimensions unspecified, except the entity axis of variable-length ones.
        dims = (
            (DimensionProperty.VARIABLE_SIZE, DimensionProperty.NONE)
            if len(shape) == 2
            else (DimensionProperty.UNSPECIFIED,) * len(shape)
        )
        kind = ObservationType.GOAL_SIGNAL if i in goals else ObservationType.DEFAULT
        specs.append(ObservationSpec(shape, dims, kind, f"observation {i} with shape {shape}"))
    return tuple(specs)


@dataclass
class Mover:
    """One agent's game: a position per action dimension, a goal, and its episode totals."""

    positions: list[float]
    goal: int = 1
    step_count: int = 0  # position updates: ML-Agents counts one per action dimension, not per step
    episode_return: float = 0.0  # summed in double, as ML-Agents' trainer and the native driver sum it
    episode_length: int = 0

    def restart(self, rng: Rng) -> None:
        self.goal = -1 if rng.below(2) == 0 else 1
        self.positions = [0.0] * len(self.positions)
        self.step_count = 0
        self.episode_return = 0.0
        self.episode_length = 0

    def move(self, deltas: Sequence[float], step_size: float) -> bool:
        """Apply one action; True when every position reached an end."""
        for i, delta in enumerate(deltas):
            delta = min(max(delta, -step_size), step_size)
            self.positions[i] = min(max(self.positions[i] + delta, -1.0), 1.0)
            self.step_count += 1
        return all(p >= 1.0 or p <= -1.0 for p in self.positions)

    def reward(self, done: bool) -> float:
        if not done:
            return -TIME_PENALTY
        total = 0.0  # summed left to right, as the native code does (not with sum()'s compensation)
        for p in self.positions:
            total += SUCCESS_REWARD * p * self.goal / len(self.positions)
        return total


def action_deltas(actions: ActionTuple, row: int) -> list[float]:
    """Continuous actions first, then one ±1 per discrete branch, as ML-Agents orders positions."""
    continuous = [float(a) for a in actions.continuous[row]] if actions.continuous.size else []
    discrete = [1.0 if d else -1.0 for d in actions.discrete[row]] if actions.discrete.size else []
    return continuous + discrete


def fill_rows(arrays: tuple[NDArray[np.float32], ...], row: int, value: float) -> None:
    for array in arrays:
        array[row] = value


@dataclass
class Outcome:
    """What one agent's step wrote; shared by the single- and multi-agent environments."""

    reward: float
    done: bool
    group_reward: float = 0.0
