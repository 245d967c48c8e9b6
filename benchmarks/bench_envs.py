"""Native environments stepped with random actions, in agent-steps per second.

Ours: `NativeVectorEnv` on 1 and 2 threads. References on the same environment and
count, measured in the same run: gymnasium's `SyncVectorEnv` and `AsyncVectorEnv`
(CartPole-v1; for 3DBall the plain-Python port of one 12-agent area wrapped as a
gymnasium env) and EnvPool's CartPole-v1 when EnvPool is installed. AsyncVectorEnv is
left out at 1024 environments: a process per environment does not fit a 2-core machine.
One call steps every environment `STEPS[count]` times; actions come from a precomputed
pool, copied into each stepper's action arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
import pytest
from numpy.typing import NDArray

from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.testing.reference import make_reference

Timed = Callable[..., object]

COUNTS = [8, 1024]
STEPS = {8: 200, 1024: 4}
AGENTS = {
    "CartPole": 1,
    "3DBall": 12,
    "PushBlock": 32,
    "WallJump": 15,
    "Pyramids": 16,
    "Tennis": 36,
    "SoccerTwos": 32,
    "PushBlockCollab": 12,
}  # WallJump: its BigWallJump areas
POOL = 16
NATIVE = ["CartPole", "3DBall", "PushBlock", "WallJump", "Pyramids", "Tennis", "SoccerTwos", "PushBlockCollab"]
# Targets: 10x SyncVectorEnv and EnvPool at 8 environments; at 1024, 20 M agent-steps/s on
# CartPole and 2 M agent-steps/s per core on 3DBall.
RATE_TARGETS = {("CartPole", 1): 20e6, ("CartPole", 2): 20e6, ("3DBall", 1): 2e6, ("3DBall", 2): 4e6}


class Ball3DPort(gymnasium.Env[NDArray[np.float32], NDArray[np.float32]]):
    """One 3DBall area (12 agents) of the plain-Python port, as a gymnasium env."""

    observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (12, 8), np.float32)
    action_space = gymnasium.spaces.Box(-1.0, 1.0, (12, 2), np.float32)

    def __init__(self) -> None:
        self.port = make_reference("3DBall", 1)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[NDArray[np.float32], dict[str, Any]]:
        self.port.reset(seed or 0)
        return self.port.obs[0].copy(), {}

    def step(self, action: NDArray[np.float32]) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        self.port.continuous_actions[:] = action
        self.port.step()  # the port restarts ended agents itself, as the native env does
        return self.port.obs[0].copy(), float(self.port.reward.mean()), False, False, {}


def action_pool(name: str, slots: int) -> list[NDArray[Any]]:
    rng = np.random.default_rng(0)
    if name == "WallJump":
        return [rng.integers(0, (3, 3, 3, 2), (slots, 4)).astype(np.int32) for _ in range(POOL)]
    if name == "SoccerTwos":
        return [rng.integers(0, 3, (slots, 3)).astype(np.int32) for _ in range(POOL)]
    if name in ("CartPole", "PushBlock", "Pyramids", "PushBlockCollab"):
        choices = {"CartPole": 2, "PushBlock": 7, "Pyramids": 5, "PushBlockCollab": 7}[name]
        return [rng.integers(0, choices, (slots, 1)).astype(np.int32) for _ in range(POOL)]
    width = 3 if name == "Tennis" else 2
    return [rng.uniform(-1, 1, (slots, width)).astype(np.float32) for _ in range(POOL)]


def gym_maker(name: str) -> Callable[[], gymnasium.Env[Any, Any]]:
    return (lambda: gymnasium.make("CartPole-v1")) if name == "CartPole" else Ball3DPort


def info(role: str, name: str, count: int, target: float | None = None, threads: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {"role": role, "elements": STEPS[count] * count * AGENTS[name]}
    if target is not None:
        out["target"] = target
    rate = RATE_TARGETS.get((name, threads)) if count == 1024 and role == "native" else None
    if rate is not None:
        out["min_rate"] = rate
    return out


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("name", NATIVE)
def test_native(timed: Timed, name: str, count: int, threads: int) -> None:
    options = {"big": 1, "areas": AGENTS[name]} if name == "WallJump" else {}
    env = NativeVectorEnv(name, count, num_threads=threads, **options)
    actions = env.actions(env.behavior)
    target = actions.continuous if name in ("3DBall", "Tennis") else actions.discrete
    pool = action_pool(name, target.shape[0])

    def run() -> None:
        for i in range(STEPS[count]):
            np.copyto(target, pool[i % POOL])
            env.step()

    group = f"env {name} x{count}" + ("" if threads == 1 else " 2 threads")
    timed(group, info("native", name, count, threads=threads), run)


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("name", ["CartPole", "3DBall"])
def test_gymnasium(timed: Timed, name: str, count: int, kind: str) -> None:
    if kind == "async" and count > 8:
        pytest.skip("a process per environment: 1024 processes do not fit a 2-core machine")
    vector = gymnasium.vector.SyncVectorEnv if kind == "sync" else gymnasium.vector.AsyncVectorEnv
    envs = vector([gym_maker(name)] * count)
    envs.reset(seed=0)
    pool = [a[:, 0] if name == "CartPole" else a.reshape(count, 12, 2) for a in action_pool(name, count * AGENTS[name])]

    def run() -> None:
        for i in range(STEPS[count]):
            envs.step(pool[i % POOL])

    try:
        target = 10.0 if kind == "sync" and count == 8 else None
        timed(f"env {name} x{count}", info(f"reference:gymnasium_{kind}", name, count, target), run)
    finally:
        envs.close()


@pytest.mark.parametrize("count", COUNTS)
def test_envpool(timed: Timed, count: int) -> None:
    envpool = pytest.importorskip("envpool", reason="EnvPool is an optional benchmark dependency")
    envs = envpool.make("CartPole-v1", env_type="gymnasium", num_envs=count, batch_size=count, num_threads=1)
    envs.reset()
    pool = [a[:, 0] for a in action_pool("CartPole", count)]

    def run() -> None:
        for i in range(STEPS[count]):
            envs.step(pool[i % POOL])

    target = 10.0 if count == 8 else None
    timed(f"env CartPole x{count}", info("reference:envpool_1_thread", "CartPole", count, target), run)
