"""ML-Agents' BaseEnv interface over our environments, as scripts against mlagents_envs use it."""

from __future__ import annotations

import numpy as np
import pytest

from mlagents_fast.envs.base_env import BaseEnv, DecisionSteps, TerminalSteps
from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.testing.native import make_multi_agent
from mlagents_fast.spec import ActionError, ActionTuple


def test_decision_and_terminal_steps_follow_ml_agents() -> None:
    env = BaseEnv(NativeVectorEnv("Basic", 3))
    env.reset()
    (name,) = env.behavior_specs
    decisions, terminals = env.get_steps(name)
    assert len(decisions) == 3 and len(terminals) == 0
    assert list(decisions) == [0, 1, 2] and decisions.agent_id_to_index == {0: 0, 1: 1, 2: 2}
    assert decisions.action_mask is not None and decisions.action_mask[0].shape == (3, 3)
    step = decisions[1]
    assert step.agent_id == 1 and step.obs[0][10] == 1.0 and step.group_id == 0
    for moved in range(1, 8):
        env.set_actions(name, ActionTuple(np.zeros((3, 0), np.float32), np.full((3, 1), 2, np.int32)))
        env.step()
        decisions, terminals = env.get_steps(name)
        if moved < 7:
            assert len(terminals) == 0
    # Seven steps right reach the large goal: each agent is in TerminalSteps (old episode)
    # and DecisionSteps (the new one) of the same step.
    assert len(terminals) == 3 and set(terminals) == set(decisions)
    ended = terminals[2]
    assert ended.reward == pytest.approx(0.99) and not ended.interrupted and ended.obs[0][17] == 1.0
    assert decisions[2].obs[0][10] == 1.0  # the new episode starts at 10
    with pytest.raises(KeyError, match="agent_id 9"):
        decisions[9]


def test_interrupted_and_set_action_for_agent() -> None:
    env = BaseEnv(NativeVectorEnv("CartPole", 2, seed=1))
    env.reset()
    for _ in range(600):
        decisions, _ = env.get_steps("CartPole")
        for agent in decisions:
            x, x_dot, theta, theta_dot = decisions[agent].obs[0]
            push = int(theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot > 0)
            env.set_action_for_agent("CartPole", agent, ActionTuple(np.zeros((1, 0), np.float32),
                                                                    np.array([[push]], np.int32)))  # fmt: skip
        env.step()
        _, terminals = env.get_steps("CartPole")
        if len(terminals):
            break
    assert len(terminals) == 2 and terminals.interrupted.all()


def test_bad_actions_and_empty_steps() -> None:
    env = BaseEnv(NativeVectorEnv("3DBall", 1))
    spec = env.behavior_specs["3DBall"]
    with pytest.raises(ActionError, match=r"continuous actions of shape \(12, 2\)"):
        env.set_actions("3DBall", ActionTuple(np.zeros((12, 3), np.float32), np.zeros((12, 0), np.int32)))
    with pytest.raises(ActionError, match="no agent with id 99"):
        env.set_action_for_agent("3DBall", 99, spec.action_spec.empty_action(1))
    with pytest.raises(KeyError, match="has no behavior 'Ball'"):
        env.get_steps("Ball")
    assert len(DecisionSteps.empty(spec)) == 0 and len(TerminalSteps.empty(spec)) == 0


def _discrete(choices: list[int]) -> ActionTuple:
    return ActionTuple(np.zeros((len(choices), 0), np.float32), np.array(choices, np.int32)[:, None])


def test_final_reward_is_only_in_terminal_steps() -> None:
    # ML-Agents: the new episode's first DecisionStep carries reward 0; the final reward is
    # in TerminalSteps only, so a script summing both counts it once.
    env = BaseEnv(NativeVectorEnv("Basic", 3))
    env.reset()
    (name,) = env.behavior_specs
    for _ in range(7):  # agents 0 and 1 walk right to the large goal; agent 2 stays
        env.set_actions(name, _discrete([2, 2, 0]))
        env.step()
    decisions, terminals = env.get_steps(name)
    assert set(terminals) == {0, 1}
    assert terminals[0].reward == pytest.approx(0.99) and terminals[1].reward == pytest.approx(0.99)
    assert decisions[0].reward == 0.0 and decisions[1].reward == 0.0
    assert list(decisions.reward) == pytest.approx([0.0, 0.0, -0.01])
    # The stepper's own arrays keep the final reward: trainers read it there.
    assert list(env.env.batch(name).reward) == pytest.approx([0.99, 0.99, -0.01])
    env.set_actions(name, _discrete([0, 0, 0]))
    env.step()
    decisions, terminals = env.get_steps(name)
    assert len(terminals) == 0 and list(decisions.reward) == pytest.approx([-0.01] * 3)


def test_final_group_reward_is_only_in_terminal_steps() -> None:
    env = BaseEnv(make_multi_agent(2, seed=3))
    env.reset()
    (name,) = env.behavior_specs
    for _ in range(20):
        decisions, _ = env.get_steps(name)
        goals = decisions.obs[0][:, :1]  # every observation holds the agent's goal (-1 or +1)
        env.set_actions(name, ActionTuple(goals.astype(np.float32), np.zeros((len(goals), 0), np.int32)))
        env.step()
        decisions, terminals = env.get_steps(name)
        if any(terminals[agent].group_reward != 0.0 for agent in terminals):
            break
    ended = [agent for agent in terminals if terminals[agent].group_reward != 0.0]
    assert ended, "no group finished its episode"
    for agent in ended:
        assert terminals[agent].group_reward == pytest.approx(1.06)
        assert decisions[agent].group_reward == 0.0 and decisions[agent].reward == 0.0


def test_agents_that_sit_out_ask_for_no_decision() -> None:
    """MultiAgentEnvironment's early finishers wait for their group: ML-Agents leaves them out of
    DecisionSteps, and set_actions takes one row per agent that asks."""
    env = BaseEnv(make_multi_agent(2, seed=3))
    env.reset()
    (name,) = env.behavior_specs
    decisions, _ = env.get_steps(name)
    everyone = set(decisions.agent_id.tolist())
    speeds = np.array([[1.0], [0.1]] * (len(everyone) // 2), np.float32)  # one agent of each group dawdles
    for _ in range(6):
        decisions, _ = env.get_steps(name)
        asked = set(decisions.agent_id.tolist())
        if asked != everyone:
            break
        goals = decisions.obs[0][:, :1]
        env.set_actions(name, ActionTuple(goals * speeds, np.zeros((len(goals), 0), np.int32)))
        env.step()
    waiting = everyone - asked
    assert waiting and all(agent % 2 == 0 for agent in waiting)  # the fast ones finished and wait
    assert len(decisions) == len(asked) and len(decisions.obs[0]) == len(asked)
    with pytest.raises(ActionError):
        env.set_actions(
            name, ActionTuple(np.zeros((len(everyone), 1), np.float32), np.zeros((len(everyone), 0), np.int32))
        )
    env.set_actions(name, ActionTuple(np.zeros((len(asked), 1), np.float32), np.zeros((len(asked), 0), np.int32)))
