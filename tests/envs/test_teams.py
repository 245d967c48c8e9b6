"""Behaviors named `Name?team=<id>`: ML-Agents' behavior ids, and TeamsVectorEnv making the teams of
a name one behavior (one policy for every team, as ML-Agents' trainers have it without self-play)."""

from __future__ import annotations

import numpy as np
import pytest

from mlagents_fast.envs.registry import make
from mlagents_fast.envs.teams import BehaviorId, TeamsVectorEnv, team_groups
from mlagents_fast.trainers.ppo import PPOTrainer
from tests.trainers.test_ppo_learning import ML_AGENTS_PPO_TEST_CONFIG
from tests.trainers.training import last5, train_behaviors

TEAMS = ["test?team=0", "test?team=1"]


def test_behavior_ids_carry_their_team() -> None:
    assert BehaviorId.parse("Tennis?team=1") == BehaviorId("Tennis?team=1", "Tennis", 1)
    assert BehaviorId.parse("Soccer") == BehaviorId("Soccer", "Soccer", 0)
    with pytest.raises(ValueError, match=r"'Tennis\?team=blue'.*whole number"):
        BehaviorId.parse("Tennis?team=blue")


def test_the_teams_of_a_name_become_one_behavior() -> None:
    inner = make("SimpleEnvironment", 3, seed=2, brain_names=TEAMS, action_sizes=(0, 1))
    assert list(team_groups(inner.behavior_specs)) == ["test"]
    env = TeamsVectorEnv.wrap(inner)
    assert isinstance(env, TeamsVectorEnv) and list(env.behavior_specs) == ["test"]
    teams = env.teams("test")
    assert teams is not None and teams.tolist() == [0, 0, 0, 1, 1, 1]
    batch, actions = env.batch("test"), env.actions("test")
    np.testing.assert_array_equal(batch.obs[0][:3], inner.batch("test?team=0").obs[0])
    np.testing.assert_array_equal(batch.obs[0][3:], inner.batch("test?team=1").obs[0])
    actions.discrete[:] = [[1], [1], [1], [0], [0], [0]]
    env.step()
    np.testing.assert_array_equal(inner.actions("test?team=1").discrete, [[0], [0], [0]])
    np.testing.assert_array_equal(batch.obs[0][3:], inner.batch("test?team=1").obs[0])
    np.testing.assert_array_equal(batch.reward[:3], inner.batch("test?team=0").reward)
    plain = make("SimpleEnvironment", 1)
    assert TeamsVectorEnv.wrap(plain) is plain


@pytest.mark.learning
def test_teams_without_self_play_share_one_policy() -> None:
    """ML-Agents' test_simple_ppo scenario on two teams of one name: one trainer, both teams learn."""
    env = TeamsVectorEnv(make("SimpleEnvironment", 1, seed=1337, brain_names=TEAMS, action_sizes=(0, 1)))
    returns, _ = train_behaviors(PPOTrainer, env, {"test": ML_AGENTS_PPO_TEST_CONFIG}, seed=1337)
    assert last5(returns["test"]) > 0.9
