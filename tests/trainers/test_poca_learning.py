"""MA-POCA learns ML-Agents' test_simple_poca: MultiAgentEnvironment (two agents of one group, each
playing its own SimpleEnvironment game; an agent that finishes first sits out until the other has,
and the group's success reaches it only through the group), PPO's test configuration with
trainer_type poca, the mean of the last 5 agents' own game rewards above 0.9. And
test_var_len_obs_and_goal_poca (goal signal 0, one or two variable-length observations with or
without a vector and a camera, hypernetwork conditioning or none, 5000 steps at learning rate
3e-4): four of ML-Agents' 32 combinations, together covering every value of each setting."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlagents_fast.envs.python.inprocess import InProcessVectorEnv
from mlagents_fast.envs.testing.multi_agent import MultiAgentEnvironment
from mlagents_fast.trainers.poca import POCATrainer
from tests.trainers.test_ppo_learning import ML_AGENTS_PPO_TEST_CONFIG
from tests.trainers.training import train_behaviors

BEHAVIOR = "MultiAgentEnvironment"
POCA_TEST_CONFIG: dict[str, Any] = {**ML_AGENTS_PPO_TEST_CONFIG, "trainer_type": "poca"}


def train(action_sizes: tuple[int, int], config: dict[str, Any], **options: Any) -> tuple[list[float], POCATrainer]:
    made: list[MultiAgentEnvironment] = []

    def copy() -> MultiAgentEnvironment:
        made.append(MultiAgentEnvironment([BEHAVIOR], action_sizes=action_sizes, num_agents=2, seed=1337, **options))
        return made[-1]

    env = InProcessVectorEnv(copy, 1)
    try:
        env.reset(1337)
        _, trainers = train_behaviors(POCATrainer, env, {BEHAVIOR: config}, seed=1337)
    finally:
        env.close()
    return made[0].final_rewards[BEHAVIOR], trainers[BEHAVIOR]


@pytest.mark.learning
@pytest.mark.parametrize("action_sizes", [(0, 1), (1, 0)], ids=["discrete", "continuous"])
def test_simple_poca(action_sizes: tuple[int, int]) -> None:
    rewards, trainer = train(action_sizes, POCA_TEST_CONFIG)
    assert np.mean(rewards[-5:]) > 0.9
    stats = {stat.key for stat in trainer.drain_stats()}
    assert {"Losses/Baseline Loss", "Policy/Extrinsic Baseline Estimate",
            "Environment/Group Cumulative Reward"} <= stats  # fmt: skip


@pytest.mark.learning
@pytest.mark.parametrize(
    ("num_visual", "num_vector", "num_var_len", "conditioning", "action_sizes"),
    [(0, 0, 1, "hyper", (0, 1)), (0, 1, 2, "none", (1, 0)), (1, 1, 1, "hyper", (1, 0)), (1, 0, 2, "none", (0, 1))],
)
def test_var_len_obs_and_goal_poca(num_visual: int, num_vector: int, num_var_len: int, conditioning: str,
                                   action_sizes: tuple[int, int]) -> None:  # fmt: skip
    base = POCA_TEST_CONFIG
    config = {**base, "max_steps": 5000, "hyperparameters": {**base["hyperparameters"], "learning_rate": 3e-4},
              "network_settings": {**base["network_settings"], "goal_conditioning_type": conditioning}}  # fmt: skip
    rewards, _ = train(action_sizes, config, num_visual=num_visual, num_vector=num_vector, num_var_len=num_var_len,
                       step_size=0.2, goal_indices=[0])  # fmt: skip
    assert np.mean(rewards[-5:]) > 0.9
