"""Numba environments: CartPole against gymnasium, the engine's episode rules, seeding and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numba import njit

from mlagents_fast.envs.numba.cartpole import CARTPOLE, make_numba_cartpole
from mlagents_fast.envs.numba.env import NumbaEnvDefinition, NumbaVectorEnv
from mlagents_fast.envs.vector import EnvError
from mlagents_fast.spec import ActionError, ActionSpec, ActionTuple, BehaviorSpec, ObservationSpec

gym = pytest.importorskip("gymnasium")

NAME = "CartPole"


def heuristic(obs: np.ndarray) -> np.ndarray:
    """Push toward the side the pole leans (and is falling) to."""
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int32)


def test_cartpole_matches_gymnasium_step_for_step() -> None:
    # Even copies follow the heuristic (episodes run to the 500-step limit), odd ones act at random.
    n = 8
    env = make_numba_cartpole(n, seed=3)
    gyms = [gym.make("CartPole-v1") for _ in range(n)]
    for i, g in enumerate(gyms):
        g.reset(seed=100 + i)
        env.state[i] = g.unwrapped.state
    batch, actions = env.batch(NAME), env.actions(NAME)
    obs = np.array([g.unwrapped.state for g in gyms], np.float32)
    rng = np.random.default_rng(0)
    ended = {"terminated": 0, "truncated": 0}
    for _ in range(1200):
        choice = np.where(np.arange(n) % 2 == 0, heuristic(obs), rng.integers(0, 2, n)).astype(np.int32)
        actions.discrete[:, 0] = choice
        env.step()
        for i, g in enumerate(gyms):
            gym_obs, reward, term, trunc, _ = g.step(int(choice[i]))
            assert batch.reward[i] == reward
            assert batch.terminated[i] == term
            assert batch.truncated[i] == (trunc and not term)
            if term or trunc:
                ended["terminated" if term else "truncated"] += 1
                np.testing.assert_array_equal(batch.terminal_obs[0][i], gym_obs)
                g.reset()
                env.state[i] = g.unwrapped.state  # continue from gymnasium's next start
                gym_obs = np.asarray(g.unwrapped.state, np.float32)
            else:
                np.testing.assert_array_equal(batch.obs[0][i], gym_obs)
            obs[i] = gym_obs
    assert ended["terminated"] > 20 and ended["truncated"] >= 4


def test_auto_reset_keeps_the_final_observation_and_starts_the_next_episode() -> None:
    env = make_numba_cartpole(4, seed=1)
    batch = env.batch(NAME)
    env.actions(NAME).discrete[:] = 1  # always right: the pole falls in a few dozen steps
    lengths = np.zeros(4, np.int64)
    for _ in range(200):
        env.step()
        lengths += 1
        done = np.flatnonzero(batch.done)
        if done.size:
            break
    i = int(done[0])
    final, first = batch.terminal_obs[0][i], batch.obs[0][i]
    assert batch.terminated[i] and not batch.truncated[i]
    assert abs(final[0]) > 2.4 or abs(final[2]) > 12 * 2 * np.pi / 360
    assert np.all(np.abs(first) <= 0.05)
    np.testing.assert_array_equal(first, env.state[i].astype(np.float32))
    assert batch.episode_length[i] == lengths[i] and batch.episode_return[i] == lengths[i]
    env.step()
    assert not batch.done[i] and batch.episode_length[i] == 0


# A small test environment with two observations and hybrid actions. Continuous action
# 0 > 0.5 ends the episode, < -0.5 returns a NaN reward; discrete choice 1 writes NaN into
# the second observation, and the mask forbids choice 2.
@njit(cache=True)
def probe_reset(state: Any, rng: Any, obs: Any) -> None:
    obs[0] = 0.0
    obs[1] = 1.0
    obs[2] = 2.0


@njit(cache=True)
def probe_step(state: Any, rng: Any, continuous: Any, discrete: Any, obs: Any) -> tuple[float, bool]:
    state[0] += 1.0
    obs[0] = state[0]
    obs[1] = np.nan if discrete[0] == 1 else 1.0
    obs[2] = 2.0
    reward = np.nan if continuous[0] < -0.5 else 0.5
    return reward, continuous[0] > 0.5


@njit(cache=True)
def probe_mask(state: Any, mask_out: Any) -> None:
    mask_out[2] = True


PROBE = NumbaEnvDefinition(
    behavior_name="Probe",
    behavior_spec=BehaviorSpec(
        (ObservationSpec.vector(1, name="count"), ObservationSpec.vector(2, name="pair")),
        ActionSpec.create_hybrid(1, (3,)),
    ),
    state_size=1,
    reset=probe_reset,
    step=probe_step,
    max_step=3,
    mask=probe_mask,
)


def test_truncation_at_max_step_and_terminated_wins() -> None:
    env = NumbaVectorEnv(PROBE, 2)
    env.reset()
    batch, actions = env.batch("Probe"), env.actions("Probe")
    actions.continuous[:] = 0.0
    for step in (1, 2):
        env.step()
        assert not batch.done.any()
        np.testing.assert_array_equal(batch.obs[0][:, 0], [step, step])
        np.testing.assert_array_equal(batch.obs[1], [[1.0, 2.0]] * 2)
    actions.continuous[1] = 1.0  # copy 1 terminates on the step that also reaches max_step
    env.step()
    np.testing.assert_array_equal(batch.truncated, [True, False])
    np.testing.assert_array_equal(batch.terminated, [False, True])
    np.testing.assert_array_equal(batch.episode_length, [3, 3])
    np.testing.assert_allclose(batch.episode_return, [1.5, 1.5])
    np.testing.assert_array_equal(batch.terminal_obs[0][:, 0], [3, 3])
    np.testing.assert_array_equal(batch.obs[0][:, 0], [0, 0])
    np.testing.assert_array_equal(batch.action_mask, [[False, False, True]] * 2)


def trace(seed: int, num_threads: int = 1, steps: int = 300) -> np.ndarray:
    env = make_numba_cartpole(16, seed=seed, num_threads=num_threads)
    rng = np.random.default_rng(7)
    out = [env.batch(NAME).obs[0].copy()]
    for _ in range(steps):
        env.actions(NAME).discrete[:, 0] = rng.integers(0, 2, 16)
        env.step()
        out.append(env.batch(NAME).obs[0].copy())
    return np.stack(out)


def test_same_seed_repeats_and_seeds_and_copies_differ() -> None:
    first = trace(5)
    np.testing.assert_array_equal(first, trace(5))
    assert not np.array_equal(first, trace(6))
    assert len(np.unique(first[0], axis=0)) == 16  # every copy starts somewhere else


def test_threads_give_the_serial_trace() -> None:
    np.testing.assert_array_equal(trace(5, num_threads=2), trace(5))


def test_reset_with_a_seed_reseeds_and_without_continues() -> None:
    env = make_numba_cartpole(4)
    env.reset(seed=9)
    first = env.batch(NAME).obs[0].copy()
    env.reset()
    assert not np.array_equal(first, env.batch(NAME).obs[0])
    env.reset(seed=9)
    np.testing.assert_array_equal(first, env.batch(NAME).obs[0])


def test_bad_actions_raise_action_error() -> None:
    env = make_numba_cartpole(4, seed=0)
    with pytest.raises(ActionError, match=r"shape \(4, 1\)"):
        env.set_actions(NAME, ActionTuple(np.zeros((4, 0), np.float32), np.zeros((3, 1), np.int32)))
    with pytest.raises(ActionError, match="dtype int32"):
        env.set_actions(NAME, ActionTuple(np.zeros((4, 0), np.float32), np.zeros((4, 1), np.int64)))
    env.actions(NAME).discrete[2, 0] = 2
    with pytest.raises(ActionError, match="agent index 2 chose 2"):
        env.step()


def test_masked_choice_raises_action_error_before_stepping() -> None:
    env = NumbaVectorEnv(PROBE, 2)
    env.reset()
    env.actions("Probe").discrete[1, 0] = 2
    with pytest.raises(ActionError, match="agent index 1 chose 2 on discrete branch 0"):
        env.step()
    np.testing.assert_array_equal(env.state[:, 0], [0, 0])  # nothing was stepped


def test_nan_from_the_environment_raises_env_error() -> None:
    env = NumbaVectorEnv(PROBE, 3)
    env.reset()
    actions = env.actions("Probe")
    actions.continuous[2] = -1.0
    with pytest.raises(EnvError, match="copy 2: step\\(\\) returned a NaN or infinite reward"):
        env.step()
    with pytest.raises(EnvError, match="reset"):
        env.step()  # the batch is half stepped until reset
    env.reset()
    actions.continuous[:] = 0.0
    actions.discrete[1, 0] = 1
    with pytest.raises(EnvError, match="copy 1: step\\(\\) wrote NaN or inf into observation 1 \\('pair'\\), entry 0"):
        env.step()


def test_plain_python_functions_are_compiled() -> None:
    def reset(state: Any, rng: Any, obs: Any) -> None:
        obs[0] = 1.0

    def step(state: Any, rng: Any, continuous: Any, discrete: Any, obs: Any) -> tuple[float, bool]:
        obs[0] = continuous[0]
        return 0.0, False

    spec = BehaviorSpec((ObservationSpec.vector(1),), ActionSpec.create_continuous(1))
    env = NumbaVectorEnv(NumbaEnvDefinition("Echo", spec, 1, reset, step), 2)
    env.reset()
    env.actions("Echo").continuous[:, 0] = [0.25, -0.5]
    env.step()
    np.testing.assert_array_equal(env.batch("Echo").obs[0][:, 0], [0.25, -0.5])


def test_functions_that_allocate_arrays_run_too() -> None:
    # The lean loops are built without numba's runtime; allocating needs it, so the env falls back.
    def reset(state: Any, rng: Any, obs: Any) -> None:
        obs[:] = np.zeros(2, np.float32)

    def step(state: Any, rng: Any, continuous: Any, discrete: Any, obs: Any) -> tuple[float, bool]:
        obs[0] = obs[1] = discrete[0]
        return 1.0, False

    spec = BehaviorSpec((ObservationSpec.vector(2),), ActionSpec.create_discrete((3,)))
    env = NumbaVectorEnv(NumbaEnvDefinition("Alloc", spec, 1, reset, step), 2)
    env.reset()
    env.actions("Alloc").discrete[:, 0] = [1, 2]
    env.step()
    np.testing.assert_array_equal(env.batch("Alloc").obs[0], [[1, 1], [2, 2]])


def test_definition_rejects_what_it_cannot_run() -> None:
    spec = CARTPOLE.behavior_spec
    with pytest.raises(ValueError, match="state_size"):
        NumbaEnvDefinition("X", spec, 0, CARTPOLE.reset, CARTPOLE.step)
    visual = BehaviorSpec((ObservationSpec.visual(1, 4, 4),), spec.action_spec)
    with pytest.raises(ValueError, match="vector observations"):
        NumbaEnvDefinition("X", visual, 4, CARTPOLE.reset, CARTPOLE.step)
    with pytest.raises(EnvError, match="reset"):
        NumbaVectorEnv(CARTPOLE, 2).step()


def test_heuristic_policy_balances_the_pole() -> None:
    env = make_numba_cartpole(64, seed=11)
    batch, actions = env.batch(NAME), env.actions(NAME)
    returns: list[float] = []
    for _ in range(1600):
        actions.discrete[:, 0] = heuristic(batch.obs[0])
        env.step()
        returns.extend(batch.episode_return[batch.done].tolist())
    assert len(returns) >= 64
    assert np.mean(returns) > 400
