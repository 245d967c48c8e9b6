"""ML-Agents' test environments driven through the PythonEnv API on freshly allocated StepBatch rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mlagents_fast.demonstrations.format import INITIAL_POS
from mlagents_fast.demonstrations.reader import read_demonstration
from mlagents_fast.demonstrations.writer import write_demonstration
from mlagents_fast.envs.testing.game import SUCCESS_REWARD, TIME_PENALTY
from mlagents_fast.envs.testing.multi_agent import GROUP_ID, MultiAgentEnvironment
from mlagents_fast.envs.testing.recorder import record_demonstrations
from mlagents_fast.envs.testing.simple import MemoryEnvironment, SimpleEnvironment, UnexpectedExceptionEnvironment
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.spec import ActionTuple, DimensionProperty, ObservationType

Policy = Callable[[SimpleEnvironment, str], ActionTuple]


def allocate(env: SimpleEnvironment) -> dict[str, StepBatch]:
    return {name: StepBatch.allocate(spec, env.agents_per_env[name]) for name, spec in env.behavior_specs.items()}


def optimal(env: SimpleEnvironment, name: str) -> ActionTuple:
    return env.optimal_actions(name)


def episode_returns(env: SimpleEnvironment, policy: Policy, steps: int, seed: int = 0) -> dict[str, list[float]]:
    """Returns of the episodes that ended within `steps` steps, read from the StepBatch rows."""
    out = allocate(env)
    env.reset(out, seed=seed)
    returns: dict[str, list[float]] = {name: [] for name in env.names}
    for _ in range(steps):
        env.step({name: policy(env, name) for name in env.names}, out)
        for name, batch in out.items():
            returns[name] += batch.episode_return[batch.done].tolist()
    return returns


@pytest.mark.parametrize(
    ("action_sizes", "continuous", "branches"), [((1, 0), 1, ()), ((0, 2), 0, (2, 2)), ((1, 1), 1, (2,))]
)
def test_action_specs(action_sizes: tuple[int, int], continuous: int, branches: tuple[int, ...]) -> None:
    env = SimpleEnvironment(["A", "B"], action_sizes=action_sizes)
    assert set(env.behavior_specs) == {"A", "B"}
    assert dict(env.agents_per_env) == {"A": 1, "B": 1}
    spec = env.behavior_specs["A"].action_spec
    assert (spec.continuous_size, spec.discrete_branches) == (continuous, branches)


def test_observation_specs_and_goal_signal() -> None:
    env = SimpleEnvironment(["A"], num_visual=2, num_vector=1, num_var_len=1, vec_obs_size=3, goal_indices=[1])
    specs = env.behavior_specs["A"].observation_specs
    assert [s.shape for s in specs] == [(3,), (3, 20, 20), (3, 20, 20), (10, 5)]
    assert [s.observation_type for s in specs] == [
        ObservationType.DEFAULT,
        ObservationType.GOAL_SIGNAL,
        ObservationType.DEFAULT,
        ObservationType.DEFAULT,
    ]
    assert specs[3].dimension_property == (DimensionProperty.VARIABLE_SIZE, DimensionProperty.NONE)
    out = allocate(env)
    env.reset(out, seed=3)
    goal = env.goal("A")
    assert all(np.all(o == goal) for o in out["A"].obs)


@pytest.mark.parametrize("action_sizes", [(1, 0), (0, 1), (2, 0), (0, 2), (1, 1)])
def test_optimal_policy_succeeds_every_episode(action_sizes: tuple[int, int]) -> None:
    env = SimpleEnvironment(["A", "B"], action_sizes=action_sizes)
    returns = episode_returns(env, optimal, steps=100)
    for name in env.names:
        assert len(returns[name]) == 20  # five full steps from 0 to ±1 per episode
        # Four time penalties, then the success reward.
        assert returns[name] == pytest.approx([SUCCESS_REWARD - 4 * TIME_PENALTY] * 20, abs=1e-5)
        assert min(returns[name]) > 0.9
        assert env.final_rewards[name] == pytest.approx(returns[name], abs=1e-5)


def test_random_policy_does_much_worse() -> None:
    env = SimpleEnvironment(["A"])
    rng = np.random.default_rng(0)
    returns = episode_returns(env, lambda e, n: e.action_spec.random_action(1, rng), steps=2000)["A"]
    assert len(returns) > 20
    assert np.mean(returns) < 0.3


def test_episode_ends_only_when_every_position_reaches_an_end() -> None:
    env = SimpleEnvironment(["A"], action_sizes=(2, 0))
    out = allocate(env)
    env.reset(out, seed=1)
    goal = env.goal("A")
    move_first = ActionTuple(np.array([[goal, 0.0]], np.float32), np.zeros((1, 0), np.int32))
    for _ in range(20):
        env.step({"A": move_first}, out)
        assert not out["A"].terminated[0]
        assert out["A"].reward[0] == pytest.approx(-TIME_PENALTY)
    move_second_wrong_way = ActionTuple(np.array([[0.0, -goal]], np.float32), np.zeros((1, 0), np.int32))
    for _ in range(4):
        env.step({"A": move_second_wrong_way}, out)
        assert not out["A"].terminated[0]
    env.step({"A": move_second_wrong_way}, out)
    batch = out["A"]
    assert batch.terminated[0] and not batch.truncated[0]
    assert batch.reward[0] == pytest.approx((SUCCESS_REWARD - SUCCESS_REWARD) / 2)  # +1 on one, -1 on the other
    assert batch.episode_length[0] == 25


def test_same_step_auto_reset_writes_terminal_obs_and_a_new_first_obs() -> None:
    env = SimpleEnvironment(["A"], num_visual=1, action_sizes=(0, 1))
    out = allocate(env)
    env.reset(out, seed=5)
    batch = out["A"]
    assert batch.action_mask is not None and not batch.action_mask.any()
    for _ in range(30):
        old_goal = env.goal("A")
        env.step({"A": env.optimal_actions("A")}, out)
        if batch.terminated[0]:
            break
    assert batch.terminated[0]
    assert all(np.all(o[0] == old_goal) for o in batch.terminal_obs)
    assert all(np.all(o[0] == env.goal("A")) for o in batch.obs)
    assert batch.reward[0] == pytest.approx(SUCCESS_REWARD)
    assert batch.episode_return[0] == pytest.approx(SUCCESS_REWARD - 4 * TIME_PENALTY)
    assert batch.episode_length[0] == 5
    env.step({"A": env.optimal_actions("A")}, out)  # the next episode's first step: not done, plain penalty
    assert not batch.terminated[0] and batch.reward[0] == pytest.approx(-TIME_PENALTY)
    env.reset(out)
    assert batch.reward[0] == 0.0 and not batch.done.any()


def goal_sequence(seed: int, episodes: int = 24) -> list[int]:
    env = SimpleEnvironment(["A"])
    out = allocate(env)
    env.reset(out, seed=seed)
    goals = [env.goal("A")]
    while len(goals) < episodes:
        env.step({"A": env.optimal_actions("A")}, out)
        if out["A"].terminated[0]:
            goals.append(env.goal("A"))
    return goals


def test_goals_are_seeded() -> None:
    assert goal_sequence(7) == goal_sequence(7)
    assert goal_sequence(7) != goal_sequence(8)
    assert set(goal_sequence(7)) == {-1, 1}
    assert SimpleEnvironment(["A"], seed=4).goal("A") == SimpleEnvironment(["A"], seed=4).goal("A")


def test_memory_environment_hides_the_goal_after_two_steps() -> None:
    env = MemoryEnvironment(["A"])
    out = allocate(env)
    env.reset(out, seed=2)
    goal = env.goal("A")
    seen = [float(out["A"].obs[0][0, 0])]
    stay = ActionTuple(np.zeros((1, 1), np.float32), np.zeros((1, 0), np.int32))
    for _ in range(5):
        env.step({"A": stay}, out)
        seen.append(float(out["A"].obs[0][0, 0]))
    assert seen == [goal, goal, goal, 0.0, 0.0, 0.0]
    # Still solvable by a policy that remembers the goal.
    returns = episode_returns(MemoryEnvironment(["A"]), optimal, steps=50)["A"]
    assert len(returns) == 10 and min(returns) > 0.9


def test_multi_agent_group_ids_early_finish_and_group_reward() -> None:
    env = MultiAgentEnvironment(["A"], num_agents=3)
    assert dict(env.agents_per_env) == {"A": 3}
    out = allocate(env)
    env.reset(out, seed=0)
    batch = out["A"]
    np.testing.assert_array_equal(batch.group_id, [GROUP_ID] * 3)
    goals = env.goals("A")

    def actions(speeds: list[float]) -> ActionTuple:
        moves = [[g * s] for g, s in zip(goals, speeds, strict=True)]
        return ActionTuple(np.array(moves, np.float32), np.zeros((3, 0), np.int32))

    # Agent 0 runs at full step, agent 1 toward the wrong end, agent 2 at half a step.
    speeds = [1.0, -1.0, 0.1]
    for _ in range(4):
        env.step({"A": actions(speeds)}, out)
        assert not batch.done.any()
    env.step({"A": actions(speeds)}, out)  # agents 0 and 1 reach an end on the same step
    np.testing.assert_array_equal(batch.terminated, [True, True, False])
    assert batch.reward.tolist() == pytest.approx([-TIME_PENALTY, -SUCCESS_REWARD, -TIME_PENALTY])
    np.testing.assert_array_equal(env.waiting("A"), [True, True, False])
    assert not batch.group_reward.any()
    first_obs = batch.obs[0][:2].copy()
    for _ in range(4):
        env.step({"A": actions(speeds)}, out)
        np.testing.assert_array_equal(batch.reward[:2], [0.0, 0.0])  # finished agents sit out
        np.testing.assert_array_equal(batch.obs[0][:2], first_obs)
        assert not batch.done.any()
    env.step({"A": actions(speeds)}, out)  # the last agent finishes and carries the group reward
    np.testing.assert_array_equal(batch.terminated, [False, False, True])
    assert batch.reward[2] == 0.0
    assert batch.group_reward.tolist() == pytest.approx([0.0, 0.0, SUCCESS_REWARD])
    assert env.final_rewards["A"] == pytest.approx([SUCCESS_REWARD, -SUCCESS_REWARD, SUCCESS_REWARD])
    assert not env.waiting("A").any()
    env.step({"A": env.optimal_actions("A")}, out)  # everyone plays again
    assert batch.reward.tolist() == pytest.approx([-TIME_PENALTY] * 3)
    assert not batch.group_reward.any()


def test_multi_agent_optimal_policy_earns_the_group_reward() -> None:
    env = MultiAgentEnvironment(["A", "B"], action_sizes=(0, 1))
    out = allocate(env)
    env.reset(out, seed=1)
    group_rewards = []
    for _ in range(50):
        env.step({n: env.optimal_actions(n) for n in env.names}, out)
        group_rewards += out["A"].group_reward[out["A"].group_reward != 0].tolist()
    assert group_rewards == pytest.approx([SUCCESS_REWARD] * 10)


def test_unexpected_exception_environment_raises_in_step() -> None:
    env = UnexpectedExceptionEnvironment(["A"], to_raise=KeyError)
    out = allocate(env)
    env.reset(out)
    with pytest.raises(KeyError):
        env.step({"A": env.optimal_actions("A")}, out)
    failing = UnexpectedExceptionEnvironment(["A"], to_raise=ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        failing.step({"A": failing.optimal_actions("A")}, allocate(failing))


@pytest.mark.parametrize("action_sizes", [(1, 0), (0, 1), (1, 1)])
def test_recorded_demonstration_round_trip(tmp_path: Path, action_sizes: tuple[int, int]) -> None:
    env = SimpleEnvironment(["Walker"], num_visual=1, action_sizes=action_sizes, goal_indices=[0])
    path = tmp_path / "walker.demo"
    meta = record_demonstrations(env, 30, path, seed=3)
    # Five decisions and one end-of-episode record per optimal episode.
    assert (meta.number_steps, meta.number_episodes) == (30, 5)
    assert meta.mean_reward == pytest.approx(SUCCESS_REWARD - 4 * TIME_PENALTY)

    demo = read_demonstration(path)
    assert demo.behavior_name == "Walker" and demo.meta == meta and len(demo) == 30
    assert demo.spec == env.behavior_spec
    np.testing.assert_array_equal(np.flatnonzero(demo.dones), [5, 11, 17, 23, 29])
    expected_rewards = np.tile([0.0] + [-TIME_PENALTY] * 4 + [SUCCESS_REWARD], 5)
    np.testing.assert_allclose(demo.rewards, expected_rewards, atol=1e-6)
    goals = demo.obs[0][:, 0]
    assert set(goals.tolist()) <= {-1.0, 1.0}
    assert np.all(demo.obs[1] == goals[:, None, None, None])  # every observation holds the goal
    if action_sizes[0]:
        np.testing.assert_array_equal(demo.continuous_actions[:, 0], goals)
    if action_sizes[1]:
        np.testing.assert_array_equal(demo.discrete_actions[:, 0], goals > 0)
        assert demo.action_masks is not None and not demo.action_masks.any()

    # Writing what was read gives back the same bytes.
    copy = tmp_path / "copy" / "walker.demo"
    copy.parent.mkdir()
    write_demonstration(copy, demo)
    assert copy.read_bytes() == path.read_bytes()
    assert path.read_bytes()[INITIAL_POS - 1] == 0  # the header is padded up to the body
