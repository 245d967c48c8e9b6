"""Pyramids' rules for one agent, as native/include/mlaf/envs/pyramids.h has them (see there for
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
HALF_ROOM, AREA_SPACING, AREA_RANGE = 50.0, 30.0, 25.0 / 2.1
AGENT_RADIUS, AGENT_HEIGHT = 0.5, 0.5
SWITCH_HALF, STONE_HALF, PYRAMID_HALF, GOLD_HALF = 2.0, 2.0, 2.0, 1.0
SWITCH_HEIGHT, STONE_HEIGHT, PYRAMID_HEIGHT, GOLD_HEIGHT, WALL_HEIGHT = 4.0, 5.0, 6.0, 2.0, 5.0
RUN_SPEED, TURN_DEGREES, DRAG = 2.0, 200.0 * DT, 2.0
FRICTION, GRAVITY = 0.6, 9.81
TOPPLE_SPEED, GOLD_DROP = 3.0, 3.0
RAY_LENGTH, RAY_RADIUS = 35.0, 0.5
RAYS, TAGS, SENSORS = 7, 6, 3
PER_RAY = TAGS + 2
STONES = 6
MAX_STEP = 5000
BLOCK, WALL, GOAL, SWITCH_OFF, SWITCH_ON, STONE, NOTHING = range(7)
SWITCH_WAITS, PYRAMID_STANDS, GOLD_DOWN = 0, 1, 2
MAX_DEGREES, RISE = (70.0, 65.0, 75.0), (0.0, 5.0, 10.0)
DEG_TO_RAD = 3.14159265358979323846 / 180.0


@dataclass
class State:
    x: float = 0.0
    z: float = 0.0
    heading: float = 0.0
    vx: float = 0.0
    vz: float = 0.0
    switch: tuple[float, float] = (0.0, 0.0)
    pyramid: tuple[float, float] = (0.0, 0.0)
    gold: tuple[float, float] = (0.0, 0.0)
    stones: list[tuple[float, float]] = field(default_factory=list)
    stage: int = SWITCH_WAITS


def _place(rng: Rng, area: int) -> tuple[float, float]:
    x = (area % 3 - 1) * AREA_SPACING + rng.uniform(-AREA_RANGE, AREA_RANGE)
    z = (area // 3 - 1) * AREA_SPACING + rng.uniform(-AREA_RANGE, AREA_RANGE)
    return x, z


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


class Pyramids(Rules):
    def __init__(self, areas: int = 16) -> None:
        frame = RAYS * PER_RAY
        super().__init__("Pyramids", areas, [(frame,), (frame,), (frame,), (4,)], branches=(5,), max_step=MAX_STEP,
                         decision_period=5)  # fmt: skip

    def begin_episode(self, rng: Rng) -> State:
        order = list(range(9))
        for i in range(8, 0, -1):
            j = rng.below(i + 1)
            order[i], order[j] = order[j], order[i]
        s = State()
        s.x, s.z = _place(rng, order[0])
        s.heading = float(rng.below(360))
        s.switch = _place(rng, order[1])
        s.pyramid = _place(rng, order[2])
        s.stones = [_place(rng, order[3 + k]) for k in range(STONES)]
        return s

    def tick(self, s: State, cont: Any, disc: Any, reward: np.float32) -> tuple[np.float32, bool]:
        drive(s, int(disc[0]), RUN_SPEED, TURN_DEGREES, DRAG, FRICTION * GRAVITY * DT)
        reward = f32(reward + f32(-1.0 / MAX_STEP))
        keep_within(s, HALF_ROOM - AGENT_RADIUS, HALF_ROOM - AGENT_RADIUS)
        for cx, cz in s.stones:
            _push_out(s, cx, cz, STONE_HALF)
        touched = _push_out(s, *s.switch, SWITCH_HALF)
        if touched is not None and s.stage == SWITCH_WAITS:
            s.stage = PYRAMID_STANDS
        if s.stage == PYRAMID_STANDS:
            contact = _push_out(s, *s.pyramid, PYRAMID_HALF)
            if contact is not None and contact[0] >= TOPPLE_SPEED:
                _, nx, nz = contact
                s.stage = GOLD_DOWN
                low, high = -HALF_ROOM + GOLD_HALF, HALF_ROOM - GOLD_HALF
                s.gold = (
                    _clamp(s.pyramid[0] - nx * GOLD_DROP, low, high),
                    _clamp(s.pyramid[1] - nz * GOLD_DROP, low, high),
                )
        elif s.stage == GOLD_DOWN and _push_out(s, *s.gold, GOLD_HALF) is not None:
            return f32(2.0), True
        return reward, False

    def observe(self, s: State) -> Obs:
        frames = []
        for sensor in range(SENSORS):
            frame = np.zeros((RAYS, PER_RAY), np.float32)
            step = MAX_DEGREES[sensor] / 3.0
            for r in range(RAYS):
                k = (r + 1) // 2
                offset = 0.0 if r == 0 else (k * step if r % 2 == 1 else -k * step)
                tag, fraction = _cast(s, (s.heading + offset) * DEG_TO_RAD, RISE[sensor])
                if tag == NOTHING:
                    frame[r, TAGS] = frame[r, TAGS + 1] = 1.0
                else:
                    frame[r, tag] = 1.0
                    frame[r, TAGS + 1] = np.float32(fraction)
            frames.append(frame.reshape(-1))
        h = s.heading * DEG_TO_RAD
        fx, fz = math.sin(h), math.cos(h)
        vector = np.array([0.0 if s.stage == SWITCH_WAITS else 1.0, s.vx * fz - s.vz * fx, 0.0,
                           s.vx * fx + s.vz * fz], np.float32)  # fmt: skip
        return [*frames, vector]


def _push_out(s: State, cx: float, cz: float, half: float) -> tuple[float, float, float] | None:
    """The agent's disc out of a square; None when they do not touch, else (the speed into the
    square before it was stopped, the contact normal)."""
    return push_disc_out_of_box(s, AGENT_RADIUS, cx, cz, half, half)


def _cast(s: State, angle: float, rise: float) -> tuple[int, float]:
    dx, dz = math.sin(angle) * RAY_LENGTH, math.cos(angle) * RAY_LENGTH
    tag, best = NOTHING, 1.0

    def consider(cx: float, cz: float, half: float, height: float, what: int) -> None:
        nonlocal tag, best
        grown = half + RAY_RADIUS
        enter = ray_enters_box(s.x - cx, s.z - cz, dx, dz, grown, grown)
        if enter is None:
            return
        over = AGENT_HEIGHT + rise * enter > height + RAY_RADIUS
        if enter <= best and not over:
            tag, best = what, enter

    def wall_at(t: float) -> None:
        nonlocal tag, best
        over = AGENT_HEIGHT + rise * t > WALL_HEIGHT + RAY_RADIUS
        if 0.0 <= t <= best and not over:
            tag, best = WALL, t

    wall = HALF_ROOM - RAY_RADIUS
    if dx > 0.0:
        wall_at((wall - s.x) / dx)
    if dx < 0.0:
        wall_at((-wall - s.x) / dx)
    if dz > 0.0:
        wall_at((wall - s.z) / dz)
    if dz < 0.0:
        wall_at((-wall - s.z) / dz)
    for cx, cz in s.stones:
        consider(cx, cz, STONE_HALF, STONE_HEIGHT, STONE)
    consider(*s.switch, SWITCH_HALF, SWITCH_HEIGHT, SWITCH_OFF if s.stage == SWITCH_WAITS else SWITCH_ON)
    if s.stage == PYRAMID_STANDS:
        consider(*s.pyramid, PYRAMID_HALF, PYRAMID_HEIGHT, BLOCK)
    if s.stage == GOLD_DOWN:
        consider(*s.gold, GOLD_HALF, GOLD_HEIGHT, GOAL)
    return tag, best


def heuristic(s: State) -> int:
    """Press the switch, run into the pyramid, then touch the gold: turn towards each, then go."""
    target = s.switch if s.stage == SWITCH_WAITS else (s.pyramid if s.stage == PYRAMID_STANDS else s.gold)
    return steer(s, target)
