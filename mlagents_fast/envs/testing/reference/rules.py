"""The rules of each native environment for one agent, as in native/include/mlaf/envs/*.h.

Each class has `begin_episode(rng) -> state`, `tick(state, continuous, discrete, reward) ->
(reward, ended)`, `observe(state) -> list of float32 arrays` and `mask(state)`. Rewards
are float32 arithmetic, as in the native code, so sums agree to the bit.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.native.rng import Rng

f32 = np.float32
Obs = list[NDArray[np.float32]]


def damp_and_brake(vx: float, vz: float, drag: float, dt: float, brake: float) -> tuple[float, float]:
    """env.h's damp_and_brake: PhysX's damping, then friction taking `brake` off the speed."""
    keep = 1.0 / (1.0 + drag * dt)
    vx *= keep
    vz *= keep
    speed = math.sqrt(vx * vx + vz * vz)
    scale = (speed - brake) / speed if speed > brake else 0.0
    return vx * scale, vz * scale


DEG_TO_RADIANS = 3.14159265358979323846 / 180.0
FIXED_DT = 0.02


def drive(s: Any, act: int, run_speed: float, turn_degrees: float, drag: float, brake: float) -> None:
    """env.h's drive on a state with x, z, heading, vx, vz: the action (1 forward, 2 back, 3 turn
    clockwise, 4 back), damp_and_brake, then the move over one fixed time step."""
    h = s.heading * DEG_TO_RADIANS
    fx, fz = math.sin(h), math.cos(h)
    if act == 1:
        s.vx += fx * run_speed
        s.vz += fz * run_speed
    if act == 2:
        s.vx -= fx * run_speed
        s.vz -= fz * run_speed
    if act == 3:
        s.heading += turn_degrees
    if act == 4:
        s.heading -= turn_degrees
    s.vx, s.vz = damp_and_brake(s.vx, s.vz, drag, FIXED_DT, brake)
    s.x += s.vx * FIXED_DT
    s.z += s.vz * FIXED_DT


def keep_within(s: Any, bound_x: float, bound_z: float) -> None:
    """env.h's keep_within: x and z held inside the bounds, the velocity out of them stopped."""
    if s.x < -bound_x:
        s.x, s.vx = -bound_x, max(s.vx, 0.0)
    if s.x > bound_x:
        s.x, s.vx = bound_x, min(s.vx, 0.0)
    if s.z < -bound_z:
        s.z, s.vz = -bound_z, max(s.vz, 0.0)
    if s.z > bound_z:
        s.z, s.vz = bound_z, min(s.vz, 0.0)


def steer(s: Any, target: tuple[float, float], tolerance: float = 10.0) -> int:
    """A scripted player's action towards `target` (x, z): turn (3 clockwise, 4 back) until the
    heading is within `tolerance` degrees of it, then forward (1)."""
    bearing = math.degrees(math.atan2(target[0] - s.x, target[1] - s.z))
    turn = (bearing - s.heading + 180.0) % 360.0 - 180.0
    if abs(turn) > tolerance:
        return 3 if turn > 0 else 4
    return 1


def separate_discs(a: Any, b: Any, radius: float) -> None:
    """env.h's separate_discs: two discs of equal mass (states with x, z, vx, vz) apart, half each,
    their approach along the line of centres stopped."""
    nx, nz = b.x - a.x, b.z - a.z
    dist = math.sqrt(nx * nx + nz * nz)
    if dist >= 2.0 * radius or dist <= 1e-12:
        return
    nx /= dist
    nz /= dist
    half_depth = 0.5 * (2.0 * radius - dist)
    a.x -= nx * half_depth
    a.z -= nz * half_depth
    b.x += nx * half_depth
    b.z += nz * half_depth
    approach = (b.vx - a.vx) * nx + (b.vz - a.vz) * nz
    if approach < 0.0:
        a.vx += 0.5 * approach * nx
        a.vz += 0.5 * approach * nz
        b.vx -= 0.5 * approach * nx
        b.vz -= 0.5 * approach * nz


def push_disc_out_of_box(
    s: Any, radius: float, cx: float, cz: float, hx: float, hz: float
) -> tuple[float, float, float] | None:
    """env.h's push_disc_out_of_box on a state with x, z, vx, vz: None when the disc and the box do
    not touch, else (the speed into the box before it was stopped, the contact normal)."""
    px = cx - hx if s.x < cx - hx else (cx + hx if s.x > cx + hx else s.x)
    pz = cz - hz if s.z < cz - hz else (cz + hz if s.z > cz + hz else s.z)
    nx, nz = s.x - px, s.z - pz
    dist = math.sqrt(nx * nx + nz * nz)
    if dist > 1e-12:
        if dist > radius + 1e-9:
            return None
        nx /= dist
        nz /= dist
        depth = radius - dist
    else:  # the centre inside the box: out through the nearest side
        gaps = [cx + hx - s.x, s.x - (cx - hx), cz + hz - s.z, s.z - (cz - hz)]
        side = gaps.index(min(gaps))
        nx = 1.0 if side == 0 else (-1.0 if side == 1 else 0.0)
        nz = 1.0 if side == 2 else (-1.0 if side == 3 else 0.0)
        depth = radius + gaps[side]
    if depth > 0.0:
        s.x += nx * depth
        s.z += nz * depth
    into = -(s.vx * nx + s.vz * nz)
    if into > 0.0:
        s.vx += into * nx
        s.vz += into * nz
    return into, nx, nz


def ray_enters_box(ox: float, oz: float, dx: float, dz: float, gx: float, gz: float) -> float | None:
    """env.h's ray_enters_box: where (as a fraction of the ray) a ray from (ox, oz), relative to a
    box's centre, enters the box of half sides (gx, gz); None when its line misses or enters
    behind the origin."""
    first, last = -1e300, 1e300
    for origin, direction, grown in ((ox, dx, gx), (oz, dz, gz)):
        if abs(direction) < 1e-12:
            if abs(origin) > grown:
                return None
            continue
        t1, t2 = (-grown - origin) / direction, (grown - origin) / direction
        first = max(first, min(t1, t2))
        last = min(last, max(t1, t2))
    return first if last >= first and first >= 0.0 else None


@dataclass
class Rules(ABC):
    behavior: str
    agents_per_env: int
    obs_shapes: list[tuple[int, ...]]
    continuous_size: int = 0
    branches: tuple[int, ...] = ()
    max_step: int = 0
    decision_period: int = 1
    parameters: dict[str, float] = field(default_factory=dict)

    @abstractmethod
    def begin_episode(self, rng: Rng) -> Any:
        """A new episode's state, drawing from `rng` exactly as the native environment does."""

    @abstractmethod
    def tick(
        self, s: Any, cont: NDArray[np.float32], disc: NDArray[np.int32], reward: np.float32
    ) -> tuple[np.float32, bool]:
        """One physics step: the reward after SetReward/AddReward, and whether the episode ended."""

    @abstractmethod
    def observe(self, s: Any) -> Obs:
        """The observations of state `s`, one float32 array per observation."""

    def mask(self, s: Any) -> list[bool]:
        return [False] * sum(self.branches)


class Basic(Rules):
    def __init__(self) -> None:
        super().__init__("Basic", 1, [(20,)], branches=(3,))

    def begin_episode(self, rng: Rng) -> list[int]:
        return [10]

    def tick(self, s: list[int], cont: Any, disc: Any, reward: np.float32) -> tuple[np.float32, bool]:
        direction = {1: -1, 2: 1}.get(int(disc[0]), 0)
        s[0] = min(max(s[0] + direction, 0), 20)
        reward = f32(reward + f32(-0.01))
        if s[0] == 7:
            return f32(reward + f32(0.1)), True
        if s[0] == 17:
            return f32(reward + f32(1.0)), True
        return reward, False

    def observe(self, s: list[int]) -> Obs:
        obs = np.zeros(20, np.float32)
        if s[0] < 20:
            obs[s[0]] = 1.0
        return [obs]


class CartPole(Rules):
    def __init__(self) -> None:
        super().__init__("CartPole", 1, [(4,)], branches=(2,), max_step=500)
        self.parameters = {"gravity": 9.8, "masscart": 1.0, "masspole": 0.1, "length": 0.5, "force_mag": 10.0}

    def begin_episode(self, rng: Rng) -> list[float]:
        return [rng.uniform(-0.05, 0.05) for _ in range(4)]

    def tick(self, s: list[float], cont: Any, disc: Any, reward: np.float32) -> tuple[np.float32, bool]:
        p = self.parameters
        x, x_dot, theta, theta_dot = s
        force = p["force_mag"] if int(disc[0]) == 1 else -p["force_mag"]
        costheta, sintheta = math.cos(theta), math.sin(theta)
        total_mass = p["masspole"] + p["masscart"]
        polemass_length = p["masspole"] * p["length"]
        temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass
        thetaacc = (p["gravity"] * sintheta - costheta * temp) / (
            p["length"] * (4.0 / 3.0 - p["masspole"] * (costheta * costheta) / total_mass)
        )
        xacc = temp - polemass_length * thetaacc * costheta / total_mass
        s[:] = [x + 0.02 * x_dot, x_dot + 0.02 * xacc, theta + 0.02 * theta_dot, theta_dot + 0.02 * thetaacc]
        limit = 12.0 * 2.0 * math.pi / 360.0
        return f32(1.0), s[0] < -2.4 or s[0] > 2.4 or s[2] < -limit or s[2] > limit

    def observe(self, s: list[float]) -> Obs:
        return [np.array(s, np.float32)]


def _rotate(q: list[float], ax: float, ay: float, az: float, degrees: float) -> list[float]:
    half = degrees * (math.pi / 360.0)
    sn, c = math.sin(half), math.cos(half)
    rx, ry, rz = ax * sn, ay * sn, az * sn
    w, x, y, z = q
    return [
        w * c - x * rx - y * ry - z * rz,
        w * rx + x * c + y * rz - z * ry,
        w * ry - x * rz + y * c + z * rx,
        w * rz + x * ry - y * rx + z * c,
    ]


class Ball3D(Rules):
    HALF = 2.5

    def __init__(self, hard: bool = False) -> None:
        super().__init__("3DBallHard" if hard else "3DBall", 12, [(45 if hard else 8,)], continuous_size=2,
                         max_step=5000, decision_period=5)  # fmt: skip
        self.hard = hard
        self.parameters = {"mass": 1.0, "gravity": 9.81, "scale": 1.0}

    def begin_episode(self, rng: Rng) -> dict[str, Any]:
        q = _rotate([1.0, 0.0, 0.0, 0.0], 1, 0, 0, rng.uniform(-10.0, 10.0))
        q = _rotate(q, 0, 0, 1, rng.uniform(-10.0, 10.0))
        p = [rng.uniform(-1.5, 1.5), 4.0, rng.uniform(-1.5, 1.5)]
        return {"q": q, "p": p, "v": [0.0, 0.0, 0.0], "g": self.parameters["gravity"],
                "r": 0.5 * self.parameters["scale"], "offsets": np.zeros((9, 3), np.float32),
                "rotations": np.zeros((9, 2), np.float32)}  # fmt: skip

    def tick(self, s: dict[str, Any], cont: Any, disc: Any, reward: np.float32) -> tuple[np.float32, bool]:
        az = 2.0 * float(min(max(cont[0], f32(-1.0)), f32(1.0)))
        ax = 2.0 * float(min(max(cont[1], f32(-1.0)), f32(1.0)))
        q = s["q"]
        if (q[3] < 0.25 and az > 0.0) or (q[3] > -0.25 and az < 0.0):
            q = s["q"] = _rotate(q, 0, 0, 1, az)
        if (q[1] < 0.25 and ax > 0.0) or (q[1] > -0.25 and ax < 0.0):
            s["q"] = _rotate(q, 1, 0, 0, ax)
        px, py, pz = s["p"]
        if py < -2.0 or abs(px) > 3.0 or abs(pz) > 3.0:
            return f32(-1.0), True
        self._integrate(s)
        return f32(0.1), False

    def _integrate(self, s: dict[str, Any]) -> None:
        w, x, y, z = s["q"]
        n = (2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x))
        u = (1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y))
        k = (2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y))
        p, v, g = s["p"], s["v"], s["g"]
        contact = self.HALF + s["r"]

        def over_face() -> tuple[bool, float]:
            lx = p[0] * u[0] + p[1] * u[1] + p[2] * u[2]
            lz = p[0] * k[0] + p[1] * k[1] + p[2] * k[2]
            height = p[0] * n[0] + p[1] * n[1] + p[2] * n[2]
            return abs(lx) <= self.HALF and abs(lz) <= self.HALF and height > 0.0, height

        def remove_inward() -> None:
            vn = v[0] * n[0] + v[1] * n[1] + v[2] * n[2]
            if vn < 0.0:
                for i in range(3):
                    v[i] -= vn * n[i]

        inside, height = over_face()
        if inside and height <= contact + 1e-3:
            remove_inward()
            gn = -g * n[1]
            dt = 0.02 * (5.0 / 7.0)
            v[0] += (0.0 - gn * n[0]) * dt
            v[1] += (-g - gn * n[1]) * dt
            v[2] += (0.0 - gn * n[2]) * dt
        else:
            v[1] -= g * 0.02
        for i in range(3):
            p[i] += v[i] * 0.02
        inside, height = over_face()
        if inside and height < contact:
            push = contact - height
            for i in range(3):
                p[i] += push * n[i]
            remove_inward()

    def observe(self, s: dict[str, Any]) -> Obs:
        if self.hard:  # the last 9 decisions, oldest first: offsets, then rotations
            s["offsets"] = np.roll(s["offsets"], -1, axis=0)
            s["rotations"] = np.roll(s["rotations"], -1, axis=0)
            s["offsets"][-1] = s["p"]
            s["rotations"][-1] = (s["q"][3], s["q"][1])
            return [np.concatenate([s["offsets"].ravel(), s["rotations"].ravel()])]
        return [np.array([s["q"][3], s["q"][1], *s["p"], *s["v"]], np.float32)]


# floor, wall, plus, ex, agent
GRID_COLORS = ((0.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0))


class GridWorld(Rules):
    PLUS, EX = 2, 3

    def __init__(self, resolution: int = 32) -> None:
        super().__init__("GridWorld", 9, [(3, resolution, resolution), (2,)], branches=(5,), max_step=100)
        self.resolution = resolution
        self.parameters = {"gridSize": 5.0, "numPlusGoals": 1.0, "numExGoals": 1.0}

    def begin_episode(self, rng: Rng) -> dict[str, Any]:
        # Parameters are used at their defaults here (no samplers in the parity check).
        size = min(max(round(self.parameters["gridSize"]), 2), 32)
        cells = size * size
        plus = min(max(round(self.parameters["numPlusGoals"]), 0), min(16, cells - 1))
        ex = min(max(round(self.parameters["numExGoals"]), 0), min(16 - plus, cells - 1 - plus))
        taken: list[int] = []
        for _ in range(plus + ex + 1):
            cell = rng.below(cells)
            while cell in taken:
                cell = rng.below(cells)
            taken.append(cell)
        goals = [(c % size, c // size, self.PLUS if i < plus else self.EX) for i, c in enumerate(taken[1:])]
        kind = self.PLUS if rng.below(2) == 0 else self.EX
        return {"size": size, "x": taken[0] % size, "z": taken[0] // size, "goals": goals, "kind": kind}

    def tick(self, s: dict[str, Any], cont: Any, disc: Any, reward: np.float32) -> tuple[np.float32, bool]:
        dx, dz = [(0, 0), (0, 1), (0, -1), (-1, 0), (1, 0)][int(disc[0])]
        nx, nz = s["x"] + dx, s["z"] + dz
        if 0 <= nx < s["size"] and 0 <= nz < s["size"]:
            s["x"], s["z"] = nx, nz
        reward = f32(reward + f32(-0.01))
        for gx, gz, kind in s["goals"]:
            if (gx, gz) == (s["x"], s["z"]):
                return f32(1.0 if kind == s["kind"] else -1.0), True
        return reward, False

    def observe(self, s: dict[str, Any]) -> Obs:
        side = s["size"] + 2
        cells = np.ones((side, side), np.int64)
        cells[1:-1, 1:-1] = 0

        def put(x: int, z: int, value: int) -> None:
            cells[side - 2 - z, x + 1] = value

        for gx, gz, kind in s["goals"]:
            put(gx, gz, kind)
        put(s["x"], s["z"], 4)
        r = self.resolution
        image = np.zeros((3, r, r), np.float32)
        for py in range(r):
            for px in range(r):
                image[:, py, px] = GRID_COLORS[int(cells[py * side // r, px * side // r])]
        goal = np.array([s["kind"] == self.PLUS, s["kind"] == self.EX], np.float32)
        return [image, goal]

    def mask(self, s: dict[str, Any]) -> list[bool]:
        return [False, s["z"] == s["size"] - 1, s["z"] == 0, s["x"] == 0, s["x"] == s["size"] - 1]
