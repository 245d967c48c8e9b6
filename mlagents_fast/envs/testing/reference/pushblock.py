"""PushBlock's rules for one agent, as native/include/mlaf/envs/pushblock.h has them (see there
for the game): the same double arithmetic in the same order, so the two agree to the bit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.envs.testing.reference.rules import Obs, Rules, f32

DT = 0.02
HALF_FLOOR, GOAL_FACE, AGENT_RADIUS = 12.5, -8.35, 0.5
SPAWN_HALF, CHECK_HALF = 6.25, 2.5
RUN_SPEED, TURN_DEGREES, AGENT_DRAG = 3.0, 200.0 * DT, 4.0
GRAVITY = 9.81 * 2.5
MATERIAL_FRICTION = 0.6
RAY_LENGTH, RAY_RADIUS = 12.0, 0.5
RAYS, PER_RAY, STACK = 7, 5, 3
MAX_STEP = 5000
BLOCK, GOAL, WALL, NOTHING = 0, 1, 2, 3
ANGLES = (0.0, 30.0, -30.0, 60.0, -60.0, 90.0, -90.0)
DEG_TO_RAD = 3.14159265358979323846 / 180.0


@dataclass
class State:
    x: float = 0.0
    z: float = 0.0
    heading: float = 0.0
    vx: float = 0.0
    vz: float = 0.0
    bx: float = 0.0
    bz: float = 0.0
    bvx: float = 0.0
    bvz: float = 0.0
    half: float = 1.0
    block_drag: float = 0.5
    dynamic_friction: float = 0.0
    static_friction: float = 0.0
    frames: np.ndarray = field(default_factory=lambda: np.zeros((STACK, RAYS * PER_RAY), np.float32))


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


class PushBlock(Rules):
    def __init__(self, areas: int = 32) -> None:
        size = STACK * RAYS * PER_RAY
        super().__init__("PushBlock", areas, [(size,), (size,)], branches=(7,), max_step=MAX_STEP, decision_period=5)
        self.parameters = {"block_scale": 2.0, "block_drag": 0.5, "dynamic_friction": 0.0, "static_friction": 0.0}

    def begin_episode(self, rng: Rng) -> State:
        p = self.parameters
        s = State(half=0.5 * _clamp(p["block_scale"], 0.5, 8.0), block_drag=max(p["block_drag"], 0.0),
                  dynamic_friction=0.5 * (max(p["dynamic_friction"], 0.0) + MATERIAL_FRICTION),
                  static_friction=0.5 * (max(p["static_friction"], 0.0) + MATERIAL_FRICTION))  # fmt: skip
        s.bx, s.bz = self._spawn(rng, s, avoid_block=False)
        s.x, s.z = self._spawn(rng, s, avoid_block=True)
        s.heading = rng.uniform(0.0, 360.0)
        return s

    @staticmethod
    def _spawn(rng: Rng, s: State, avoid_block: bool) -> tuple[float, float]:
        x = z = 0.0
        for _ in range(1000):
            x = rng.uniform(-SPAWN_HALF, SPAWN_HALF)
            z = rng.uniform(-SPAWN_HALF, SPAWN_HALF)
            on_goal = z - CHECK_HALF <= GOAL_FACE
            on_block = avoid_block and abs(x - s.bx) < CHECK_HALF + s.half and abs(z - s.bz) < CHECK_HALF + s.half
            if not on_goal and not on_block:
                break
        return x, z

    def tick(self, s: State, cont: Any, disc: Any, reward: np.float32) -> tuple[np.float32, bool]:
        act = int(disc[0])
        if act == 3:
            s.heading += TURN_DEGREES
        if act == 4:
            s.heading -= TURN_DEGREES
        h = s.heading * DEG_TO_RAD
        fx, fz = math.sin(h), math.cos(h)
        moves = {1: (fx, fz), 2: (-fx, -fz), 5: (-0.75 * fz, 0.75 * fx), 6: (0.75 * fz, -0.75 * fx)}
        mx, mz = moves.get(act, (0.0, 0.0))
        s.vx += mx * RUN_SPEED
        s.vz += mz * RUN_SPEED
        s.vx, s.vz = self._slow(s.vx, s.vz, AGENT_DRAG, s)
        s.bvx, s.bvz = self._slow(s.bvx, s.bvz, s.block_drag, s)
        s.x += s.vx * DT
        s.z += s.vz * DT
        s.bx += s.bvx * DT
        s.bz += s.bvz * DT
        s.x, s.z, s.vx, s.vz = self._inside(s.x, s.z, s.vx, s.vz, AGENT_RADIUS)
        s.bx, s.bz, s.bvx, s.bvz = self._inside(s.bx, s.bz, s.bvx, s.bvz, s.half)
        self._collide(s, block_fixed=False)
        s.bx, s.bz, s.bvx, s.bvz = self._inside(s.bx, s.bz, s.bvx, s.bvz, s.half)
        self._collide(s, block_fixed=True)
        s.x, s.z, s.vx, s.vz = self._inside(s.x, s.z, s.vx, s.vz, AGENT_RADIUS)
        reward = f32(reward + f32(-1.0 / MAX_STEP))
        if s.bz - s.half <= GOAL_FACE + 1e-9:
            return f32(reward + f32(5.0)), True
        return reward, False

    @staticmethod
    def _slow(vx: float, vz: float, drag: float, s: State) -> tuple[float, float]:
        keep = 1.0 / (1.0 + drag * DT)
        vx *= keep
        vz *= keep
        speed = math.sqrt(vx * vx + vz * vz)
        if speed <= s.static_friction * GRAVITY * DT:
            return 0.0, 0.0
        brake = s.dynamic_friction * GRAVITY * DT
        if brake > 0.0:
            scale = (speed - brake) / speed if speed > brake else 0.0
            vx *= scale
            vz *= scale
        return vx, vz

    @staticmethod
    def _inside(x: float, z: float, vx: float, vz: float, r: float) -> tuple[float, float, float, float]:
        low_x, high_x, low_z, high_z = -HALF_FLOOR + r, HALF_FLOOR - r, GOAL_FACE + r, HALF_FLOOR - r
        if x < low_x:
            x, vx = low_x, max(vx, 0.0)
        if x > high_x:
            x, vx = high_x, min(vx, 0.0)
        if z < low_z:
            z, vz = low_z, max(vz, 0.0)
        if z > high_z:
            z, vz = high_z, min(vz, 0.0)
        return x, z, vx, vz

    @staticmethod
    def _collide(s: State, block_fixed: bool) -> None:
        cx = _clamp(s.x, s.bx - s.half, s.bx + s.half)
        cz = _clamp(s.z, s.bz - s.half, s.bz + s.half)
        nx, nz = s.x - cx, s.z - cz
        dist = math.sqrt(nx * nx + nz * nz)
        if dist > 1e-12:
            if dist >= AGENT_RADIUS:
                return
            nx /= dist
            nz /= dist
            depth = AGENT_RADIUS - dist
        else:
            gaps = [s.bx + s.half - s.x, s.x - (s.bx - s.half), s.bz + s.half - s.z, s.z - (s.bz - s.half)]
            side = gaps.index(min(gaps))
            nx = 1.0 if side == 0 else -1.0 if side == 1 else 0.0
            nz = 1.0 if side == 2 else -1.0 if side == 3 else 0.0
            depth = AGENT_RADIUS + gaps[side]
        share = 1.0 if block_fixed else 0.5
        s.x += nx * depth * share
        s.z += nz * depth * share
        s.bx -= nx * depth * (1.0 - share)
        s.bz -= nz * depth * (1.0 - share)
        approach = (s.vx - s.bvx) * nx + (s.vz - s.bvz) * nz
        if approach < 0.0:
            s.vx -= approach * share * nx
            s.vz -= approach * share * nz
            s.bvx += approach * (1.0 - share) * nx
            s.bvz += approach * (1.0 - share) * nz

    @staticmethod
    def cast(s: State, angle: float) -> tuple[int, float]:
        """The first obstacle a sphere cast along `angle` (radians) meets, and its distance."""
        dx, dz = math.sin(angle), math.cos(angle)
        wall, goal = HALF_FLOOR - RAY_RADIUS, GOAL_FACE + RAY_RADIUS
        tag, best = NOTHING, RAY_LENGTH
        candidates = []
        if dx > 0.0 and s.x < wall:
            candidates.append(((wall - s.x) / dx, WALL))
        if dx < 0.0 and s.x > -wall:
            candidates.append(((-wall - s.x) / dx, WALL))
        if dz > 0.0 and s.z < wall:
            candidates.append(((wall - s.z) / dz, WALL))
        if dz < 0.0 and s.z > goal:
            candidates.append(((goal - s.z) / dz, GOAL))
        grown = s.half + RAY_RADIUS
        enter, leave, miss = -1e300, 1e300, False
        for origin, direction in ((s.x - s.bx, dx), (s.z - s.bz, dz)):
            if abs(direction) < 1e-12:
                miss = miss or abs(origin) > grown
                continue
            t1, t2 = (-grown - origin) / direction, (grown - origin) / direction
            enter, leave = max(enter, min(t1, t2)), min(leave, max(t1, t2))
        if not miss and leave >= enter and enter >= 0.0:
            candidates.append((enter, BLOCK))
        for t, what in candidates:
            if 0.0 <= t <= best:
                best, tag = t, what
        return tag, best

    def observe(self, s: State) -> Obs:
        s.frames[:-1] = s.frames[1:].copy()
        frame = np.zeros(RAYS * PER_RAY, np.float32)
        for r, angle in enumerate(ANGLES):
            tag, distance = self.cast(s, (s.heading + angle) * DEG_TO_RAD)
            if tag == NOTHING:
                frame[r * PER_RAY + 3] = frame[r * PER_RAY + 4] = 1.0
            else:
                frame[r * PER_RAY + tag] = 1.0
                frame[r * PER_RAY + 4] = np.float32(distance / RAY_LENGTH)
        s.frames[-1] = frame
        misses = np.tile(np.array([0, 0, 0, 1, 1], np.float32), STACK * RAYS)
        return [s.frames.reshape(-1).copy(), misses]


def heuristic(s: State) -> int:
    """A scripted player that sees the state: it gets to the block's far side from the goal,
    turns to face the goal (-z), strafes in line with the block and pushes, never moving
    faster than 6 units/s (the drag slows it in between)."""
    speed = math.hypot(s.vx, s.vz)
    if s.z < s.bz + s.half + 0.8:  # not behind the block yet: go round it, on the nearer side
        side = 1.0 if s.x >= s.bx else -1.0
        target_x = s.bx + side * (s.half + 1.5) if s.z < s.bz + s.half else s.bx
        wanted = math.degrees(math.atan2(target_x - s.x, s.bz + s.half + 1.5 - s.z))
    else:
        wanted = 180.0
    turn = (wanted - s.heading + 180.0) % 360.0 - 180.0
    if abs(turn) > 10.5:  # (a decision turns 20 degrees)
        return 3 if turn > 0 else 4
    if speed > 6.0:
        return 0
    if wanted == 180.0 and abs(s.x - s.bx) > s.half - 0.2:  # (a push on the back face goes straight)
        return 5 if s.x < s.bx else 6  # facing -z, the right is -x
    return 1
