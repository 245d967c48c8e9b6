"""SoccerTwos's rules and its coupled driver in plain Python, as native/include/mlaf/envs/soccer.h
has them (see there for the game): the same double arithmetic in the same order, so the two agree
to the bit. `heuristic` (on a field's state) and `play` (on a player's own rays) are scripted
players for the tests and the recorder."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.native.rng import Rng, mix
from mlagents_fast.envs.testing.reference.rules import (
    DEG_TO_RADIANS,
    FIXED_DT,
    damp_and_brake,
    keep_within,
    separate_discs,
)

HALF_LENGTH, HALF_WIDTH, GOAL_HALF_WIDTH = 15.5, 7.5, 4.15
START_X, START_Z = 7.0, 3.0
AGENT_RADIUS, BALL_RADIUS = 0.5, 0.62
RUN_SPEED, FORWARD_SPEED, LATERAL_SPEED = 2.0, 1.0, 0.3
TURN_DEGREES = 100.0 * FIXED_DT
AGENT_DRAG, BALL_DRAG, BOUNCE = 3.0, 1.0, 0.8
BRAKE = 0.6 * 9.81 * FIXED_DT
KICK = 2000.0 * FIXED_DT / 3.0
MAX_ENVIRONMENT_STEPS = 5000
RAY_LENGTH, RAY_RADIUS = 20.0, 0.5
TAGS, STACK = 6, 3
PER_RAY = TAGS + 2
FORWARD_RAYS, BACK_RAYS = 11, 3
FORWARD_FRAME, BACK_FRAME = FORWARD_RAYS * PER_RAY, BACK_RAYS * PER_RAY
PLAYERS, DECISION_PERIOD = 4, 5
BALL, OWN_GOAL, OPPONENT_GOAL, WALL, TEAMMATE, OPPONENT = range(TAGS)
INTERRUPTED = -2
FORWARD_OFFSETS = [0.0] + [k * 12.0 * sign for k in range(1, 6) for sign in (1.0, -1.0)]
BACK_OFFSETS = [0.0, 45.0, -45.0]


def team(player: int) -> int:
    return player // 2


@dataclass
class Player:
    x: float
    z: float
    heading: float
    vx: float = 0.0
    vz: float = 0.0
    touching: bool = False
    forward: NDArray[np.float32] = field(default_factory=lambda: np.zeros((STACK, FORWARD_FRAME), np.float32))
    back: NDArray[np.float32] = field(default_factory=lambda: np.zeros((STACK, BACK_FRAME), np.float32))


@dataclass
class Field:
    players: list[Player]
    ball_x: float
    ball_z: float
    ball_vx: float = 0.0
    ball_vz: float = 0.0
    timer: int = 0
    ball_touch: float = 0.0


def begin_game(rng: Rng, ball_touch: float = 0.0) -> Field:
    players = []
    for i in range(PLAYERS):
        side = -1.0 if team(i) == 0 else 1.0
        x = side * START_X + rng.uniform(-5.0, 5.0)
        heading = -side * rng.uniform(80.0, 100.0)
        players.append(Player(x, START_Z if i % 2 == 0 else -START_Z, heading))
    ball_x = rng.uniform(-2.5, 2.5)
    ball_z = rng.uniform(-2.5, 2.5)
    return Field(players, ball_x, ball_z, ball_touch=ball_touch)


def tick(f: Field, actions: NDArray[np.int32], rewards: NDArray[np.float32]) -> int:
    """One physics step with the players' actions [4, 3]; touches' rewards added to `rewards`.
    Returns the team that scored, INTERRUPTED, or -1."""
    f.timer += 1
    if f.timer >= MAX_ENVIRONMENT_STEPS:
        return INTERRUPTED
    kicks = [_move(p, a) for p, a in zip(f.players, actions, strict=True)]
    f.ball_vx, f.ball_vz = damp_and_brake(f.ball_vx, f.ball_vz, BALL_DRAG, FIXED_DT, 0.0)
    f.ball_x += f.ball_vx * FIXED_DT
    f.ball_z += f.ball_vz * FIXED_DT
    for i in range(PLAYERS):
        for j in range(i + 1, PLAYERS):
            separate_discs(f.players[i], f.players[j], AGENT_RADIUS)
    for i, kick in enumerate(kicks):
        _touch_ball(f, i, kick, rewards)
    return _ball_off_walls(f)


def _move(p: Player, a: NDArray[np.int32]) -> bool:
    """A player's actions for one physics step; whether it kicks (it moved forward)."""
    h = p.heading * DEG_TO_RADIANS
    fx, fz = math.sin(h), math.cos(h)
    mx = mz = 0.0
    if a[0] == 1:
        mx, mz = fx * FORWARD_SPEED, fz * FORWARD_SPEED
    if a[0] == 2:
        mx, mz = -fx * FORWARD_SPEED, -fz * FORWARD_SPEED
    if a[1] == 1:
        mx, mz = fz * LATERAL_SPEED, -fx * LATERAL_SPEED
    if a[1] == 2:
        mx, mz = -fz * LATERAL_SPEED, fx * LATERAL_SPEED
    if a[2] == 1:
        p.heading -= TURN_DEGREES
    if a[2] == 2:
        p.heading += TURN_DEGREES
    p.vx += mx * RUN_SPEED
    p.vz += mz * RUN_SPEED
    p.vx, p.vz = damp_and_brake(p.vx, p.vz, AGENT_DRAG, FIXED_DT, BRAKE)
    p.x += p.vx * FIXED_DT
    p.z += p.vz * FIXED_DT
    keep_within(p, HALF_LENGTH - AGENT_RADIUS, HALF_WIDTH - AGENT_RADIUS)
    return bool(a[0] == 1)


def _touch_ball(f: Field, i: int, kick: bool, rewards: NDArray[np.float32]) -> None:
    """Player i against the ball: pushed out and reflected; a touch that begins kicks and pays."""
    p = f.players[i]
    nx, nz = f.ball_x - p.x, f.ball_z - p.z
    dist = math.sqrt(nx * nx + nz * nz)
    touching = dist < AGENT_RADIUS + BALL_RADIUS
    if touching:
        if dist > 1e-12:
            nx /= dist
            nz /= dist
        else:
            h = p.heading * DEG_TO_RADIANS
            nx, nz = math.sin(h), math.cos(h)
        f.ball_x = p.x + nx * (AGENT_RADIUS + BALL_RADIUS)
        f.ball_z = p.z + nz * (AGENT_RADIUS + BALL_RADIUS)
        closing = (f.ball_vx - p.vx) * nx + (f.ball_vz - p.vz) * nz
        if closing < 0.0:
            f.ball_vx -= (1.0 + BOUNCE) * closing * nx
            f.ball_vz -= (1.0 + BOUNCE) * closing * nz
        if not p.touching:
            if kick:
                f.ball_vx += KICK * nx
                f.ball_vz += KICK * nz
            rewards[i] += np.float32(0.2 * f.ball_touch)
    p.touching = touching


def _ball_off_walls(f: Field) -> int:
    """The ball off the walls; the team that scored, or -1."""
    side_limit, end_limit = HALF_WIDTH - BALL_RADIUS, HALF_LENGTH - BALL_RADIUS
    if abs(f.ball_z) > side_limit:
        f.ball_z = math.copysign(side_limit, f.ball_z)
        f.ball_vz = -BOUNCE * f.ball_vz
    if abs(f.ball_x) > end_limit:
        if abs(f.ball_z) >= GOAL_HALF_WIDTH:
            f.ball_x = math.copysign(end_limit, f.ball_x)
            f.ball_vx = -BOUNCE * f.ball_vx
        elif abs(f.ball_x) > HALF_LENGTH + BALL_RADIUS:
            return 0 if f.ball_x > 0.0 else 1
    return -1


def _enter_disc(ox: float, oz: float, dx: float, dz: float, cx: float, cz: float, r: float) -> float:
    px, pz = ox - cx, oz - cz
    c = px * px + pz * pz - r * r
    if c <= 0.0:
        return -1.0
    b = px * dx + pz * dz
    disc = b * b - c
    if b >= 0.0 or disc < 0.0:
        return -1.0
    return -b - math.sqrt(disc)


def cast(f: Field, i: int, degrees: float) -> tuple[int, float]:
    """The tag (-1: nothing) and distance of the first thing player i's sphere cast meets."""
    p = f.players[i]
    angle = degrees * DEG_TO_RADIANS
    dx, dz = math.sin(angle), math.cos(angle)
    tag, best = -1, RAY_LENGTH

    def consider(t: float, what: int) -> None:
        nonlocal tag, best
        if 0.0 <= t <= best:
            tag, best = what, t

    end, side = HALF_LENGTH - RAY_RADIUS, HALF_WIDTH - RAY_RADIUS
    if abs(dx) > 1e-12:
        t = ((end if dx > 0.0 else -end) - p.x) / dx
        z = p.z + t * dz
        own = (dx > 0.0) == (team(i) == 1)
        consider(t, (OWN_GOAL if own else OPPONENT_GOAL) if abs(z) < GOAL_HALF_WIDTH else WALL)
    if abs(dz) > 1e-12:
        consider(((side if dz > 0.0 else -side) - p.z) / dz, WALL)
    consider(_enter_disc(p.x, p.z, dx, dz, f.ball_x, f.ball_z, BALL_RADIUS + RAY_RADIUS), BALL)
    for j, q in enumerate(f.players):
        if j != i:
            tagged = TEAMMATE if team(j) == team(i) else OPPONENT
            consider(_enter_disc(p.x, p.z, dx, dz, q.x, q.z, AGENT_RADIUS + RAY_RADIUS), tagged)
    return tag, best


def _rays(f: Field, i: int, base: float, offsets: list[float]) -> NDArray[np.float32]:
    frame = np.zeros((len(offsets), PER_RAY), np.float32)
    for r, offset in enumerate(offsets):
        tag, distance = cast(f, i, base + offset)
        if tag < 0:
            frame[r, TAGS] = frame[r, TAGS + 1] = 1.0
        else:
            frame[r, tag] = 1.0
            frame[r, TAGS + 1] = np.float32(distance / RAY_LENGTH)
    return frame.reshape(-1)


def observe(f: Field, i: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Player i's stacked forward and backward rays after a decision (the newest frame pushed)."""
    p = f.players[i]
    p.forward[:-1] = p.forward[1:].copy()
    p.back[:-1] = p.back[1:].copy()
    p.forward[-1] = _rays(f, i, p.heading, FORWARD_OFFSETS)
    p.back[-1] = _rays(f, i, p.heading + 180.0, BACK_OFFSETS)
    return p.forward.reshape(-1).copy(), p.back.reshape(-1).copy()


def heuristic(f: Field, i: int) -> list[int]:
    """A scripted player on the field's state: get behind the ball on the line from the
    opponents' goal (around it, when on the wrong side), face it, and run through it. For the tests
    and the recorder, not a champion."""
    p = f.players[i]
    attack = 1.0 if team(i) == 0 else -1.0
    to_goal_x, to_goal_z = attack * (HALF_LENGTH + 1.0) - f.ball_x, -f.ball_z
    norm = math.hypot(to_goal_x, to_goal_z)
    behind_x, behind_z = f.ball_x - 1.2 * to_goal_x / norm, f.ball_z - 1.2 * to_goal_z / norm
    if (p.x - f.ball_x) * attack > -0.3:  # level with the ball or past it: around it, on its goal side
        target_x, target_z = f.ball_x - 2.0 * attack, f.ball_z + (2.0 if p.z >= f.ball_z else -2.0)
    elif math.hypot(p.x - behind_x, p.z - behind_z) < 1.5:
        target_x, target_z = f.ball_x, f.ball_z
    else:
        target_x, target_z = behind_x, behind_z
    bearing = math.degrees(math.atan2(target_x - p.x, target_z - p.z))
    turn = (bearing - p.heading + 180.0) % 360.0 - 180.0
    rotate = 0 if abs(turn) < 6.0 else (2 if turn > 0 else 1)
    return [1 if abs(turn) < 20.0 else 0, 0, rotate]


def play(forward: NDArray[np.floating]) -> list[int]:
    """A scripted player on its own newest forward rays (264 floats, or one frame of 88): turn
    toward the ray that sees the ball and run at it; turn on the spot while none does."""
    frame = np.asarray(forward, np.float32).reshape(-1, FORWARD_RAYS, PER_RAY)[-1]
    seen = np.flatnonzero(frame[:, BALL] > 0)
    if not len(seen):
        return [0, 0, 2]
    ray = int(seen[np.argmin(frame[seen, TAGS + 1])])
    offset = FORWARD_OFFSETS[ray]
    rotate = 0 if abs(offset) < 1.0 else (2 if offset > 0 else 1)
    return [1, 0, rotate]


class SoccerReference:
    """num_envs copies of `areas` fields, with the native driver's arrays and semantics."""

    def __init__(self, num_envs: int, areas: int = 8, seed: int = 0, ball_touch: float = 0.0) -> None:
        self.num_envs, self.areas, self.ball_touch = num_envs, areas, ball_touch
        slots = PLAYERS * areas * num_envs
        self.obs = [
            np.zeros((slots, STACK * FORWARD_FRAME), np.float32),
            np.zeros((slots, STACK * BACK_FRAME), np.float32),
        ]
        self.terminal_obs = [np.zeros_like(o) for o in self.obs]
        self.reward = np.zeros(slots, np.float32)
        self.group_reward = np.zeros(slots, np.float32)
        self.group_id = (1 + 2 * (np.arange(slots) // PLAYERS) + (np.arange(slots) % PLAYERS) // 2).astype(np.int32)
        self.terminated = np.zeros(slots, np.bool_)
        self.truncated = np.zeros(slots, np.bool_)
        self.episode_return = np.zeros(slots, np.float32)
        self.episode_length = np.zeros(slots, np.int32)
        self.discrete_actions = np.zeros((slots, 3), np.int32)
        self.action_mask = np.zeros((slots, 9), np.bool_)  # every action allowed
        self._rngs = [Rng(mix(seed, e)) for e in range(num_envs)]
        self.states = [begin_game(self._rngs[k // areas], ball_touch) for k in range(areas * num_envs)]
        self._returns = [0.0] * slots
        self._lengths = [0] * slots
        for k in range(len(self.states)):
            self._observe(k, self.obs)

    def step(self) -> None:
        for k, f in enumerate(self.states):
            rows = slice(PLAYERS * k, PLAYERS * k + PLAYERS)
            rewards = np.zeros(PLAYERS, np.float32)
            outcome = -1
            for _ in range(DECISION_PERIOD):
                outcome = tick(f, self.discrete_actions[rows], rewards)
                if outcome != -1:
                    break
            scored = np.float32(1.0) - np.float32(f.timer) / np.float32(MAX_ENVIRONMENT_STEPS)
            for player in range(PLAYERS):
                slot = PLAYERS * k + player
                group_reward = 0.0
                if outcome >= 0:
                    group_reward = scored if outcome == team(player) else -1.0
                self.reward[slot], self.group_reward[slot] = rewards[player], group_reward
                self.terminated[slot], self.truncated[slot] = outcome >= 0, outcome == INTERRUPTED
                self._returns[slot] += float(rewards[player])
                self._lengths[slot] += 1
            if outcome != -1:
                self._observe(k, self.terminal_obs)
                for slot in range(PLAYERS * k, PLAYERS * k + PLAYERS):
                    self.episode_return[slot], self.episode_length[slot] = self._returns[slot], self._lengths[slot]
                    self._returns[slot], self._lengths[slot] = 0.0, 0
                self.states[k] = begin_game(self._rngs[k // self.areas], self.ball_touch)
            self._observe(k, self.obs)

    def _observe(self, k: int, target: list[NDArray[np.float32]]) -> None:
        for player in range(PLAYERS):
            forward, back = observe(self.states[k], player)
            target[0][PLAYERS * k + player] = forward
            target[1][PLAYERS * k + player] = back
