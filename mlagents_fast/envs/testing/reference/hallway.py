"""Hallway's rules for one agent, as native/include/mlaf/envs/hallway.h has them (see there for
the game): the same double arithmetic in the same order, so the two agree to the bit.
`heuristic` is a scripted player for the tests and the recorder."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.envs.testing.reference.rules import (
    Obs,
    Rules,
    drive,
    f32,
    keep_within,
    push_disc_out_of_box,
    ray_enters_box,
    steer,
)

DT = 0.02
HALF_WIDTH, HALF_LENGTH = 9.5, 24.75
AGENT_RADIUS = 0.5
SYMBOL_HALF_X, SYMBOL_HALF_Z = 2.0, 0.5
GOAL_X, GOAL_HALF_X, GOAL_NEAR = 7.0, 2.0, 20.29
GOAL_HALF_Z = (HALF_LENGTH - GOAL_NEAR) / 2.0
GOAL_Z = GOAL_NEAR + GOAL_HALF_Z
RUN_SPEED, TURN_DEGREES, DRAG = 1.5, 150.0 * DT, 2.0
FRICTION, GRAVITY = 0.6, 2.0 * 9.81
RAY_LENGTH, RAY_RADIUS, RAY_STEP = 12.0, 0.5, 35.0
RAYS, TAGS, STACK = 5, 5, 3
PER_RAY = TAGS + 2
FRAME = RAYS * PER_RAY
MAX_STEP = 3000
O_GOAL, X_GOAL, SYMBOL_O, SYMBOL_X, WALL, NOTHING = range(6)
DEG_TO_RAD = 3.14159265358979323846 / 180.0


@dataclass
class State:
    x: float = 0.0
    z: float = 0.0
    heading: float = 0.0
    vx: float = 0.0
    vz: float = 0.0
    symbol: int = 0  # 0: O, 1: X
    symbol_x: float = 0.0
    symbol_z: float = 0.0
    o_goal_x: float = GOAL_X  # the X goal is at -o_goal_x
    steps: int = 0
    rays: np.ndarray = field(default_factory=lambda: np.zeros((STACK, FRAME), np.float32))
    step_fractions: np.ndarray = field(default_factory=lambda: np.zeros(STACK, np.float32))


class Hallway(Rules):
    def __init__(self, areas: int = 16) -> None:
        super().__init__("Hallway", areas, [(STACK * FRAME,), (STACK,)], branches=(5,), max_step=MAX_STEP,
                         decision_period=6)  # fmt: skip

    def begin_episode(self, rng: Rng) -> State:
        s = State()
        s.symbol = rng.below(2)
        s.symbol_x = rng.uniform(-3.0, 3.0) if s.symbol == 0 else 0.0
        s.symbol_z = rng.uniform(-5.0, 5.0)
        s.x = rng.uniform(-3.0, 3.0)
        s.z = -15.0 + rng.uniform(-5.0, 5.0)
        s.heading = rng.uniform(0.0, 360.0)
        s.o_goal_x = GOAL_X if rng.below(2) == 0 else -GOAL_X
        return s

    def tick(self, s: State, cont: Any, disc: Any, reward: np.float32) -> tuple[np.float32, bool]:
        drive(s, int(disc[0]), RUN_SPEED, TURN_DEGREES, DRAG, FRICTION * GRAVITY * DT)
        s.steps += 1
        reward = f32(reward + f32(-1.0 / MAX_STEP))
        keep_within(s, HALF_WIDTH - AGENT_RADIUS, HALF_LENGTH - AGENT_RADIUS)
        push_disc_out_of_box(s, AGENT_RADIUS, s.symbol_x, s.symbol_z, SYMBOL_HALF_X, SYMBOL_HALF_Z)
        for goal in (0, 1):  # 0: the O goal, 1: the X goal
            cx = s.o_goal_x if goal == 0 else -s.o_goal_x
            if push_disc_out_of_box(s, AGENT_RADIUS, cx, GOAL_Z, GOAL_HALF_X, GOAL_HALF_Z) is not None:
                return (f32(1.0) if goal == s.symbol else f32(-0.1)), True
        return reward, False

    def observe(self, s: State) -> Obs:
        s.rays[:-1] = s.rays[1:].copy()
        frame = np.zeros((RAYS, PER_RAY), np.float32)
        for r in range(RAYS):
            k = (r + 1) // 2
            offset = 0.0 if r == 0 else (k * RAY_STEP if r % 2 == 1 else -k * RAY_STEP)
            tag, fraction = _cast(s, (s.heading + offset) * DEG_TO_RAD)
            if tag == NOTHING:
                frame[r, TAGS] = frame[r, TAGS + 1] = 1.0
            else:
                frame[r, tag] = 1.0
                frame[r, TAGS + 1] = np.float32(fraction)
        s.rays[-1] = frame.reshape(-1)
        s.step_fractions[:-1] = s.step_fractions[1:].copy()
        s.step_fractions[-1] = f32(s.steps) / f32(MAX_STEP)
        return [s.rays.reshape(-1).copy(), s.step_fractions.copy()]


def _cast(s: State, angle: float) -> tuple[int, float]:
    dx, dz = math.sin(angle) * RAY_LENGTH, math.cos(angle) * RAY_LENGTH
    tag, best = NOTHING, 1.0

    def consider(cx: float, cz: float, hx: float, hz: float, what: int) -> None:
        nonlocal tag, best
        enter = ray_enters_box(s.x - cx, s.z - cz, dx, dz, hx + RAY_RADIUS, hz + RAY_RADIUS)
        if enter is not None and enter <= best:
            tag, best = what, enter

    def wall_at(t: float) -> None:
        nonlocal tag, best
        if 0.0 <= t <= best:
            tag, best = WALL, t

    wall_x, wall_z = HALF_WIDTH - RAY_RADIUS, HALF_LENGTH - RAY_RADIUS
    if dx > 0.0:
        wall_at((wall_x - s.x) / dx)
    if dx < 0.0:
        wall_at((-wall_x - s.x) / dx)
    if dz > 0.0:
        wall_at((wall_z - s.z) / dz)
    if dz < 0.0:
        wall_at((-wall_z - s.z) / dz)
    consider(s.symbol_x, s.symbol_z, SYMBOL_HALF_X, SYMBOL_HALF_Z, SYMBOL_O if s.symbol == 0 else SYMBOL_X)
    consider(s.o_goal_x, GOAL_Z, GOAL_HALF_X, GOAL_HALF_Z, O_GOAL)
    consider(-s.o_goal_x, GOAL_Z, GOAL_HALF_X, GOAL_HALF_Z, X_GOAL)
    return tag, best


def heuristic(s: State) -> int:
    """Walk past the symbol on the matching goal's side, then into that goal (the player knows the
    symbol; a policy must have seen and remembered it)."""
    goal_x = s.o_goal_x if s.symbol == 0 else -s.o_goal_x
    side = math.copysign(HALF_WIDTH - 1.5, goal_x)
    if s.z < s.symbol_z + 1.5:
        return steer(s, (side, s.symbol_z + 2.0))
    return steer(s, (goal_x, GOAL_Z))
