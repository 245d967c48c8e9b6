"""gymnasium CartPole-v1, 8 copies: our Python steppers against gymnasium's vector envs.

One call = 100 vector steps = 800 agent-steps, on random actions drawn beforehand (the
same for every stepper). Episodes end and restart as each stepper does by default.

Ours, one group each (`native` role):
* `inprocess`: InProcessVectorEnv, the copies stepped one after another in this process;
* `process`: ProcessVectorEnv with its default worker count, min(8, CPUs) (2 on a 2-core
  machine), over shared memory;
* `process 8 workers`: ProcessVectorEnv with one worker per copy, as AsyncVectorEnv runs;
* `auto`: `make_gym(mode="auto")`, which picks in-process for CartPole.

References, measured again in every group: gymnasium's `SyncVectorEnv` and
`AsyncVectorEnv` (one process per copy, default `shared_memory=True`, default next-step
auto-reset), and Stable-Baselines3's `SubprocVecEnv` where it is installed.

Targets: the process stepper >= 3x AsyncVectorEnv; auto and in-process never slower than
SyncVectorEnv (ratio >= 1).

How the process stepper's signalling was chosen (round trip to 2 workers doing 60 us of
busy work each, 2-core machine): one byte each way over a socket, polled with the
workers' sentinels, 89-111 us; a semaphore pair per worker 100-145 us; pickled
`Connection` messages with `multiprocessing.connection.wait` 156-176 us.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import gymnasium
import numpy as np
import pytest

from mlagents_fast.envs.gym_env import GymFactory, make_gym
from mlagents_fast.envs.inprocess import InProcessVectorEnv
from mlagents_fast.envs.process import ProcessVectorEnv
from mlagents_fast.envs.vector import VectorEnv

Timed = Callable[..., object]

ENV_ID = "CartPole-v1"
NUM_ENVS = 8
STEPS = 100  # vector steps per timed call
SEED = 0

OURS = ["inprocess", "process", "process 8 workers", "auto"]
# Ratio the reference's median must reach over ours, per group of ours.
TARGETS: dict[str, dict[str, float]] = {
    "inprocess": {"gymnasium_sync": 1.0},
    "process": {"gymnasium_async": 3.0},
    "process 8 workers": {"gymnasium_async": 3.0},
    "auto": {"gymnasium_sync": 1.0},
}


def group(ours: str) -> str:
    return f"{ENV_ID} x{NUM_ENVS}: {ours}"


def info(role: str, ours: str) -> dict[str, Any]:
    extra: dict[str, Any] = {"role": role, "elements": STEPS * NUM_ENVS}
    target = TARGETS[ours].get(role.removeprefix("reference:"))
    if target is not None:
        extra["target"] = target
    return extra


@pytest.fixture(scope="module")
def actions() -> np.ndarray:
    return np.random.default_rng(SEED).integers(0, 2, (STEPS, NUM_ENVS))


def build_ours(ours: str) -> VectorEnv:
    factory = GymFactory(ENV_ID)
    if ours == "inprocess":
        env: VectorEnv = InProcessVectorEnv(factory, NUM_ENVS)
    elif ours == "process":
        env = ProcessVectorEnv(factory, NUM_ENVS)
    elif ours == "process 8 workers":
        env = ProcessVectorEnv(factory, NUM_ENVS, num_workers=NUM_ENVS)
    else:
        return make_gym(ENV_ID, NUM_ENVS, seed=SEED, mode="auto")
    env.reset(SEED)
    return env


@pytest.fixture(params=OURS)
def ours(request: pytest.FixtureRequest) -> Iterator[tuple[str, VectorEnv]]:
    env = build_ours(request.param)
    yield request.param, env
    env.close()


def test_ours(timed: Timed, ours: tuple[str, VectorEnv], actions: np.ndarray) -> None:
    kind, env = ours
    discrete = env.actions(ENV_ID).discrete

    def run() -> None:
        for row in actions:
            discrete[:, 0] = row
            env.step()

    timed(group(kind), info("native", kind), run)


def gymnasium_vector(name: str) -> Any:
    makers = [lambda: gymnasium.make(ENV_ID)] * NUM_ENVS
    if name == "gymnasium_sync":
        return gymnasium.vector.SyncVectorEnv(makers)
    return gymnasium.vector.AsyncVectorEnv(makers)


@pytest.mark.parametrize("ours", OURS)
@pytest.mark.parametrize("name", ["gymnasium_sync", "gymnasium_async"])
def test_gymnasium(timed: Timed, name: str, ours: str, actions: np.ndarray) -> None:
    env = gymnasium_vector(name)
    try:
        env.reset(seed=SEED)

        def run() -> None:
            for row in actions:
                env.step(row)

        timed(group(ours), info(f"reference:{name}", ours), run)
    finally:
        env.close()


@pytest.mark.parametrize("ours", OURS)
def test_sb3_subproc(timed: Timed, ours: str, actions: np.ndarray) -> None:
    vec_env = pytest.importorskip("stable_baselines3.common.vec_env", reason="Stable-Baselines3 is not installed")
    env = vec_env.SubprocVecEnv([lambda: gymnasium.make(ENV_ID)] * NUM_ENVS)
    try:
        env.seed(SEED)
        env.reset()

        def run() -> None:
            for row in actions:
                env.step(row)

        timed(group(ours), info("reference:sb3_subproc", ours), run)
    finally:
        env.close()
