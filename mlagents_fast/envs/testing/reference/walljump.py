"""WallJump's rules for one agent, as native/include/mlaf/envs/walljump.h has them (see there
for the game): the same double arithmetic in the same order, so the two agree to the bit.
`heuristic` is a scripted player for the tests and the recorder."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.envs.testing.reference.rules import Obs, Rules, f32

DT = 0.02
HALF_GROUND_X, GROUND_LOW_Z, GROUND_HIGH_Z = 10.5, -14.5, 6.5
GROUND_DEPTH, GROUND_CENTRE_Y, GROUND_CENTRE_Z = 0.9, -0.45, -4.0
WALL_HALF_X, WALL_LOW_Z, WALL_HIGH_Z = 10.0, -2.73, -1.23
GOAL_LOW_X, GOAL_HIGH_X, GOAL_LOW_Z, GOAL_HIGH_Z, GOAL_HEIGHT = 4.37, 8.37, 0.93, 4.93, 0.5
AGENT_HALF, BLOCK_HALF_XZ, BLOCK_HALF_Y = 0.5, 1.5, 1.0
AGENT_MASS, BLOCK_MASS = 25.0, 10.0
AGENT_DRAG, BLOCK_DRAG, FRICTION = 2.0, 1.0, 0.6
GRAVITY = 9.81 * 2.75
RUN_SPEED, TURN_DEGREES = 3.0, 300.0 * DT
JUMP_HEIGHT, JUMP_VELOCITY, JUMP_MAX_CHANGE = 2.75, 777.0, 10.0
JUMP_TIME, FALLING_FORCE = 0.2, 111.0
RAY_LENGTH, RAY_RADIUS = 20.0, 0.5
OFFSET_START, OFFSET_END = 2.5, 5.0
RAYS, PER_RAY, STACK = 7, 5, 6
MAX_STEP = 2000
WALL, GOAL, BLOCK, NOTHING = 0, 1, 2, 3
ANGLES = (0.0, 30.0, -30.0, 60.0, -60.0, 90.0, -90.0)
DEG_TO_RAD = 3.14159265358979323846 / 180.0

Box = tuple[list[float], list[float]]  # (low corner, high corner), x y z


@dataclass
class Body:
    p: list[float]
    v: list[float]
    supported: bool


@dataclass
class State:
    agent: Body
    block: Body
    heading: float
    wall_top: float
    jumping_time: float = 0.0
    jump_start_y: float = 0.0
    frames: np.ndarray = field(default_factory=lambda: np.zeros((2, STACK, RAYS * PER_RAY), np.float32))


def ground_box() -> Box:
    return [-HALF_GROUND_X, -GROUND_DEPTH, GROUND_LOW_Z], [HALF_GROUND_X, 0.0, GROUND_HIGH_Z]


def wall_box(s: State) -> Box:
    return [-WALL_HALF_X, 0.0, WALL_LOW_Z], [WALL_HALF_X, s.wall_top, WALL_HIGH_Z]


def body_box(b: Body, half_xz: float, half_y: float) -> Box:
    p = b.p
    return [p[0] - half_xz, p[1] - half_y, p[2] - half_xz], [p[0] + half_xz, p[1] + half_y, p[2] + half_xz]


def block_box(s: State) -> Box:
    return body_box(s.block, BLOCK_HALF_XZ, BLOCK_HALF_Y)


def _overlaps(a: Box, b: Box) -> bool:
    return all(a[0][k] < b[1][k] and b[0][k] < a[1][k] for k in range(3))


def _inside_xz(p: list[float], b: Box) -> bool:
    return b[0][0] <= p[0] <= b[1][0] and b[0][2] <= p[2] <= b[1][2]


def _over_ground(p: list[float], s: State | None) -> bool:
    if _inside_xz(p, ground_box()):
        return True
    return s is not None and _inside_xz(p, block_box(s)) and p[1] >= s.block.p[1]


def in_goal(p: list[float]) -> bool:
    return (p[0] + AGENT_HALF > GOAL_LOW_X and p[0] - AGENT_HALF < GOAL_HIGH_X and p[2] + AGENT_HALF > GOAL_LOW_Z
            and p[2] - AGENT_HALF < GOAL_HIGH_Z and p[1] - AGENT_HALF < GOAL_HEIGHT)  # fmt: skip


def small_grounded(s: State) -> bool:
    p = s.agent.p
    start = p[1] - 0.05
    best = -1e300
    for i, box in enumerate((ground_box(), wall_box(s), block_box(s))):
        if i == 1 and s.wall_top <= 0.0:
            continue
        if _inside_xz(p, box) and box[1][1] <= start and box[1][1] > best:
            best = box[1][1]
    return start - best <= 1.0


def large_grounded(s: State) -> bool:
    p = s.agent.p
    check = [p[0] - 0.475, p[1] - 0.55, p[2] - 0.475], [p[0] + 0.475, p[1] + 0.45, p[2] + 0.475]
    if _overlaps(check, ground_box()):
        return True
    if s.wall_top > 0.0 and _overlaps(check, wall_box(s)):
        return True
    return _overlaps(check, block_box(s))


class WallJump(Rules):
    def __init__(self, big: bool = False, areas: int = 1) -> None:
        size = STACK * RAYS * PER_RAY
        super().__init__("BigWallJump" if big else "SmallWallJump", areas, [(size,), (size,), (4,)],
                         branches=(3, 3, 3, 2), max_step=MAX_STEP, decision_period=5)  # fmt: skip
        self.big = big
        self.parameters = {"no_wall_height": 0.0, "small_wall_height": 4.0, "big_wall_min_height": 8.0,
                           "big_wall_max_height": 8.0, "big_wall_height": math.nan}  # fmt: skip

    def begin_episode(self, rng: Rng) -> State:
        p = self.parameters
        block = Body([rng.uniform(-8.1, 8.1), BLOCK_HALF_Y, -6.27 + rng.uniform(-3.5, 3.5)], [0.0, 0.0, 0.0], True)
        agent = Body([18.0 * (rng.uniform01() - 0.5), AGENT_HALF + 0.05, -12.0], [0.0, 0.0, 0.0], False)
        heading = rng.uniform(0.0, 360.0)
        if self.big and not math.isnan(p["big_wall_height"]):
            height = p["big_wall_height"]
        elif self.big:
            low = p["big_wall_min_height"]
            height = low + rng.uniform01() * (p["big_wall_max_height"] - low)
        else:
            height = p["no_wall_height"] if rng.below(2) == 0 else p["small_wall_height"]
        return State(agent, block, heading, 0.5 * min(max(height, 0.0), 20.0))

    def tick(self, s: State, cont: Any, disc: Any, reward: np.float32) -> tuple[np.float32, bool]:
        reward = f32(reward + f32(-0.0005))
        if not _over_ground(s.agent.p, s) or not _over_ground(s.block.p, None):
            return f32(-1.0), True
        _move(s, [int(a) for a in disc])
        _simulate(s)
        if in_goal(s.agent.p) and small_grounded(s):
            return f32(1.0), True
        return reward, False

    def observe(self, s: State) -> Obs:
        for sensor in range(2):
            frames = s.frames[sensor]
            frames[:-1] = frames[1:].copy()
            frame = frames[-1].reshape(RAYS, PER_RAY)
            frame[:] = 0.0
            for r, angle in enumerate(ANGLES):
                tag, fraction = _cast(s, sensor == 1, (s.heading + angle) * DEG_TO_RAD)
                if tag == NOTHING:
                    frame[r, 3] = frame[r, 4] = 1.0
                else:
                    frame[r, tag] = 1.0
                    frame[r, 4] = np.float32(fraction)
        p = s.agent.p
        vector = np.array([p[0] / 20.0, (p[1] - GROUND_CENTRE_Y) / 20.0, (p[2] - GROUND_CENTRE_Z) / 20.0,
                           1.0 if small_grounded(s) else 0.0], np.float32)  # fmt: skip
        return [s.frames[0].reshape(-1).copy(), s.frames[1].reshape(-1).copy(), vector]


def _move(s: State, act: list[int]) -> None:
    small, large = small_grounded(s), large_grounded(s)
    h = s.heading * DEG_TO_RAD
    fx, fz = math.sin(h), math.cos(h)
    scale = 1.0 if large else 0.5
    gx = gz = 0.0
    if act[0] == 1:
        gx, gz = scale * fx, scale * fz
    if act[0] == 2:
        gx, gz = -scale * fx, -scale * fz
    if act[2] == 1:
        gx, gz = -scale * 0.6 * fz, scale * 0.6 * fx
    if act[2] == 2:
        gx, gz = scale * 0.6 * fz, -scale * 0.6 * fx
    if act[3] == 1 and s.jumping_time <= 0.0 and small:
        s.jumping_time = JUMP_TIME
        s.jump_start_y = s.agent.p[1]
    if act[1] == 1:
        s.heading -= TURN_DEGREES
    if act[1] == 2:
        s.heading += TURN_DEGREES
    v, p = s.agent.v, s.agent.p
    if s.jumping_time > 0.0:
        target = (p[0] + gx, s.jump_start_y + JUMP_HEIGHT, p[2] + gz)
        change = [DT * JUMP_VELOCITY * (target[k] - p[k]) - v[k] for k in range(3)]
        length2 = 0.0
        for c in change:
            length2 += c * c
        length = math.sqrt(length2)
        keep = 1.0 if length <= JUMP_MAX_CHANGE else JUMP_MAX_CHANGE / length
        for k in range(3):
            v[k] += change[k] * keep
    v[0] += gx * RUN_SPEED
    v[2] += gz * RUN_SPEED
    if not s.jumping_time > 0.0 and not large:
        v[1] -= FALLING_FORCE * DT
    s.jumping_time -= DT


def _integrate(b: Body, drag: float) -> None:
    b.v[1] -= GRAVITY * DT
    keep = 1.0 / (1.0 + drag * DT)
    b.v = [v * keep for v in b.v]
    if b.supported:
        speed = math.sqrt(b.v[0] * b.v[0] + b.v[2] * b.v[2])
        brake = FRICTION * GRAVITY * DT
        scale = (speed - brake) / speed if speed > brake else 0.0
        b.v[0] *= scale
        b.v[2] *= scale
    for k in range(3):
        b.p[k] += b.v[k] * DT
    b.supported = False


def _separation(body: Box, other: Box, previous_bottom: float) -> tuple[int, float, float] | None:
    """(axis, depth, direction) that moves `body` out of `other`, or None if they do not overlap."""
    if not _overlaps(body, other):
        return None
    axis, depth, direction = -1, 1e300, 0.0
    for k in range(3):
        push_up, push_down = other[1][k] - body[0][k], body[1][k] - other[0][k]
        if push_up < depth:
            axis, depth, direction = k, push_up, 1.0
        if push_down < depth:
            axis, depth, direction = k, push_down, -1.0
    if previous_bottom >= other[1][1] - 1e-9:
        axis, depth, direction = 1, other[1][1] - body[0][1], 1.0
    return axis, depth, direction


def _push_out(b: Body, half_xz: float, half_y: float, other: Box, previous_bottom: float) -> None:
    found = _separation(body_box(b, half_xz, half_y), other, previous_bottom)
    if found is None:
        return
    axis, depth, direction = found
    b.p[axis] += direction * depth
    if b.v[axis] * direction < 0.0:
        b.v[axis] = 0.0
    if axis == 1 and direction > 0.0:
        b.supported = True


def _against_statics(b: Body, half_xz: float, half_y: float, s: State, previous_bottom: float) -> None:
    _push_out(b, half_xz, half_y, ground_box(), previous_bottom)
    if s.wall_top > 0.0:
        _push_out(b, half_xz, half_y, wall_box(s), previous_bottom)


def _simulate(s: State) -> None:
    agent, block = s.agent, s.block
    agent_bottom = agent.p[1] - AGENT_HALF
    block_bottom = block.p[1] - BLOCK_HALF_Y
    _integrate(block, BLOCK_DRAG)
    _integrate(agent, AGENT_DRAG)
    _against_statics(block, BLOCK_HALF_XZ, BLOCK_HALF_Y, s, block_bottom)
    _against_statics(agent, AGENT_HALF, AGENT_HALF, s, agent_bottom)
    found = _separation(body_box(agent, AGENT_HALF, AGENT_HALF), block_box(s), agent_bottom)
    if found is None:
        return
    axis, depth, direction = found
    if axis == 1:
        agent.p[1] += direction * depth
        if agent.v[1] * direction < 0.0:
            agent.v[1] = 0.0
        if direction > 0.0:
            agent.supported = True
        return
    agent_share = BLOCK_MASS / (AGENT_MASS + BLOCK_MASS)
    agent.p[axis] += direction * depth * agent_share
    block.p[axis] -= direction * depth * (1.0 - agent_share)
    approach = (agent.v[axis] - block.v[axis]) * direction
    if approach < 0.0:
        common = (AGENT_MASS * agent.v[axis] + BLOCK_MASS * block.v[axis]) / (AGENT_MASS + BLOCK_MASS)
        agent.v[axis] = common
        block.v[axis] = common
    before = block.p[axis]
    _against_statics(block, BLOCK_HALF_XZ, BLOCK_HALF_Y, s, block.p[1] - BLOCK_HALF_Y)
    if block.p[axis] != before:
        agent.p[axis] += block.p[axis] - before
        agent.v[axis] = block.v[axis]
        _against_statics(agent, AGENT_HALF, AGENT_HALF, s, agent.p[1] - AGENT_HALF)


def _cast(s: State, offset: bool, angle: float) -> tuple[int, float]:
    p = s.agent.p
    dx, dz = math.sin(angle) * RAY_LENGTH, math.cos(angle) * RAY_LENGTH
    origin = (p[0], p[1] + (OFFSET_START if offset else 0.0), p[2])
    ray = (dx, OFFSET_END - OFFSET_START if offset else 0.0, dz)
    tag, best = NOTHING, 1.0
    boxes: list[tuple[Box, int]] = []
    if s.wall_top > 0.0:
        boxes.append((wall_box(s), WALL))
    boxes.append((([GOAL_LOW_X, 0.0, GOAL_LOW_Z], [GOAL_HIGH_X, GOAL_HEIGHT, GOAL_HIGH_Z]), GOAL))
    boxes.append((block_box(s), BLOCK))
    for box, what in boxes:
        enter, leave = -1e300, 1e300
        missed = False
        for k in range(3):
            low, high = box[0][k] - RAY_RADIUS, box[1][k] + RAY_RADIUS
            if ray[k] == 0.0:
                if origin[k] < low or origin[k] > high:
                    missed = True
                    break
                continue
            t1, t2 = (low - origin[k]) / ray[k], (high - origin[k]) / ray[k]
            enter = max(enter, min(t1, t2))
            leave = min(leave, max(t1, t2))
        if not missed and enter <= leave and 0.0 <= enter <= best:
            tag, best = what, enter
    return tag, best


def heuristic(s: State) -> list[int]:
    """A scripted player for no wall and a low wall: turn towards the goal, run, and jump when the
    wall is just ahead. Returns the four branches' actions."""
    p = s.agent.p
    target_x, target_z = 6.37, 2.93
    if p[2] < WALL_LOW_Z - 0.5:  # before the wall: cross it in front of the goal
        target_z = WALL_HIGH_Z + 2.0
    bearing = math.degrees(math.atan2(target_x - p[0], target_z - p[2]))
    turn = (bearing - s.heading + 180.0) % 360.0 - 180.0
    rotate = 0 if abs(turn) < 8.0 else (2 if turn > 0 else 1)
    near_wall = s.wall_top > 0.0 and WALL_LOW_Z - 2.5 < p[2] < WALL_LOW_Z and abs(turn) < 45.0
    return [1 if abs(turn) < 60.0 else 0, rotate, 0, 1 if near_wall else 0]
