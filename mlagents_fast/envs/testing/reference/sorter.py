"""Sorter's rules for one agent, as native/include/mlaf/envs/sorter.h has them (see there for the
game): the same double arithmetic in the same order, so the two agree to the bit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.envs.testing.reference.rules import Obs, Rules, damp_and_brake, f32

DT = 0.02
TILES, FEATURES, VECTOR, STACK, BODY = 20, 23, 4, 2, 10
TILE_DISTANCE, TILE_HALF_WIDTH, TILE_HALF_DEPTH = 20.5, 1.75, 0.76
WALL = TILE_DISTANCE + TILE_HALF_DEPTH
AGENT_RADIUS, RUN_SPEED, AGENT_DRAG = 0.5, 2.0, 4.0
FRICTION, GRAVITY = 0.6, 9.81 * 2.5
TURN_DEGREES = 200.0 * DT
MAX_STEP = 5000
DEG_TO_RAD = 3.14159265358979323846 / 180.0


@dataclass
class State:
    x: float = 0.0
    z: float = 0.0
    heading: float = 180.0
    vx: float = 0.0
    vz: float = 0.0
    numbers: list[int] = field(default_factory=list)  # the shown tiles' numbers (1-20), increasing
    slots: list[int] = field(default_factory=list)
    next: int = 0
    frames: np.ndarray = field(default_factory=lambda: np.zeros((STACK, VECTOR), np.float32))


def _distinct(rng: Rng, count: int) -> list[int]:
    """`count` different values of 0-19, drawn one by one (a repeat is drawn again)."""
    used = [False] * TILES
    values = []
    for _ in range(count):
        value = rng.below(TILES)
        while used[value]:
            value = rng.below(TILES)
        used[value] = True
        values.append(value)
    return values


class Sorter(Rules):
    keeps_state = True  # the agent keeps its heading from one episode to the next

    def __init__(self, areas: int = 8) -> None:
        super().__init__("Sorter", areas, [(TILES, FEATURES), (BODY,), (STACK * VECTOR,)], branches=(3, 3, 3),
                         max_step=MAX_STEP, decision_period=5)  # fmt: skip
        self.parameters = {"num_tiles": 20.0}

    def begin_episode(self, rng: Rng, previous: State | None = None) -> State:
        most = int(min(max(math.floor(self.parameters["num_tiles"]), 1.0), float(TILES)))
        shown = 1 + rng.below(most)
        numbers = sorted(n + 1 for n in _distinct(rng, shown))
        slots = _distinct(rng, shown)
        return State(heading=180.0 if previous is None else previous.heading, numbers=numbers, slots=slots)

    def tick(self, s: State, cont: Any, disc: Any, reward: np.float32) -> tuple[np.float32, bool]:
        forward, sideways, turn = int(disc[0]), int(disc[1]), int(disc[2])
        if turn == 1:
            s.heading -= TURN_DEGREES
        if turn == 2:
            s.heading += TURN_DEGREES
        h = s.heading * DEG_TO_RAD
        fx, fz = math.sin(h), math.cos(h)
        mx = mz = 0.0
        if forward == 1:
            mx, mz = fx, fz
        if forward == 2:
            mx, mz = -fx, -fz
        if sideways == 1:
            mx, mz = fz, -fx
        if sideways == 2:
            mx, mz = -fz, fx
        s.vx += mx * RUN_SPEED
        s.vz += mz * RUN_SPEED
        s.vx, s.vz = damp_and_brake(s.vx, s.vz, AGENT_DRAG, DT, FRICTION * GRAVITY * DT)
        s.x += s.vx * DT
        s.z += s.vz * DT
        reward = f32(reward + f32(-1.0 / MAX_STEP))
        limit, r = WALL - AGENT_RADIUS, math.sqrt(s.x * s.x + s.z * s.z)
        if r > limit:
            nx, nz = s.x / r, s.z / r
            s.x, s.z = nx * limit, nz * limit
            out = s.vx * nx + s.vz * nz
            if out > 0.0:
                s.vx -= out * nx
                s.vz -= out * nz
        for i, slot in enumerate(s.slots):
            if not self._touch(s, slot) or i < s.next:
                continue
            if i == s.next:
                reward = f32(reward + f32(1.0))
                s.next += 1
                if s.next == len(s.slots):
                    return reward, True
                continue
            return f32(reward + f32(-1.0)), True
        return reward, False

    @staticmethod
    def _touch(s: State, slot: int) -> bool:
        angle = slot * (360.0 / TILES) * DEG_TO_RAD
        ux, uz = math.sin(angle), math.cos(angle)
        tx, tz = uz, -ux
        cx, cz = TILE_DISTANCE * ux, TILE_DISTANCE * uz
        lr, lt = (s.x - cx) * ux + (s.z - cz) * uz, (s.x - cx) * tx + (s.z - cz) * tz
        pr = min(max(lr, -TILE_HALF_DEPTH), TILE_HALF_DEPTH)
        pt = min(max(lt, -TILE_HALF_WIDTH), TILE_HALF_WIDTH)
        nr, nt = lr - pr, lt - pt
        dist = math.sqrt(nr * nr + nt * nt)
        if dist >= AGENT_RADIUS:
            return False
        if dist > 1e-12:
            nr /= dist
            nt /= dist
            depth = AGENT_RADIUS - dist
        else:
            nr, nt = -1.0, 0.0
            depth = AGENT_RADIUS + (lr + TILE_HALF_DEPTH)
        nx, nz = nr * ux + nt * tx, nr * uz + nt * tz
        s.x += nx * depth
        s.z += nz * depth
        approach = s.vx * nx + s.vz * nz
        if approach < 0.0:
            s.vx -= approach * nx
            s.vz -= approach * nz
        return True

    def observe(self, s: State) -> Obs:
        entities = np.zeros((TILES, FEATURES), np.float32)
        for i, (number, slot) in enumerate(zip(s.numbers, s.slots, strict=True)):
            angle = slot * (360.0 / TILES) * DEG_TO_RAD
            entities[i, number] = 1.0
            entities[i, TILES] = np.float32((TILE_DISTANCE * math.sin(angle) - s.x) / 20.0)
            entities[i, TILES + 1] = np.float32((TILE_DISTANCE * math.cos(angle) - s.z) / 20.0)
            entities[i, TILES + 2] = 1.0 if i < s.next else 0.0
        h = s.heading * DEG_TO_RAD
        fx, fz = math.sin(h), math.cos(h)
        body = np.zeros(BODY, np.float32)
        body[6] = 1.0
        body[7] = np.float32(s.vx * fz - s.vz * fx)
        body[9] = np.float32(s.vx * fx + s.vz * fz)
        s.frames[0] = s.frames[1]
        s.frames[1] = np.array([s.x / 20.0, s.z / 20.0, fx, fz], np.float32)
        return [entities, body, s.frames.reshape(-1).copy()]


def heuristic(s: State) -> list[int]:
    """A scripted player that sees the state: it turns toward the next tile's face and walks
    to it (slowing down as it comes close, so as not to slide into a neighbour)."""
    if s.next >= len(s.slots):
        return [0, 0, 0]
    angle = s.slots[s.next] * (360.0 / TILES) * DEG_TO_RAD
    reach = TILE_DISTANCE - TILE_HALF_DEPTH - AGENT_RADIUS
    gx, gz = reach * math.sin(angle), reach * math.cos(angle)
    wanted = math.degrees(math.atan2(gx - s.x, gz - s.z))
    turn = (wanted - s.heading + 180.0) % 360.0 - 180.0
    action = [0, 0, 0]
    if abs(turn) > 10.5:  # (a decision turns 20 degrees)
        action[2] = 2 if turn > 0 else 1
    distance = math.hypot(gx - s.x, gz - s.z)
    speed = math.hypot(s.vx, s.vz)
    if abs(turn) < 45.0 and speed < max(2.0, distance):
        action[0] = 1
    return action
