"""The built-in native environments: specs, parity with the Python ports, rewards reached by
scripted policies, determinism, threads and async stepping, parameters, bad input."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest

from mlagents_fast.envs import registry
from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.testing.reference import make_reference
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.spec import ActionError, ActionTuple, DimensionProperty, ObservationType
from tests.envs import policies
from tests.envs.reference_parity import assert_observations_equal, assert_outcome_equal

NAMES = ["Basic", "CartPole", "3DBall", "3DBallHard", "GridWorld"]


def random_actions(batch: StepBatch, actions: ActionTuple, rng: np.random.Generator) -> None:
    """Random actions that respect the action masks (continuous ones a little beyond [-1, 1])."""
    if actions.continuous.shape[1]:
        actions.continuous[:] = rng.uniform(-1.2, 1.2, actions.continuous.shape)
    if actions.discrete.shape[1]:
        assert batch.action_mask is not None
        scores = rng.random(batch.action_mask.shape) - 10.0 * batch.action_mask
        actions.discrete[:, 0] = scores.argmax(axis=1)


def trace(env: NativeVectorEnv, steps: int, seed: int = 0) -> list[np.ndarray]:
    batch, actions = env.batch(env.behavior), env.actions(env.behavior)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        random_actions(batch, actions, rng)
        env.step()
        out += [o.copy() for o in batch.obs] + [batch.reward.copy(), batch.done]
    return out


def test_specs_match_ml_agents() -> None:
    ball = NativeVectorEnv("3DBall", 2).behavior_specs["3DBall"]
    assert ball.observation_specs[0].shape == (8,) and ball.action_spec.continuous_size == 2
    assert NativeVectorEnv("3DBall", 2).num_agents("3DBall") == 24  # twelve platforms per area
    assert NativeVectorEnv("3DBallHard").behavior_specs["3DBallHard"].observation_specs[0].shape == (45,)
    basic = NativeVectorEnv("Basic").behavior_specs["Basic"]
    assert basic.observation_specs[0].shape == (20,) and basic.action_spec.discrete_branches == (3,)
    grid = NativeVectorEnv("GridWorld", resolution=20).behavior_specs["GridWorld"]
    visual, goal = grid.observation_specs
    assert visual.shape == (3, 20, 20) and visual.dimension_property[1] == DimensionProperty.TRANSLATIONAL_EQUIVARIANCE
    assert goal.shape == (2,) and goal.observation_type == ObservationType.GOAL_SIGNAL
    assert grid.action_spec.discrete_branches == (5,)
    cartpole = NativeVectorEnv("CartPole").behavior_specs["CartPole"]
    assert cartpole.observation_specs[0].shape == (4,) and cartpole.action_spec.discrete_branches == (2,)


@pytest.mark.parametrize("name", NAMES)
def test_parity_with_python_port(name: str) -> None:
    """Every observation, reward, flag, mask and final observation equals the plain-Python port's."""
    native = NativeVectorEnv(name, 2, seed=11)
    port = make_reference(name, 2, seed=11)
    batch, actions = native.batch(name), native.actions(name)
    rng = np.random.default_rng(3)
    ended = 0
    for _ in range(150):
        assert_observations_equal(batch, port)
        random_actions(batch, actions, rng)
        port.continuous_actions[:] = actions.continuous
        port.discrete_actions[:] = actions.discrete
        native.step()
        port.step()
        ended += assert_outcome_equal(batch, port)
    assert ended > 0, "the comparison must cover auto-resets"


def run_policy(
    env: NativeVectorEnv, policy: Callable[[StepBatch, ActionTuple], None], episodes: int, max_steps: int = 20_000
) -> np.ndarray:
    batch, actions = env.batch(env.behavior), env.actions(env.behavior)
    returns: list[float] = []
    for _ in range(max_steps):
        policy(batch, actions)
        env.step()
        returns += batch.episode_return[batch.done].tolist()
        if len(returns) >= episodes:
            break
    return np.array(returns)


def test_basic_heuristic_reaches_benchmark() -> None:
    returns = run_policy(NativeVectorEnv("Basic", 4), policies.basic, 8)
    np.testing.assert_allclose(returns, 0.93, atol=1e-5)  # 7 steps of -0.01, then +1


def test_cartpole_heuristic_lasts_to_max_step() -> None:
    env = NativeVectorEnv("CartPole", 4, seed=2)
    returns = run_policy(env, policies.cartpole, 4)
    assert returns.min() == 500.0
    assert env.batch("CartPole").truncated.all() and not env.batch("CartPole").terminated.any()


def test_3dball_heuristic_reaches_benchmark() -> None:
    returns = run_policy(NativeVectorEnv("3DBall", 1, seed=5), policies.ball3d, 12)
    assert returns.mean() > 99.0  # 1000 decisions of +0.1: the benchmark is 100
    # An episode that keeps the ball to MaxStep returns 100.0, as ML-Agents, which sums an episode's
    # rewards in Python floats, reports it (summed in float32 the thousand rewards make 99.99905).
    assert returns.max() == np.float32(100.0) and np.float32(sum([np.float32(0.1)] * 1000)) < np.float32(99.9991)
    random_returns = run_policy(NativeVectorEnv("3DBall", 1, seed=5), lambda b, a: None, 12)
    assert random_returns.mean() < 20.0  # a flat-held platform does not keep the ball


def test_gridworld_heuristic_reaches_benchmark() -> None:
    env = NativeVectorEnv("GridWorld", 1, seed=4, resolution=7)  # one pixel per cell
    returns = run_policy(env, policies.gridworld, 60)
    assert returns.mean() > 0.9 and returns.min() > 0.8  # benchmark 0.8


def test_gridworld_masks_moves_off_the_grid() -> None:
    env = NativeVectorEnv("GridWorld", 3, seed=1, resolution=7)
    batch = env.batch("GridWorld")
    rng = np.random.default_rng(0)
    for _ in range(50):
        assert batch.action_mask is not None
        agent_rows, agent_cols = [], []
        for image in batch.obs[0]:
            rows, cols = np.nonzero(image[2] == 1.0)  # the agent is the only blue cell
            agent_rows.append(rows[0])
            agent_cols.append(cols[0])
        rows, cols = np.array(agent_rows), np.array(agent_cols)
        np.testing.assert_array_equal(batch.action_mask[:, 1], rows == 1)  # up blocked on the top row
        np.testing.assert_array_equal(batch.action_mask[:, 2], rows == 5)
        np.testing.assert_array_equal(batch.action_mask[:, 3], cols == 1)
        np.testing.assert_array_equal(batch.action_mask[:, 4], cols == 5)
        assert not batch.action_mask[:, 0].any()
        random_actions(batch, env.actions("GridWorld"), rng)
        env.step()


@pytest.mark.parametrize("name", ["CartPole", "3DBall", "GridWorld"])
def test_deterministic_for_a_seed_and_different_across_seeds(name: str) -> None:
    first = trace(NativeVectorEnv(name, 2, seed=1), 60)
    again = trace(NativeVectorEnv(name, 2, seed=1), 60)
    other = trace(NativeVectorEnv(name, 2, seed=2), 60)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_copies_start_differently() -> None:
    obs = NativeVectorEnv("CartPole", 4, seed=0).batch("CartPole").obs[0]
    assert len({tuple(row) for row in obs}) == 4


@pytest.mark.parametrize("name", ["CartPole", "3DBall"])
def test_threads_give_the_same_results(name: str) -> None:
    one = trace(NativeVectorEnv(name, 7, seed=3, num_threads=1), 40)
    two = trace(NativeVectorEnv(name, 7, seed=3, num_threads=2), 40)
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))


def test_async_send_recv_steps_each_copy_once() -> None:
    sync = NativeVectorEnv("3DBall", 6, seed=9)
    asynchronous = NativeVectorEnv("3DBall", 6, seed=9, num_threads=2)
    for env in (sync, asynchronous):
        policies.ball3d(env.batch("3DBall"), env.actions("3DBall"))
    sync.step()
    asynchronous.send(np.arange(6, dtype=np.int32))
    received = np.concatenate([asynchronous.recv(4), asynchronous.recv(2)])
    assert sorted(received.tolist()) == list(range(6))
    np.testing.assert_array_equal(sync.batch("3DBall").obs[0], asynchronous.batch("3DBall").obs[0])
    with pytest.raises(RuntimeError, match="in flight"):
        asynchronous.recv(1)


def test_truncation_is_interrupted_not_terminated() -> None:
    env = NativeVectorEnv("3DBall", 1, seed=5)
    batch = env.batch("3DBall")
    for step in range(1, 1001):
        policies.ball3d(batch, env.actions("3DBall"))
        env.step()
        if step < 1000:
            assert not batch.done.any()
    # MaxStep 5000 physics steps at decision period 5: 1000 decisions, then interrupted.
    assert batch.truncated.all() and not batch.terminated.any()
    assert (batch.episode_length == 1000).all()
    # The final observation is kept apart from the new episode's first one (ball back at height 4).
    assert not np.array_equal(batch.terminal_obs[0], batch.obs[0])
    np.testing.assert_array_equal(batch.obs[0][:, 3], 4.0)


def first_fall_gravity(env: NativeVectorEnv) -> np.ndarray:
    """Gravity each ball fell under during its first decision (5 free-fall steps of 0.02 s)."""
    env.actions("3DBall").continuous[:] = 0.0
    env.step()
    return -env.batch("3DBall").obs[0][:, 6] / (5 * 0.02)


def test_parameters_constant_and_sampled_per_episode() -> None:
    env = registry.make("3DBall", 2, seed=1, parameters={"gravity": 3.0})
    np.testing.assert_allclose(first_fall_gravity(env), 3.0, rtol=1e-5)
    env.set_parameters(
        {"gravity": {"sampler_type": "uniform", "sampler_parameters": {"min_value": 5, "max_value": 15}}}
    )
    env.reset(1)
    drawn = first_fall_gravity(env)
    assert ((drawn > 5.0) & (drawn < 15.0)).all() and len(np.unique(drawn.round(4))) > 12
    env.set_parameters({"scale": 2.0, "gravity": 0.0})
    env.reset(2)
    env.actions("3DBall").continuous[:] = 0.0
    env.step()
    np.testing.assert_array_equal(env.batch("3DBall").obs[0][:, 3], 4.0)  # no gravity: nothing falls


def test_seed_docs_randomization_example_runs() -> None:
    """The documentation's 3DBall randomization: mass, gravity and scale sampled per episode."""
    parameters = {
        "mass": {"sampler_type": "uniform", "sampler_parameters": {"min_value": 0.5, "max_value": 10}},
        "gravity": {"sampler_type": "multirangeuniform", "sampler_parameters": {"intervals": [[7, 10], [15, 20]]}},
        "scale": {"sampler_type": "uniform", "sampler_parameters": {"min_value": 0.75, "max_value": 3}},
    }
    env = registry.make("3DBall", 2, seed=0, parameters=parameters)
    # Balls scaled up to 3 touch the platform at once, so only the spread of first falls is checked.
    assert len(np.unique(first_fall_gravity(env).round(3))) == 24
    returns = run_policy(env, policies.ball3d, 24, max_steps=3000)
    assert len(returns) >= 24 and np.isfinite(returns).all()


def test_unknown_parameter_warns_once() -> None:
    env = NativeVectorEnv("CartPole")
    with pytest.warns(UserWarning, match="does not read the parameter 'wind'"):
        env.set_parameters({"wind": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.set_parameters({"wind": 2.0})
    with pytest.warns(UserWarning) as caught:  # several at once: one message naming them all
        env.set_parameters({"wind": 1.0, "rain": 1.0, "snow": 1.0, "gravity": 9.0})
    (message,) = [str(w.message) for w in caught]
    assert "'rain', 'snow'" in message and "'wind'" not in message and "it reads: gravity" in message


def test_bad_actions_are_clear_errors() -> None:
    env = NativeVectorEnv("3DBall", 1)
    env.actions("3DBall").continuous[3, 1] = np.nan
    with pytest.raises(ActionError, match=r"'3DBall'.*continuous action 1 of agent 3 is nan"):
        env.step()
    grid = NativeVectorEnv("GridWorld", 1, seed=0)
    batch, actions = grid.batch("GridWorld"), grid.actions("GridWorld")
    actions.discrete[:] = 7
    with pytest.raises(ActionError, match=r"branch 0 is 7; the branch has 5 choices"):
        grid.step()
    assert batch.action_mask is not None
    slot, choice = np.argwhere(batch.action_mask)[0]
    actions.discrete[:] = 0
    actions.discrete[slot, 0] = choice
    with pytest.raises(ActionError, match=f"agent {slot} .*action mask forbids"):
        grid.step()


def test_bad_names_and_options_are_clear_errors() -> None:
    with pytest.raises(registry.UnknownEnvironmentError, match="3DBall, 3DBallHard, Basic, CartPole, GridWorld"):
        registry.make("3DBal")
    with pytest.raises(ValueError, match="GridWorld has no option 'size'; its options are: resolution"):
        registry.make("GridWorld", size=3)
    with pytest.raises(ValueError, match="num_envs must be at least 1"):
        registry.make("Basic", 0)
    with pytest.raises(ValueError, match="min_value not above max_value"):
        inverted = {"sampler_type": "uniform", "sampler_parameters": {"min_value": 2, "max_value": 1}}
        registry.make("3DBall", parameters={"mass": inverted})


def test_3dball_hard_stacks_its_last_nine_decisions() -> None:
    """Offsets (9 x 3) then rotations (9 x 2), oldest first, zeros before the episode's first decision."""
    env = NativeVectorEnv("3DBallHard", 1, seed=2)
    obs = env.batch("3DBallHard").obs[0]
    offsets, rotations = obs[:, :27].reshape(12, 9, 3), obs[:, 27:].reshape(12, 9, 2)
    assert not offsets[:, :8].any() and not rotations[:, :8].any()
    np.testing.assert_array_equal(offsets[:, 8, 1], 4.0)  # the ball starts 4 above the platform
    first = obs.copy()
    env.actions("3DBallHard").continuous[:] = 0.5
    env.step()
    np.testing.assert_array_equal(offsets[:, 7], first[:, 24:27])  # the previous frame moved back one
    np.testing.assert_array_equal(rotations[:, 7], first[:, 43:45])
    assert not np.array_equal(rotations[:, 8], rotations[:, 7])  # the platforms turned
