"""Variable-length observations learn through attention, with PPO and SAC: ML-Agents'
test_var_len_obs_and_goal_ppo (hypernetwork conditioning on goal signal 0; one or two
variable-length observations, with and without a vector and a camera; both action kinds: five
combinations covering every pair of settings; the test configuration's 3000 steps at learning
rate 3e-4) and test_var_len_obs_sac (one or two
variable-length observations alone; batch 16, learning rate 3e-4): the mean of the last 5
episodes above 0.9."""

from __future__ import annotations

import pytest

from mlagents_fast.envs.registry import make
from mlagents_fast.trainers.ppo import PPOTrainer
from mlagents_fast.trainers.sac.trainer import SACTrainer
from tests.trainers.test_ppo_learning import ML_AGENTS_PPO_TEST_CONFIG
from tests.trainers.test_sac_learning import ML_AGENTS_SAC_TEST_CONFIG
from tests.trainers.training import last5, train_behaviors

pytestmark = pytest.mark.learning

BEHAVIOR = "SimpleEnvironment"


# ML-Agents runs all 16 combinations; these 5 hold every pair of values of any two settings.
@pytest.mark.parametrize(
    ("num_visual", "num_vector", "num_var_len", "action_sizes"),
    [(0, 0, 1, (0, 1)), (0, 1, 2, (1, 0)), (1, 0, 2, (1, 0)), (1, 1, 1, (1, 0)), (1, 1, 2, (0, 1))],
)
def test_var_len_obs_and_goal_ppo(num_visual: int, num_vector: int, num_var_len: int,
                                  action_sizes: tuple[int, int]) -> None:  # fmt: skip
    env = make(BEHAVIOR, 1, seed=1337, action_sizes=action_sizes, num_visual=num_visual, num_vector=num_vector,
               num_var_len=num_var_len, step_size=0.2, goal_indices=[0])  # fmt: skip
    base = ML_AGENTS_PPO_TEST_CONFIG
    config = {**base, "hyperparameters": {**base["hyperparameters"], "learning_rate": 3e-4},
              "network_settings": {**base["network_settings"], "goal_conditioning_type": "hyper"}}  # fmt: skip
    returns, _ = train_behaviors(PPOTrainer, env, {BEHAVIOR: config}, seed=1337)
    assert last5(returns[BEHAVIOR]) > 0.9


@pytest.mark.parametrize("action_sizes", [(0, 1), (1, 0)], ids=["discrete", "continuous"])
@pytest.mark.parametrize("num_var_len", [1, 2])
def test_var_len_obs_sac(num_var_len: int, action_sizes: tuple[int, int]) -> None:
    env = make(BEHAVIOR, 1, seed=1337, action_sizes=action_sizes, num_visual=0, num_vector=0,
               num_var_len=num_var_len, step_size=0.2)  # fmt: skip
    base = ML_AGENTS_SAC_TEST_CONFIG
    config = {**base, "hyperparameters": {**base["hyperparameters"], "batch_size": 16, "learning_rate": 3e-4}}
    returns, _ = train_behaviors(SACTrainer, env, {BEHAVIOR: config}, seed=1337)
    assert last5(returns[BEHAVIOR]) > 0.9
