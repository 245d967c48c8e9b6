"""ML-Agents' BaseEnv interface over our environments, as scripts against mlagents_envs use it."""

from __future__ import annotations

import numpy as np
import pytest

from mlagents_fast.envs.base_env import BaseEnv, DecisionSteps, TerminalSteps
from mlagents_fast.envs.native import NativeVectorEnv
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
