"""PPO learns: seeded CPU runs that must reach ML-Agents' test-suite thresholds.

SimpleEnvironment runs use ML-Agents' own PPO test configuration (learning rate 5e-3
constant, batch 16, buffer 64, one layer of 32 units, 3000 steps) and its success
measure: the mean of the last 5 episode returns above 0.9.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.envs.registry import make
from mlagents_fast.envs.vector import VectorEnv
from mlagents_fast.trainers.ppo import PPOTrainer
from tests.trainers.training import last5, train_behaviors

pytestmark = pytest.mark.learning

ML_AGENTS_PPO_TEST_CONFIG: dict[str, Any] = {
    "trainer_type": "ppo",
    "hyperparameters": {"learning_rate": 5.0e-3, "learning_rate_schedule": "constant", "batch_size": 16,
                        "buffer_size": 64},
    "network_settings": {"num_layers": 1, "hidden_units": 32},
    "summary_freq": 500,
    "max_steps": 3000,
}  # fmt: skip


def drained(trainer: PPOTrainer) -> dict[str, list[float]]:
    """The trainer's stats since the last call, by name."""
    return {stat.key: stat.values for stat in trainer.drain_stats()}


def settings(behaviors: dict[str, dict[str, Any]]) -> Any:
    return run_options_from_dict({"behaviors": behaviors}, "test").behaviors


def train(env: VectorEnv, behaviors: dict[str, dict[str, Any]], seed: int = 1337) -> dict[str, list[float]]:
    """Train every behavior of `env` to its max_steps; returns each behavior's episode returns."""
    return train_behaviors(PPOTrainer, env, behaviors, seed)[0]


@pytest.mark.parametrize("action_sizes", [(1, 0), (0, 1)], ids=["continuous", "discrete"])
def test_simple_ppo(action_sizes: tuple[int, int]) -> None:
    env = make("SimpleEnvironment", 1, seed=1337, action_sizes=action_sizes)
    returns = train(env, {"SimpleEnvironment": ML_AGENTS_PPO_TEST_CONFIG})
    assert last5(returns["SimpleEnvironment"]) > 0.9


@pytest.mark.parametrize("action_sizes", [(0, 2), (2, 0)], ids=["discrete", "continuous"])
def test_2d_ppo(action_sizes: tuple[int, int]) -> None:
    """ML-Agents' test_2d_ppo: step 0.8, batch 64, buffer 640, 10k steps."""
    env = make("SimpleEnvironment", 1, seed=1337, action_sizes=action_sizes, step_size=0.8)
    config = {**ML_AGENTS_PPO_TEST_CONFIG, "max_steps": 10000,
              "hyperparameters": {**ML_AGENTS_PPO_TEST_CONFIG["hyperparameters"], "batch_size": 64,
                                  "buffer_size": 640}}  # fmt: skip
    returns = train(env, {"SimpleEnvironment": config})
    assert last5(returns["SimpleEnvironment"]) > 0.9


def test_two_behaviors_at_once() -> None:
    env = make("SimpleEnvironment", 1, seed=1337, brain_names=["First", "Second"], action_sizes=(0, 1))
    returns = train(env, {"First": ML_AGENTS_PPO_TEST_CONFIG, "Second": ML_AGENTS_PPO_TEST_CONFIG})
    assert last5(returns["First"]) > 0.9 and last5(returns["Second"]) > 0.9


def test_basic_learns() -> None:
    config = {"trainer_type": "ppo", "max_steps": 24000, "time_horizon": 3,
              "hyperparameters": {"batch_size": 32, "buffer_size": 256, "learning_rate": 3e-4, "beta": 5e-3},
              "network_settings": {"num_layers": 1, "hidden_units": 20},
              "reward_signals": {"extrinsic": {"gamma": 0.9}}}  # fmt: skip
    returns = train(make("Basic", 8, seed=3), {"Basic": config})
    assert np.mean(returns["Basic"][-20:]) > 0.9


def test_cartpole_learns() -> None:
    """The shipped CartPole settings (rl-zoo's, with the extrinsic strength of 0.05) within their
    100k-step budget: the mean of 20 consecutive episodes gets above 475."""
    config = {"trainer_type": "ppo", "max_steps": 100000, "time_horizon": 32,
              "hyperparameters": {"batch_size": 256, "buffer_size": 256, "learning_rate": 1e-3, "beta": 0.0,
                                  "lambd": 0.8, "num_epoch": 20},
              "network_settings": {"num_layers": 2, "hidden_units": 64},
              "reward_signals": {"extrinsic": {"gamma": 0.98, "strength": 0.05}}}  # fmt: skip
    returns = train(make("CartPole", 8, seed=1), {"CartPole": config}, seed=1)["CartPole"]
    assert len(returns) >= 20
    assert np.convolve(returns, np.ones(20) / 20, mode="valid").max() > 475


def test_hybrid_actions_ppo() -> None:
    """One continuous action and one discrete branch at once (ML-Agents' test_hybrid_ppo settings)."""
    env = make("SimpleEnvironment", 1, seed=1337, action_sizes=(1, 1))
    config = {**ML_AGENTS_PPO_TEST_CONFIG, "max_steps": 10000,
              "hyperparameters": {**ML_AGENTS_PPO_TEST_CONFIG["hyperparameters"], "batch_size": 64,
                                  "buffer_size": 1024, "learning_rate": 1e-2}}  # fmt: skip
    returns = train(env, {"SimpleEnvironment": config})
    assert last5(returns["SimpleEnvironment"]) > 0.9


def test_shared_critic_ppo() -> None:
    env = make("SimpleEnvironment", 1, seed=1337, action_sizes=(0, 1))
    config = {**ML_AGENTS_PPO_TEST_CONFIG,
              "hyperparameters": {**ML_AGENTS_PPO_TEST_CONFIG["hyperparameters"], "shared_critic": True}}  # fmt: skip
    returns = train(env, {"SimpleEnvironment": config})
    assert last5(returns["SimpleEnvironment"]) > 0.9


def test_threaded_ppo_overlaps_and_learns() -> None:
    """`threaded: true` updates on a background thread while the next rollout is collected."""
    env = make("SimpleEnvironment", 1, seed=1337, action_sizes=(0, 1))
    returns = train(env, {"SimpleEnvironment": {**ML_AGENTS_PPO_TEST_CONFIG, "threaded": True}})
    assert last5(returns["SimpleEnvironment"]) > 0.9


def test_threaded_trainer_acts_one_update_behind() -> None:
    env = make("Basic", 1, seed=0)
    config = settings(
        {"Basic": {"trainer_type": "ppo", "threaded": True, "time_horizon": 4,
                   "hyperparameters": {"batch_size": 8, "buffer_size": 16}}}
    )["Basic"]  # fmt: skip
    trainer = PPOTrainer("Basic", env.behavior_specs["Basic"], config, 1, seed=0)
    assert trainer.acting_actor is not trainer.actor
    for _ in range(40):  # until more than 16 steps of finished trajectories go to the update thread
        trainer.act(env.batch("Basic"), env.actions("Basic"))
        if trainer._background.pending is not None:
            break
        env.step()
        trainer.record(env.batch("Basic"))
    assert trainer._background.pending is not None
    trainer.wait_for_update()
    for acting, learning in zip(trainer.acting_actor.parameters(), trainer.actor.parameters(), strict=True):
        assert torch.equal(acting, learning)
    assert "Losses/Policy Loss" in drained(trainer)
    trainer.close()
