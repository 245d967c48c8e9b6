"""Cooperative PushBlock's rules and its coupled driver in plain Python, as
native/include/mlaf/envs/pushblock_collab.h has them (see there for the game): the same double
arithmetic in the same order, so the two agree to the bit. `heuristic` is a scripted team for the
tests and the recorder."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.native.rng import Rng, mix
from mlagents_fast.envs.testing.reference.rules import (
    DEG_TO_RADIANS,
    FIXED_DT,
    damp_and_brake,
    keep_within,
    push_disc_out_of_box,
    separate_discs,
)

HALF_FLOOR, GOAL_FACE, SPAWN_HALF, CHECK_HALF = 12.5, -8.35, 6.25, 1.5
AGENT_RADIUS, AGENT_MASS, RUN_SPEED = 0.5, 10.0, 3.0
TURN_DEGREES, AGENT_DRAG = 200.0 * FIXED_DT, 4.0
AGENT_BRAKE = 0.3 * 9.81 * 2.5 * FIXED_DT
STATIC_FRICTION, DYNAMIC_FRICTION, BLOCK_DRAG = 0.45, 0.1, 0.5
AGENTS, BLOCKS, MAX_ENVIRONMENT_STEPS = 3, 6, 5000
GRID, CHANNELS, DECISION_PERIOD = 20, 6, 5
WALL, AGENT, GOAL, BLOCK_SMALL = 0, 1, 2, 3
PENALTY = np.float32(-0.5) / np.float32(MAX_ENVIRONMENT_STEPS)


@dataclass
class Walker:
    x: float = 0.0
    z: float = 0.0
    heading: float = 0.0
    vx: float = 0.0
    vz: float = 0.0


@dataclass
class Block:
    size: int
    x: float = 0.0
    z: float = 0.0
    vx: float = 0.0
    vz: float = 0.0
    active: bool = True

    @property
    def half(self) -> float:
        return 0.5 * self.size

    @property
    def mass(self) -> float:
        return 10.0 if self.size == 1 else (100.0 if self.size == 2 else 150.0)


@dataclass
class Area:
    agents: list[Walker]
    blocks: list[Block]
    timer: int = 0
    remaining: int = BLOCKS


def begin_episode(rng: Rng) -> Area:
    placed: list[tuple[float, float, float]] = []

    def spawn(half: float) -> tuple[float, float]:
        x = z = 0.0
        for _ in range(1000):
            x, z = rng.uniform(-SPAWN_HALF, SPAWN_HALF), rng.uniform(-SPAWN_HALF, SPAWN_HALF)
            if all(abs(x - px) >= CHECK_HALF + ph or abs(z - pz) >= CHECK_HALF + ph for px, pz, ph in placed):
                break
        placed.append((x, z, half))
        return x, z

    agents = []
    for _ in range(AGENTS):
        x, z = spawn(AGENT_RADIUS)
        agents.append(Walker(x, z, rng.uniform(0.0, 360.0)))
    blocks = []
    for b in range(BLOCKS):
        block = Block(1 + b // 2)
        block.x, block.z = spawn(block.half)
        blocks.append(block)
    return Area(agents, blocks)


def tick(a: Area, actions: NDArray[np.int32], group_reward: np.float32) -> tuple[int, np.float32]:
    """One physics step; (1 when the last block was scored, -1 when interrupted, else 0; the group's
    reward with this step's added)."""
    a.timer += 1
    if a.timer >= MAX_ENVIRONMENT_STEPS:
        return -1, group_reward
    for w, act in zip(a.agents, actions, strict=True):
        _drive(w, int(act))
    _move_blocks(a)
    _move_agents(a)
    for b in a.blocks:
        if b.active and b.z - b.half <= GOAL_FACE:
            b.active = False
            group_reward = np.float32(group_reward + np.float32(b.size))
            a.remaining -= 1
            if a.remaining == 0:
                return 1, group_reward
    return 0, np.float32(group_reward + PENALTY)


def _move_blocks(a: Area) -> None:
    for b in a.blocks:
        if b.active:
            _push(a, b)
    for b in a.blocks:
        if b.active:
            b.x += b.vx * FIXED_DT
            b.z += b.vz * FIXED_DT
            keep_within(b, HALF_FLOOR - b.half, HALF_FLOOR - b.half)
    for i in range(BLOCKS):
        for j in range(i + 1, BLOCKS):
            _separate_blocks(a.blocks[i], a.blocks[j])


def _move_agents(a: Area) -> None:
    for w in a.agents:
        w.x += w.vx * FIXED_DT
        w.z += w.vz * FIXED_DT
        for b in a.blocks:
            if b.active:
                push_disc_out_of_box(w, AGENT_RADIUS, b.x, b.z, b.half, b.half)
    for i in range(AGENTS):
        for j in range(i + 1, AGENTS):
            separate_discs(a.agents[i], a.agents[j], AGENT_RADIUS)
    for w in a.agents:
        keep_within(w, HALF_FLOOR - AGENT_RADIUS, HALF_FLOOR - AGENT_RADIUS)


def _drive(w: Walker, act: int) -> None:
    if act == 3:
        w.heading += TURN_DEGREES
    if act == 4:
        w.heading -= TURN_DEGREES
    h = w.heading * DEG_TO_RADIANS
    fx, fz = math.sin(h), math.cos(h)
    mx = mz = 0.0
    if act == 1:
        mx, mz = fx, fz
    if act == 2:
        mx, mz = -fx, -fz
    if act == 5:
        mx, mz = -0.75 * fz, 0.75 * fx
    if act == 6:
        mx, mz = 0.75 * fz, -0.75 * fx
    w.vx += mx * RUN_SPEED
    w.vz += mz * RUN_SPEED
    w.vx, w.vz = damp_and_brake(w.vx, w.vz, AGENT_DRAG, FIXED_DT, AGENT_BRAKE)


def _push(a: Area, b: Block) -> None:
    pushes: list[tuple[Walker, float, float]] = []
    px, pz, mass = b.mass * b.vx, b.mass * b.vz, b.mass
    for w in a.agents:
        cx = min(max(w.x, b.x - b.half), b.x + b.half)
        cz = min(max(w.z, b.z - b.half), b.z + b.half)
        dx, dz = cx - w.x, cz - w.z
        dist = math.sqrt(dx * dx + dz * dz)
        if dist > AGENT_RADIUS + 1e-6 or dist < 1e-12:
            continue
        dx /= dist
        dz /= dist
        into = w.vx * dx + w.vz * dz
        if into <= b.vx * dx + b.vz * dz:
            continue
        pushes.append((w, dx, dz))
        px += AGENT_MASS * into * dx
        pz += AGENT_MASS * into * dz
        mass += AGENT_MASS
    momentum = math.sqrt(px * px + pz * pz)
    resting = b.vx == 0.0 and b.vz == 0.0
    vx = vz = 0.0
    if not (resting and momentum <= STATIC_FRICTION * b.mass):
        friction = DYNAMIC_FRICTION * b.mass
        keep = (momentum - friction) / momentum if momentum > friction else 0.0
        damp = 1.0 / (1.0 + BLOCK_DRAG * FIXED_DT)
        vx = px * keep / mass * damp
        vz = pz * keep / mass * damp
    b.vx, b.vz = vx, vz
    for w, nx, nz in pushes:
        change = (vx * nx + vz * nz) - (w.vx * nx + w.vz * nz)
        w.vx += change * nx
        w.vz += change * nz


def _separate_blocks(a: Block, b: Block) -> None:
    if not a.active or not b.active:
        return
    ox = a.half + b.half - abs(b.x - a.x)
    oz = a.half + b.half - abs(b.z - a.z)
    if ox <= 0.0 or oz <= 0.0:
        return
    share_a, share_b = b.mass / (a.mass + b.mass), a.mass / (a.mass + b.mass)
    along_x = ox < oz
    axis = ("x", "vx") if along_x else ("z", "vz")
    sign = 1.0 if getattr(b, axis[0]) >= getattr(a, axis[0]) else -1.0
    depth = ox if along_x else oz
    setattr(a, axis[0], getattr(a, axis[0]) - sign * depth * share_a)
    setattr(b, axis[0], getattr(b, axis[0]) + sign * depth * share_b)
    va, vb = getattr(a, axis[1]), getattr(b, axis[1])
    if (vb - va) * sign < 0.0:
        common = (a.mass * va + b.mass * vb) / (a.mass + b.mass)
        setattr(a, axis[1], common)
        setattr(b, axis[1], common)


def _what_is_at(a: Area, i: int, x: float, z: float) -> int:
    for b in a.blocks:
        if b.active and abs(x - b.x) <= b.half and abs(z - b.z) <= b.half:
            return BLOCK_SMALL + b.size - 1
    for j, w in enumerate(a.agents):
        dx, dz = x - w.x, z - w.z
        if j != i and dx * dx + dz * dz <= AGENT_RADIUS * AGENT_RADIUS:
            return AGENT
    if abs(x) > HALF_FLOOR or abs(z) > HALF_FLOOR:
        return WALL
    return GOAL if z < GOAL_FACE else -1


def observe(a: Area, i: int) -> NDArray[np.float32]:
    """Agent i's grid, channel-first [6, 20, 20]."""
    out = np.zeros((CHANNELS, GRID, GRID), np.float32)
    w = a.agents[i]
    h = w.heading * DEG_TO_RADIANS
    fx, fz = math.sin(h), math.cos(h)
    for row in range(GRID):
        ahead = (GRID - 1) * 0.5 - row
        for col in range(GRID):
            right = col - (GRID - 1) * 0.5
            channel = _what_is_at(a, i, w.x + right * fz + ahead * fx, w.z - right * fx + ahead * fz)
            if channel >= 0:
                out[channel, row, col] = 1.0
    return out


def heuristic(a: Area, i: int) -> int:
    """A scripted team: all three take the biggest block still in play (the nearest the goal among
    equals); each heads for its own spot behind the block's back face (around the block when below
    it) and pushes toward the goal once beside it. For the tests and the recorder, not a champion."""
    w = a.agents[i]
    active = [b for b in a.blocks if b.active]
    if not active:
        return 0
    target = min(active, key=lambda b: (-b.size, abs(b.x) + abs(b.z - GOAL_FACE)))
    top = target.z + target.half
    spot = (target.x + (i - 1) * 0.8 * target.half, top + AGENT_RADIUS + 0.3)
    beside = abs(w.x - target.x) <= target.half + 0.2 and w.z > top
    goal = (w.x, GOAL_FACE - 5.0) if beside else spot
    if not beside and w.z < top:  # below the block: around it first
        goal = (target.x + (target.half + 1.5) * (1.0 if w.x >= target.x else -1.0), top + 1.0)
    bearing = math.degrees(math.atan2(goal[0] - w.x, goal[1] - w.z))
    turn = (bearing - w.heading + 180.0) % 360.0 - 180.0
    if abs(turn) > 10.0:
        return 3 if turn > 0 else 4
    return 1


class PushBlockCollabReference:
    """num_envs copies of `areas` areas, with the native driver's arrays and semantics."""

    def __init__(self, num_envs: int, areas: int = 4, seed: int = 0) -> None:
        self.num_envs, self.areas = num_envs, areas
        slots = AGENTS * areas * num_envs
        self.obs = [np.zeros((slots, CHANNELS, GRID, GRID), np.float32)]
        self.terminal_obs = [np.zeros_like(self.obs[0])]
        self.reward = np.zeros(slots, np.float32)
        self.group_reward = np.zeros(slots, np.float32)
        self.group_id = (1 + np.arange(slots) // AGENTS).astype(np.int32)
        self.terminated = np.zeros(slots, np.bool_)
        self.truncated = np.zeros(slots, np.bool_)
        self.episode_return = np.zeros(slots, np.float32)
        self.episode_length = np.zeros(slots, np.int32)
        self.discrete_actions = np.zeros((slots, 1), np.int32)
        self.action_mask = np.zeros((slots, 7), np.bool_)  # every action allowed
        self.reset(seed)

    def reset(self, seed: int) -> None:
        """Every area starts a new episode, drawn from `seed` (the arrays stay the same objects)."""
        self._rngs = [Rng(mix(seed, e)) for e in range(self.num_envs)]
        self.states = [begin_episode(self._rngs[k // self.areas]) for k in range(self.areas * self.num_envs)]
        self._lengths = [0] * len(self.reward)
        for array in (self.reward, self.group_reward, self.episode_return):
            array[:] = 0.0
        self.terminated[:] = self.truncated[:] = False
        self.episode_length[:] = 0
        for k in range(len(self.states)):
            self._observe(k, self.obs)

    def step(self) -> None:
        for k, a in enumerate(self.states):
            rows = slice(AGENTS * k, AGENTS * k + AGENTS)
            group_reward, outcome = np.float32(0.0), 0
            for _ in range(DECISION_PERIOD):
                outcome, group_reward = tick(a, self.discrete_actions[rows, 0], group_reward)
                if outcome != 0:
                    break
            self.reward[rows], self.group_reward[rows] = 0.0, group_reward
            self.terminated[rows], self.truncated[rows] = outcome == 1, outcome == -1
            for slot in range(AGENTS * k, AGENTS * k + AGENTS):
                self._lengths[slot] += 1
            if outcome != 0:
                self._observe(k, self.terminal_obs)
                for slot in range(AGENTS * k, AGENTS * k + AGENTS):
                    self.episode_return[slot], self.episode_length[slot] = 0.0, self._lengths[slot]
                    self._lengths[slot] = 0
                self.states[k] = begin_episode(self._rngs[k // self.areas])
            self._observe(k, self.obs)

    def _observe(self, k: int, target: list[NDArray[np.float32]]) -> None:
        for agent in range(AGENTS):
            target[0][AGENTS * k + agent] = observe(self.states[k], agent)
