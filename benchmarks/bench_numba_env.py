"""Numba CartPole against gymnasium's SyncVectorEnv on CartPole-v1, random actions.

Ours: `make_numba_cartpole(n)` (one compiled loop over the n copies per `step()`,
actions validated, same-step auto-reset), on 1 numba thread and, for 1024 copies,
on 2. Reference: `gymnasium.vector.SyncVectorEnv` over n `gym.make("CartPole-v1")`
(gymnasium's default wrappers), same-step auto-reset, one Python process.

One timed call runs `steps` vector steps; both sides read the same pre-drawn random
actions (drawing them is outside the timing). Throughput is agent-steps per second:
n copies x steps per call (CartPole has one agent per copy and one physics step per decision).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from mlagents_fast.envs.numba.cartpole import make_numba_cartpole
from mlagents_fast.envs.numba.env import MAX_THREADS, NumbaVectorEnv

gym = pytest.importorskip("gymnasium", reason="the reference needs gymnasium: pip install gymnasium")

# The `timed` fixture (conftest.py): timed(group, extra_info, function, *args).
Timed = Callable[..., object]

# (copies, vector steps per timed call): fewer steps where a gymnasium step is slow.
CASES = [(8, 500), (1024, 20)]


def action_bank(num_envs: int, steps: int) -> NDArray[np.int32]:
    return np.random.default_rng(0).integers(0, 2, (steps, num_envs, 1)).astype(np.int32)


def run_numba(env: NumbaVectorEnv, bank: NDArray[np.int32]) -> None:
    discrete = env.actions("CartPole").discrete
    for actions in bank:
        discrete[...] = actions
        env.step()


def run_gymnasium(envs: Any, bank: NDArray[np.int64]) -> None:
    for actions in bank:
        envs.step(actions)


def group_name(num_envs: int, threads: int) -> str:
    return f"cartpole {num_envs} envs, {threads} thr"


@pytest.mark.parametrize(("num_envs", "steps", "threads"), [(n, s, 1) for n, s in CASES] + [(1024, 20, 2)])
def test_numba_cartpole(timed: Timed, num_envs: int, steps: int, threads: int) -> None:
    if threads > MAX_THREADS:
        pytest.skip(f"numba may use {MAX_THREADS} thread(s) here")
    env = make_numba_cartpole(num_envs, seed=0, num_threads=threads)
    info = {"role": "native", "elements": num_envs * steps, "threads": threads}
    timed(group_name(num_envs, threads), info, run_numba, env, action_bank(num_envs, steps))


@pytest.mark.parametrize(("num_envs", "steps", "threads"), [(n, s, 1) for n, s in CASES] + [(1024, 20, 2)])
def test_gymnasium_sync_vector_env(timed: Timed, num_envs: int, steps: int, threads: int) -> None:
    # `threads` only names the group this reference is compared in; gymnasium runs on one thread.
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make("CartPole-v1") for _ in range(num_envs)],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    envs.reset(seed=0)
    bank = action_bank(num_envs, steps)[..., 0].astype(np.int64)
    info = {"role": "reference:gymnasium_sync", "elements": num_envs * steps}
    timed(group_name(num_envs, threads), info, run_gymnasium, envs, bank)
    envs.close()
