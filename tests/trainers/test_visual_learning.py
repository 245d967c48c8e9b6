"""Every visual encoder learns, with PPO and SAC: ML-Agents' test_visual_* and
test_visual_advanced_* scenarios (SimpleEnvironment seeing only cameras), at the encoders'
minimum resolutions and ML-Agents' budgets and thresholds (the mean of the last 5 episodes).

- test_visual_ppo / sac: the `simple` encoder on one or two 3 x 20 x 20 cameras, step size 0.2,
  learning rate 3e-4 (SAC: batch 16), the test configurations' 3000 / 1000 steps; above 0.9.
  `fully_connected` (no ML-Agents scenario) is held to the same, on the same cameras.
- test_visual_advanced_ppo / sac: resnet and nature_cnn on 3 x 36 x 36, match3 on 5 x 5 x 5,
  step size 0.5, learning rate 3e-4, 900 PPO / 100 SAC steps (SAC from the first step:
  buffer_init_steps 0); above 0.5.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlagents_fast.envs.registry import make
from mlagents_fast.trainers.ppo import PPOTrainer
from mlagents_fast.trainers.sac.trainer import SACTrainer
from tests.trainers.test_ppo_learning import ML_AGENTS_PPO_TEST_CONFIG
from tests.trainers.test_sac_learning import ML_AGENTS_SAC_TEST_CONFIG
from tests.trainers.training import last5, train_behaviors

pytestmark = pytest.mark.learning

BEHAVIOR = "SimpleEnvironment"
SIZES = {"simple": (3, 20, 20), "fully_connected": (3, 20, 20), "resnet": (3, 36, 36), "nature_cnn": (3, 36, 36),
         "match3": (5, 5, 5)}  # fmt: skip


def config_for(trainer: str, encoder: str = "simple", hyper_changes: dict[str, Any] | None = None,
               **changes: Any) -> dict[str, Any]:  # fmt: skip
    base = ML_AGENTS_PPO_TEST_CONFIG if trainer == "ppo" else ML_AGENTS_SAC_TEST_CONFIG
    hyper = {**base["hyperparameters"], "learning_rate": 3e-4, **(hyper_changes or {})}
    if trainer == "sac":
        hyper["batch_size"] = 16
    network = {**base["network_settings"], "vis_encode_type": encoder}
    return {**base, "hyperparameters": hyper, "network_settings": network, **changes}


def train(trainer: str, config: dict[str, Any], **env_options: Any) -> list[float]:
    env = make(BEHAVIOR, 1, seed=1337, num_vector=0, **env_options)
    factory = PPOTrainer if trainer == "ppo" else SACTrainer
    returns, _ = train_behaviors(factory, env, {BEHAVIOR: config}, seed=1337)
    return returns[BEHAVIOR]


@pytest.mark.parametrize("trainer", ["ppo", "sac"])
@pytest.mark.parametrize("num_visual", [1, 2])
@pytest.mark.parametrize("action_sizes", [(0, 1), (1, 0)], ids=["discrete", "continuous"])
@pytest.mark.parametrize("encoder", ["simple", "fully_connected"])
def test_visual(trainer: str, num_visual: int, action_sizes: tuple[int, int], encoder: str) -> None:
    returns = train(trainer, config_for(trainer, encoder), num_visual=num_visual, action_sizes=action_sizes,
                    step_size=0.2, vis_obs_size=SIZES[encoder])  # fmt: skip
    assert last5(returns) > 0.9


@pytest.mark.parametrize("trainer", ["ppo", "sac"])
@pytest.mark.parametrize("num_visual", [1, 2])
@pytest.mark.parametrize("encoder", ["resnet", "nature_cnn", "match3"])
def test_visual_advanced(trainer: str, num_visual: int, encoder: str) -> None:
    budget = {"max_steps": 900 if trainer == "ppo" else 100, "summary_freq": 100}
    config = config_for(trainer, encoder, {"buffer_init_steps": 0} if trainer == "sac" else {}, **budget)
    returns = train(trainer, config, num_visual=num_visual, action_sizes=(0, 1), step_size=0.5,
                    vis_obs_size=SIZES[encoder])  # fmt: skip
    assert last5(returns) > 0.5
