"""Tennis's rules and its coupled driver in plain Python, as native/include/mlaf/envs/tennis.h has
them (see there for the game): the same double arithmetic in the same order, so the two agree to
the bit. `heuristic` is a scripted player for the tests and the recorder."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.native.rng import Rng, mix
from mlagents_fast.envs.testing.reference.rules import DEG_TO_RADIANS, FIXED_DT, push_disc_out_of_box

FLOOR_TOP, WALL_INNER = -6.9, 11.88
NET_HALF, NET_TOP, NET_BOTTOM = 0.061, -6.433, -7.5
BALL_RADIUS, BALL_MAX_SPEED = 0.25, 9.0
RACKET_HALF_LENGTH, RACKET_HALF_THICKNESS = 0.494, 0.0635
MOVE_SPEED, JUMP_SPEED, JUMP_BELOW, SIDE_LIMIT = 30.0, 7.0, -1.5, 1.0
OBS, STACK, DECISION_PERIOD = 9, 3, 5
SERVICE, UNSET, FLOOR_A, FLOOR_B = 0, 1, 2, 3


@dataclass
class Racket:
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0
    angle: float = 0.0


@dataclass
class Area:
    rackets: list[Racket]
    ball_x: float
    ball_y: float = 6.0
    ball_vx: float = 0.0
    ball_vy: float = 0.0
    last_hit: int = -1
    floor_hit: int = SERVICE
    net: bool = False
    gravity: float = 9.81
    frames: NDArray[np.float32] = field(default_factory=lambda: np.zeros((2, STACK, OBS), np.float32))


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def begin_point(rng: Rng, gravity: float = 9.81) -> Area:
    rackets = []
    for side in (0, 1):
        m = 1.0 if side == 0 else -1.0
        rackets.append(Racket(-m * rng.uniform(6.0, 8.0), -1.5, angle=m * 55.0))
    far_side = rng.below(2) == 1
    x = rng.uniform(6.0, 8.0)
    return Area(rackets, x if far_side else -x, gravity=gravity)


def tick(a: Area, actions: NDArray[np.float32]) -> int:
    """One physics step with both agents' actions [2, 3]: the winner of a point (0: A, 1: B), or -1."""
    dt = FIXED_DT
    a.ball_vx = _clamp(a.ball_vx, -BALL_MAX_SPEED, BALL_MAX_SPEED)
    a.ball_vy = _clamp(a.ball_vy, -BALL_MAX_SPEED, BALL_MAX_SPEED)
    for side, r in enumerate(a.rackets):
        m = 1.0 if side == 0 else -1.0
        move, jump, turn = (float(np.clip(np.float32(v), -1.0, 1.0)) for v in actions[side])
        r.vx = MOVE_SPEED * m * move
        if jump > 0.5 and r.y < JUMP_BELOW:
            r.vy = JUMP_SPEED
        r.angle = m * (90.0 + 55.0 * turn)
        r.vy -= a.gravity * dt
        r.x += r.vx * dt
        r.y += r.vy * dt
        h = r.angle * DEG_TO_RADIANS
        reach = RACKET_HALF_LENGTH * abs(math.sin(h)) + RACKET_HALF_THICKNESS * abs(math.cos(h))
        if r.y < FLOOR_TOP + reach:
            r.y, r.vy = FLOOR_TOP + reach, max(r.vy, 0.0)
        reach_x = RACKET_HALF_LENGTH * abs(math.cos(h)) + RACKET_HALF_THICKNESS * abs(math.sin(h))
        r.x = (
            _clamp(r.x, -WALL_INNER + reach_x, -SIDE_LIMIT)
            if side == 0
            else _clamp(r.x, SIDE_LIMIT, WALL_INNER - reach_x)
        )
    a.ball_vy -= a.gravity * dt
    a.ball_x += a.ball_vx * dt
    a.ball_y += a.ball_vy * dt
    for side, r in enumerate(a.rackets):
        if not _hits_racket(a, r):
            continue
        if a.last_hit == side:
            return 1 - side  # hit twice
        if a.floor_hit != SERVICE and not a.net:
            a.net = True
        a.last_hit, a.floor_hit = side, UNSET
    if _bounce_off_net(a) and not a.net and a.last_hit >= 0:
        return 1 - a.last_hit  # into the net
    if a.ball_y < FLOOR_TOP + BALL_RADIUS:
        a.ball_y = FLOOR_TOP + BALL_RADIUS
        a.ball_vy = abs(a.ball_vy)
        side = 0 if a.ball_x < 0.0 else 1
        own_floor = FLOOR_A if side == 0 else FLOOR_B
        if a.last_hit == side or a.floor_hit in (own_floor, SERVICE):
            return 1 - side
        a.floor_hit, a.net = own_floor, True
    if abs(a.ball_x) > WALL_INNER - BALL_RADIUS:
        side = 0 if a.ball_x < 0.0 else 1
        a.ball_x = math.copysign(WALL_INNER - BALL_RADIUS, a.ball_x)
        a.ball_vx = -a.ball_vx
        own_floor = FLOOR_A if side == 0 else FLOOR_B
        return 1 - side if a.last_hit == side or a.floor_hit == own_floor else side
    return -1


def observe(a: Area, side: int) -> NDArray[np.float32]:
    """Agent `side`'s stacked observations after a decision (the newest frame pushed)."""
    m = 1.0 if side == 0 else -1.0
    r = a.rackets[side]
    frames = a.frames[side]
    frames[:-1] = frames[1:].copy()
    frames[-1] = [m * r.x, r.y, m * r.vx, r.vy, m * a.ball_x, a.ball_y, m * a.ball_vx, a.ball_vy, 0.0]
    stacked: NDArray[np.float32] = frames.reshape(-1).copy()
    return stacked


def _hits_racket(a: Area, r: Racket) -> bool:
    h = r.angle * DEG_TO_RADIANS
    c, s = math.cos(h), math.sin(h)
    dx, dy = a.ball_x - r.x, a.ball_y - r.y
    along, across = dx * c + dy * s, -dx * s + dy * c
    nx = along - _clamp(along, -RACKET_HALF_LENGTH, RACKET_HALF_LENGTH)
    ny = across - _clamp(across, -RACKET_HALF_THICKNESS, RACKET_HALF_THICKNESS)
    dist = math.sqrt(nx * nx + ny * ny)
    if dist > BALL_RADIUS:
        return False
    if dist > 1e-12:
        nx /= dist
        ny /= dist
        depth = BALL_RADIUS - dist
    else:
        nx, ny = 0.0, (1.0 if across >= 0.0 else -1.0)
        depth = BALL_RADIUS + RACKET_HALF_THICKNESS - abs(across)
    wx, wy = nx * c - ny * s, nx * s + ny * c
    a.ball_x += wx * depth
    a.ball_y += wy * depth
    closing = (a.ball_vx - r.vx) * wx + (a.ball_vy - r.vy) * wy
    if closing < 0.0:
        a.ball_vx -= 2.0 * closing * wx
        a.ball_vy -= 2.0 * closing * wy
    return True


class _Ball:
    """The ball as push_disc_out_of_box moves it (x, z standing for x, y)."""

    def __init__(self, a: Area) -> None:
        self.x, self.z, self.vx, self.vz = a.ball_x, a.ball_y, a.ball_vx, a.ball_vy


def _bounce_off_net(a: Area) -> bool:
    ball = _Ball(a)
    contact = push_disc_out_of_box(ball, BALL_RADIUS, 0.0, 0.5 * (NET_TOP + NET_BOTTOM), NET_HALF,
                                   0.5 * (NET_TOP - NET_BOTTOM))  # fmt: skip
    a.ball_x, a.ball_y = ball.x, ball.z
    if contact is None:
        return False
    approach, nx, ny = contact
    vx, vy = ball.vx, ball.vz
    if approach > 0.0:  # stopped, then reversed
        vx += approach * nx
        vy += approach * ny
    a.ball_vx, a.ball_vy = vx, vy
    return True


def heuristic(a: Area, side: int) -> list[float]:
    """The scripted player (`play`) on agent `side`'s view of the area."""
    m = 1.0 if side == 0 else -1.0
    r = a.rackets[side]
    return play(np.array([m * r.x, r.y, m * r.vx, r.vy, m * a.ball_x, a.ball_y, m * a.ball_vx, a.ball_vy, 0.0]))


def play(frame: NDArray[np.floating]) -> list[float]:
    """Actions from one decision's observations (the agent's mirrored view, its side on the left):
    under the ball on its own side (home otherwise), a jump when the ball comes down close, the
    board tilted to send it back over the net. A player for the tests and the recorder, not a
    champion."""
    x, y, ball_x, ball_y, ball_vy = frame[0], frame[1], frame[4], frame[5], frame[7]
    mine = ball_x < 0.0
    target = ball_x - 0.3 if mine else -6.0
    move = float(np.clip((target - x) / 3.0, -1.0, 1.0))
    close = mine and abs(ball_x - x) < 1.5 and ball_y - y < 3.0 and ball_vy < 0.0
    return [move, 1.0 if close else 0.0, -0.4]


class TennisReference:
    """num_envs copies of `areas` areas, with the native driver's arrays and semantics."""

    def __init__(self, num_envs: int, areas: int = 18, seed: int = 0, gravity: float = 9.81) -> None:
        self.num_envs, self.areas, self.gravity = num_envs, areas, gravity
        slots = 2 * areas * num_envs
        self.obs = [np.zeros((slots, STACK * OBS), np.float32)]
        self.terminal_obs = [np.zeros_like(self.obs[0])]
        self.reward = np.zeros(slots, np.float32)
        self.terminated = np.zeros(slots, np.bool_)
        self.truncated = np.zeros(slots, np.bool_)
        self.episode_return = np.zeros(slots, np.float32)
        self.episode_length = np.zeros(slots, np.int32)
        self.continuous_actions = np.zeros((slots, 3), np.float32)
        self.action_mask = None
        self._rngs = [Rng(mix(seed, e)) for e in range(num_envs)]
        self.states = [begin_point(self._rngs[k // areas], gravity) for k in range(areas * num_envs)]
        self._returns = [0.0] * slots
        self._lengths = [0] * slots
        for k in range(len(self.states)):
            self._observe(k, self.obs)

    def step(self) -> None:
        for k, a in enumerate(self.states):
            winner = -1
            for _ in range(DECISION_PERIOD):
                winner = tick(a, self.continuous_actions[2 * k : 2 * k + 2])
                if winner >= 0:
                    break
            for side in (0, 1):
                slot = 2 * k + side
                reward = 0.0 if winner < 0 else (1.0 if winner == side else -1.0)
                self.reward[slot], self.terminated[slot] = reward, winner >= 0
                self._returns[slot] += reward
                self._lengths[slot] += 1
            if winner >= 0:
                self._observe(k, self.terminal_obs)
                for slot in (2 * k, 2 * k + 1):
                    self.episode_return[slot], self.episode_length[slot] = self._returns[slot], self._lengths[slot]
                    self._returns[slot], self._lengths[slot] = 0.0, 0
                self.states[k] = begin_point(self._rngs[k // self.areas], self.gravity)
            self._observe(k, self.obs)

    def _observe(self, k: int, target: list[NDArray[np.float32]]) -> None:
        for side in (0, 1):
            target[0][2 * k + side] = observe(self.states[k], side)
