"""Scripted policies for the built-in environments: they show each reward function is right."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.spec import ActionTuple


def basic(batch: StepBatch, actions: ActionTuple) -> None:
    actions.discrete[:, 0] = 2  # always right, to the large goal


def cartpole(batch: StepBatch, actions: ActionTuple) -> None:
    x, x_dot, theta, theta_dot = batch.obs[0].T
    actions.discrete[:, 0] = (theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot > 0).astype(np.int32)


def ball3d(batch: StepBatch, actions: ActionTuple) -> None:
    # Tilt toward a rotation proportional to the ball's offset and speed (a PD controller).
    qz, qx, px, _, pz, vx, _, vz = batch.obs[0].T
    target_z, target_x = 0.14 * (px + vx), -0.14 * (pz + vz)
    actions.continuous[:, 0] = np.clip((target_z - qz) / 0.087, -1.0, 1.0)
    actions.continuous[:, 1] = np.clip((target_x - qx) / 0.087, -1.0, 1.0)


def gridworld(batch: StepBatch, actions: ActionTuple) -> None:
    """Walk to the signalled goal, never onto the other one, reading cells from the camera.

    Needs one pixel per cell: a GridWorld made with resolution = gridSize + 2 (7 by default)."""
    image, signal = batch.obs
    for slot in range(image.shape[0]):
        actions.discrete[slot, 0] = _grid_move(image[slot], bool(signal[slot, 0] > 0.5))


def _cells(image: NDArray[np.float32], channel_values: tuple[float, float, float]) -> list[tuple[int, int]]:
    match = np.all(np.isclose(image, np.array(channel_values, np.float32)[:, None, None]), axis=0)
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(match), strict=True)]


def _grid_move(image: NDArray[np.float32], want_plus: bool) -> int:
    agent = _cells(image, (0.0, 0.0, 1.0))[0]
    targets = _cells(image, (0.0, 1.0, 0.0) if want_plus else (1.0, 0.0, 0.0))
    avoid = set(_cells(image, (1.0, 0.0, 0.0) if want_plus else (0.0, 1.0, 0.0)))
    walls = set(_cells(image, (0.5, 0.5, 0.5)))
    goal = min(targets, key=lambda t: abs(t[0] - agent[0]) + abs(t[1] - agent[1]))
    # Image rows grow downward (toward -z); actions: 1 up (+z), 2 down (-z), 3 left (-x), 4 right (+x).
    moves = {1: (-1, 0), 2: (1, 0), 3: (0, -1), 4: (0, 1)}
    ranked = sorted(
        moves,
        key=lambda m: abs(goal[0] - agent[0] - moves[m][0]) + abs(goal[1] - agent[1] - moves[m][1]),
    )
    for move in ranked:
        row, col = agent[0] + moves[move][0], agent[1] + moves[move][1]
        if (row, col) not in avoid and (row, col) not in walls:
            return move
    return 0
