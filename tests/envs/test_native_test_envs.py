"""ML-Agents' test environments, native: parity with the Python classes (their reference),
specs, seeds, threads, groups, the optimal policy, options and the demonstration recorder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlagents_fast.envs import registry
from mlagents_fast.envs.composite import CompositeVectorEnv
from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.parameters import EnvironmentParameters, parse_sampler
from mlagents_fast.envs.testing.game import SUCCESS_REWARD, TIME_PENALTY
from mlagents_fast.envs.testing.multi_agent import GROUP_ID, MultiAgentEnvironment
from mlagents_fast.envs.testing.recorder import GoalFollower, record_demonstrations
from mlagents_fast.envs.testing.simple import MemoryEnvironment, SimpleEnvironment
from mlagents_fast.envs.vector import StepBatch, VectorEnv
from mlagents_fast.spec import ActionError, ActionTuple

REFERENCE = {
    "SimpleEnvironment": SimpleEnvironment,
    "MemoryEnvironment": MemoryEnvironment,
    "MultiAgentEnvironment": MultiAgentEnvironment,
}

VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "continuous": ("SimpleEnvironment", {"action_sizes": (1, 0)}),
    "discrete": ("SimpleEnvironment", {"action_sizes": (0, 1)}),
    "hybrid": ("SimpleEnvironment", {"action_sizes": (1, 1)}),
    "2d-continuous-long-steps": ("SimpleEnvironment", {"action_sizes": (2, 0), "step_size": 0.8}),
    "2d-discrete-long-steps": ("SimpleEnvironment", {"action_sizes": (0, 2), "step_size": 0.8}),
    "visual-var-len-goal": (
        "SimpleEnvironment",
        {"num_visual": 2, "num_var_len": 1, "vec_obs_size": 3, "vis_obs_size": (3, 8, 6), "goal_indices": [1]},
    ),
    "visual-only": ("SimpleEnvironment", {"num_vector": 0, "num_visual": 1, "action_sizes": (0, 1)}),
    "two-behaviors": ("SimpleEnvironment", {"brain_names": ["First", "Second"], "action_sizes": (1, 1)}),
    "memory": ("MemoryEnvironment", {}),
    "memory-discrete": ("MemoryEnvironment", {"action_sizes": (0, 1), "num_show_steps": 3}),
    "multi-agent": ("MultiAgentEnvironment", {"num_agents": 3, "action_sizes": (1, 1)}),
    "multi-agent-two-behaviors": ("MultiAgentEnvironment", {"brain_names": ["A", "B"], "action_sizes": (0, 1)}),
    "multi-agent-one-agent": ("MultiAgentEnvironment", {"num_agents": 1}),
    # the environment parameter `step_size` (a curriculum's lessons set it), and one that is not
    # a positive number (the option's step size stays)
    "step-size-parameter": ("SimpleEnvironment", {"action_sizes": (1, 1), "parameters": {"step_size": 0.45}}),
    "memory-step-size-parameter": ("MemoryEnvironment", {"action_sizes": (2, 0), "parameters": {"step_size": 0.7}}),
    "invalid-step-size-parameter": ("SimpleEnvironment", {"parameters": {"step_size": -1.0}}),
}


Copies = list[tuple[Any, dict[str, StepBatch]]]


def python_copies(name: str, kwargs: dict[str, Any], num_envs: int, seed: int) -> Copies:
    """The reference copies, each reset on its own rows, as the native copies are."""
    kwargs = dict(kwargs)
    brains = kwargs.pop("brain_names", [name])
    parameters = kwargs.pop("parameters", {})
    copies = []
    for c in range(num_envs):
        env = REFERENCE[name](brains, **kwargs, copy=c)
        env.set_parameters(EnvironmentParameters({k: parse_sampler(k, v) for k, v in parameters.items()}, c))
        out = {b: StepBatch.allocate(spec, env.agents_per_env[b]) for b, spec in env.behavior_specs.items()}
        env.reset(out, seed=seed)
        copies.append((env, out))
    return copies


def drifting_actions(actions: ActionTuple, rng: np.random.Generator) -> None:
    """Random actions, beyond ±step_size at times, that drift toward +1 so episodes end."""
    actions.continuous[:] = rng.uniform(-0.5, 0.9, actions.continuous.shape)
    actions.discrete[:] = rng.random(actions.discrete.shape) < 0.7


def assert_rows_equal(native: StepBatch, port: StepBatch, rows: slice) -> None:
    for ours, theirs in zip(native.obs, port.obs, strict=True):
        np.testing.assert_array_equal(ours[rows], theirs)
    np.testing.assert_array_equal(native.reward[rows], port.reward)
    np.testing.assert_array_equal(native.terminated[rows], port.terminated)
    np.testing.assert_array_equal(native.truncated[rows], port.truncated)
    np.testing.assert_array_equal(native.group_id[rows], port.group_id)
    np.testing.assert_array_equal(native.group_reward[rows], port.group_reward)
    assert native.absent is not None and port.absent is not None
    np.testing.assert_array_equal(native.absent[rows], port.absent)
    if native.action_mask is not None:
        assert port.action_mask is not None
        np.testing.assert_array_equal(native.action_mask[rows], port.action_mask)
    done = port.done
    np.testing.assert_array_equal(native.done[rows], done)
    for ours, theirs in zip(native.terminal_obs, port.terminal_obs, strict=True):
        np.testing.assert_array_equal(ours[rows][done], theirs[done])
    np.testing.assert_array_equal(native.episode_return[rows][done], port.episode_return[done])
    np.testing.assert_array_equal(native.episode_length[rows][done], port.episode_length[done])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_parity_with_python_reference(variant: str) -> None:
    """Every observation, reward, flag, mask, group id and group reward equals the Python classes'."""
    name, kwargs = VARIANTS[variant]
    num_envs, seed = 3, 21
    options = {key: value for key, value in kwargs.items() if key != "parameters"}
    native = registry.make(name, num_envs, seed=seed, parameters=kwargs.get("parameters"), **options)
    copies = python_copies(name, kwargs, num_envs, seed)
    assert dict(native.behavior_specs) == dict(copies[0][0].behavior_specs)
    rng = np.random.default_rng(5)
    ended = {behavior: 0 for behavior in native.behavior_specs}
    group_rewards = 0

    def compare() -> None:
        nonlocal group_rewards
        for behavior in native.behavior_specs:
            per = copies[0][0].agents_per_env[behavior]
            for c, (_, out) in enumerate(copies):
                assert_rows_equal(native.batch(behavior), out[behavior], slice(c * per, (c + 1) * per))
            ended[behavior] += int(native.batch(behavior).done.sum())
            group_rewards += int(np.count_nonzero(native.batch(behavior).group_reward))

    compare()
    for _ in range(120):
        for behavior in native.behavior_specs:
            drifting_actions(native.actions(behavior), rng)
        native.step()
        for c, (env, out) in enumerate(copies):
            actions = {}
            for behavior in native.behavior_specs:
                per = env.agents_per_env[behavior]
                mine, rows = native.actions(behavior), slice(c * per, (c + 1) * per)
                actions[behavior] = ActionTuple(mine.continuous[rows].copy(), mine.discrete[rows].copy())
            env.step(actions, out)
        compare()
    assert all(count > 5 for count in ended.values()), f"the comparison must cover auto-resets: {ended}"
    if name == "MultiAgentEnvironment":
        assert group_rewards > 3, "the comparison must cover group rewards"


def test_the_step_size_parameter_changes_the_game() -> None:
    """With a larger step size the same actions reach the ends sooner: more episodes end."""

    def episodes(parameters: dict[str, float] | None) -> int:
        env, rng, ended = (
            registry.make("SimpleEnvironment", 4, seed=3, parameters=parameters),
            np.random.default_rng(1),
            0,
        )
        for _ in range(60):
            drifting_actions(env.actions("SimpleEnvironment"), rng)
            env.step()
            ended += int(env.batch("SimpleEnvironment").done.sum())
        return ended

    assert episodes({"step_size": 0.9}) > 2 * episodes(None)


def trace(env: VectorEnv, steps: int = 60) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out: list[np.ndarray] = []
    for _ in range(steps):
        for behavior in env.behavior_specs:
            drifting_actions(env.actions(behavior), rng)
        env.step()
        for behavior in env.behavior_specs:
            batch = env.batch(behavior)
            out += [batch.obs[0].copy(), batch.reward.copy(), batch.group_reward.copy()]
    return out


@pytest.mark.parametrize("name", list(REFERENCE))
def test_seeded_deterministic_and_thread_count_blind(name: str) -> None:
    first = trace(registry.make(name, 8, seed=4))
    for a, b in zip(first, trace(registry.make(name, 8, seed=4, num_threads=2)), strict=True):
        np.testing.assert_array_equal(a, b)
    other = trace(registry.make(name, 8, seed=5))
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_behaviors_draw_different_goals_and_copies_too() -> None:
    env = registry.make("SimpleEnvironment", 16, seed=0, brain_names=["A", "B"])
    assert isinstance(env, CompositeVectorEnv)
    a, b = env.batch("A").obs[0][:, 0], env.batch("B").obs[0][:, 0]
    assert set(a.tolist()) == {-1.0, 1.0} and not np.array_equal(a, b)


def test_registry_returns_native_environments_with_the_python_names() -> None:
    names = registry.registered_names()
    for name in REFERENCE:
        assert name in names
        env = registry.make(name)
        assert isinstance(env, NativeVectorEnv) and list(env.behavior_specs) == [name]
    env = registry.make("SimpleEnvironment", brain_names=["Walker"])
    assert isinstance(env, NativeVectorEnv) and list(env.behavior_specs) == ["Walker"]


@pytest.mark.parametrize("name", list(REFERENCE))
def test_optimal_policy_reaches_the_benchmark_reward(name: str) -> None:
    """The scripted policy (full steps toward the goal it saw) earns ML-Agents' success reward."""
    env = registry.make(name, 4, seed=2, action_sizes=(1, 1))
    follow = GoalFollower()
    behavior = next(iter(env.behavior_specs))
    batch = env.batch(behavior)
    returns: list[float] = []
    group_rewards: list[float] = []
    for _ in range(40):
        follow(env, behavior)
        env.step()
        returns += batch.episode_return[batch.done].tolist()
        group_rewards += batch.group_reward[batch.group_reward != 0].tolist()
    assert len(returns) >= 4 * 8
    if name == "MultiAgentEnvironment":
        # Both agents finish together: the first gets -TIME_PENALTY, the last carries the group reward.
        assert group_rewards == pytest.approx([SUCCESS_REWARD] * len(group_rewards), abs=1e-6)
        assert len(group_rewards) == len(returns) // 2
    else:
        assert returns == pytest.approx([SUCCESS_REWARD - 4 * TIME_PENALTY] * len(returns), abs=1e-5)


def test_multi_agent_groups_per_copy_and_waiting_agents() -> None:
    env = registry.make("MultiAgentEnvironment", 2, seed=0, num_agents=3)
    batch, actions = env.batch("MultiAgentEnvironment"), env.actions("MultiAgentEnvironment")
    np.testing.assert_array_equal(batch.group_id, [GROUP_ID] * 3 + [GROUP_ID + 1] * 3)
    goals = batch.obs[0][:, 0].copy()
    speeds = np.array([1.0, -1.0, 0.1] * 2, np.float32)  # full step, wrong way, slow
    for _ in range(5):
        actions.continuous[:, 0] = goals * speeds
        env.step()
    np.testing.assert_array_equal(batch.terminated, [True, True, False] * 2)
    np.testing.assert_allclose(batch.reward, [-TIME_PENALTY, -SUCCESS_REWARD, -TIME_PENALTY] * 2, rtol=1e-6)
    first_obs = batch.obs[0].copy()
    for _ in range(5):
        actions.continuous[:, 0] = goals * speeds  # ignored for the agents that wait
        env.step()
        waiting = np.array([True, True, False] * 2)
        if not batch.terminated.any():  # (the slow ones still on their way) the others ask for no decision
            np.testing.assert_array_equal(batch.absent, waiting)
        np.testing.assert_array_equal(batch.reward[waiting], 0.0)
        np.testing.assert_array_equal(batch.obs[0][waiting], first_obs[waiting])
    np.testing.assert_array_equal(batch.terminated, [False, False, True] * 2)
    np.testing.assert_allclose(batch.group_reward, [0.0, 0.0, SUCCESS_REWARD] * 2, rtol=1e-6)
    np.testing.assert_array_equal(batch.reward, 0.0)
    assert not batch.absent.any()  # the group finished: every agent plays again


def test_options_are_checked_and_named() -> None:
    with pytest.raises(ValueError, match="MemoryEnvironment has no option 'num_visual'"):
        NativeVectorEnv("MemoryEnvironment", num_visual=1)
    with pytest.raises(ValueError, match="'discrete_size' must be a whole number"):
        registry.make("SimpleEnvironment", action_sizes=(0, -1))
    with pytest.raises(ValueError, match="needs from 1 to 16 action dimensions"):
        registry.make("SimpleEnvironment", action_sizes=(0, 0))
    with pytest.raises(ValueError, match="at most 8 observations"):
        registry.make("SimpleEnvironment", num_vector=5, num_visual=4)
    with pytest.raises(ValueError, match="brain_names must be distinct"):
        registry.make("SimpleEnvironment", brain_names=["A", "A"])
    with pytest.raises(TypeError):
        registry.make("MemoryEnvironment", num_agents=3)


def test_bad_actions_name_the_behavior() -> None:
    env = registry.make("SimpleEnvironment", 2, brain_names=["First", "Second"], action_sizes=(1, 1))
    env.actions("Second").discrete[1, 0] = 2
    with pytest.raises(ActionError, match=r"'SimpleEnvironment', behavior 'Second'.*agent 1 on branch 0 is 2"):
        env.step()
    env.actions("Second").discrete[1, 0] = 1
    env.actions("First").continuous[0, 0] = np.nan
    with pytest.raises(ActionError, match=r"behavior 'First'.*finite"):
        env.step()


def test_parameters_are_ignored_with_a_warning_once() -> None:
    env = registry.make("SimpleEnvironment", brain_names=["A", "B"])
    with pytest.warns(UserWarning, match="does not read the parameter 'gravity'") as caught:
        env.set_parameters({"gravity": 3.0})
    assert len(caught) == 1


@pytest.mark.parametrize("action_sizes", [(1, 0), (0, 1), (1, 1)])
def test_recorder_writes_the_same_demonstration_from_native_and_python(
    tmp_path: Path, action_sizes: tuple[int, int]
) -> None:
    options: dict[str, Any] = {"num_visual": 1, "action_sizes": action_sizes, "goal_indices": [0]}
    native, python = tmp_path / "native" / "walker.demo", tmp_path / "python" / "walker.demo"
    native.parent.mkdir()
    python.parent.mkdir()
    made = registry.make("SimpleEnvironment", brain_names=["Walker"], **options)
    meta = record_demonstrations(made, 30, native, seed=3)
    python_meta = record_demonstrations(SimpleEnvironment(["Walker"], **options), 30, python, seed=3)
    assert meta == python_meta and (meta.number_steps, meta.number_episodes) == (30, 5)
    assert native.read_bytes() == python.read_bytes()


def test_recorder_remembers_the_hidden_goal_of_memory_environment(tmp_path: Path) -> None:
    meta = record_demonstrations(registry.make("MemoryEnvironment"), 24, tmp_path / "memory.demo", seed=1)
    assert meta.number_episodes == 4
    assert meta.mean_reward == pytest.approx(SUCCESS_REWARD - 4 * TIME_PENALTY)
