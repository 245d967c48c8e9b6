"""What a PPOTrainer keeps and restores: inference leaves the policy and its normalizer as
they are, and a checkpoint loads back into exactly the policy that was saved."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.envs.registry import make
from mlagents_fast.envs.vector import VectorEnv
from mlagents_fast.trainers.ppo import PPOTrainer

CONFIG = {
    "trainer_type": "ppo",
    # Trajectories of 5 steps: 12 agents finish 60 steps every 5, so the first update (more than
    # 100 finished steps) comes after 10 steps, the next after 20.
    "time_horizon": 5,
    "hyperparameters": {"batch_size": 32, "buffer_size": 100},
    "network_settings": {"hidden_units": 16, "num_layers": 1, "normalize": True},
}


def drained(trainer: PPOTrainer) -> dict[str, list[float]]:
    """The trainer's stats since the last call, by name."""
    return {stat.key: stat.values for stat in trainer.drain_stats()}


def trainer_for(env: VectorEnv, training: bool = True) -> PPOTrainer:
    settings: Any = run_options_from_dict({"behaviors": {"3DBall": CONFIG}}, "test").behaviors["3DBall"]
    return PPOTrainer("3DBall", env.behavior_specs["3DBall"], settings, env.num_agents("3DBall"), seed=3,
                      training=training)  # fmt: skip


def run_steps(trainer: PPOTrainer, env: VectorEnv, steps: int) -> None:
    for _ in range(steps):
        trainer.act(env.batch("3DBall"), env.actions("3DBall"))
        env.step()
        trainer.record(env.batch("3DBall"))


def snapshot(trainer: PPOTrainer) -> dict[str, Any]:
    state = trainer.state_dict()
    return {"actor": {k: v.clone() for k, v in state["Policy"].items()},
            "critic": {k: v.clone() for k, v in state["Optimizer:critic"].items()},
            "normalizer": {k: v.clone() for k, v in state["normalizer:obs_0"].items()}}  # fmt: skip


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_inference_moves_neither_the_policy_nor_its_normalizer() -> None:
    env = make("3DBall", 1, seed=0)
    trained = trainer_for(env)
    run_steps(trained, env, 25)  # two updates: weights and statistics away from their start
    player = trainer_for(env, training=False)
    player.load_state_dict(trained.state_dict())
    before = snapshot(player)
    run_steps(player, env, 25)
    after = snapshot(player)
    for part in before:
        assert_same(before[part], after[part])


def test_a_checkpoint_loads_back_into_the_policy_that_was_saved() -> None:
    """Saved between updates, when the running statistics are ahead of those the policy acts with
    (and that its ONNX bakes in): the loaded policy is the saved one, not a mix."""
    env = make("3DBall", 1, seed=0)
    trainer = trainer_for(env)
    run_steps(trainer, env, 15)  # one update after step 10, then 5 more steps
    saved = trainer.state_dict()
    running_mean = saved["normalizer:obs_0"]
    acting_mean = saved["Policy"]["network_body.processors.0.running_mean"]
    assert not np.allclose(running_mean["mean"].numpy(), acting_mean.numpy())  # the case this test is about
    restored = trainer_for(env)
    restored.load_state_dict(saved)
    assert_same(snapshot(trainer)["actor"], snapshot(restored)["actor"])
    assert_same(snapshot(trainer)["normalizer"], snapshot(restored)["normalizer"])


def test_initializing_from_a_checkpoint_keeps_the_step_at_zero() -> None:
    """--initialize-from loads networks, normalizer and optimizer (ML-Agents loads every module),
    and starts counting steps, so the schedules, from zero."""
    env = make("3DBall", 1, seed=0)
    source = trainer_for(env)
    run_steps(source, env, 25)
    saved = source.state_dict()
    derived = trainer_for(env)
    derived.load_state_dict(saved, reset_step=True)
    assert derived.step == 0 and source.step == 300
    assert_same(saved["Policy"], derived.state_dict()["Policy"])
    optimizer = derived.state_dict()["Optimizer:value_optimizer"]
    for key, value in saved["Optimizer:value_optimizer"].items():
        assert torch.equal(torch.as_tensor(value), torch.as_tensor(optimizer[key])), key


def test_steps_before_the_first_update_act_with_the_normalizer_prior() -> None:
    """As ML-Agents, whose networks see a trajectory's statistics only once it is processed: the
    steps before the first update are normalized with the prior (mean 0, variance 1), not with
    its first step."""
    env = make("3DBall", 1, seed=0)
    trainer = trainer_for(env)
    run_steps(trainer, env, 3)
    body = trainer.acting_actor.network_body.processors[0]
    assert torch.equal(body.running_mean, torch.zeros(8)) and torch.equal(body.running_variance, torch.ones(8))
    assert int(trainer.normalizer.statistics[0].state_dict()["count"]) == 1 + 3 * 12  # the statistics still gather
    run_steps(trainer, env, 8)  # past the first update (after 10 steps of 12 agents)
    assert not torch.equal(body.running_mean, torch.zeros(8))


def test_group_rewards_reach_the_extrinsic_signal() -> None:
    """ML-Agents' extrinsic signal pays each agent its reward plus its group's; Policy/Extrinsic
    Reward reports what the signal paid over each episode."""
    env = make("MultiAgentEnvironment", 1, seed=0)
    (behavior,) = env.behavior_specs
    config = {"trainer_type": "ppo", "hyperparameters": {"batch_size": 100, "buffer_size": 1000}}
    settings: Any = run_options_from_dict({"behaviors": {behavior: config}}, "test").behaviors[behavior]
    trainer = PPOTrainer(behavior, env.behavior_specs[behavior], settings, env.num_agents(behavior), seed=0)
    paid_by_group = 0.0
    for _ in range(400):
        trainer.act(env.batch(behavior), env.actions(behavior))
        env.step()
        batch = env.batch(behavior)
        trainer.record(batch)
        expected = batch.reward + batch.group_reward
        last_row = (trainer.rollout.ring.written - 1) % trainer.rollout.ring.ring_steps
        np.testing.assert_array_equal(trainer.buffer["rewards"][0, last_row], expected)
        paid_by_group += float(np.abs(batch.group_reward).sum())
    assert paid_by_group > 0  # the case this test is about did happen
    assert drained(trainer)["Policy/Extrinsic Reward"]


def test_episode_length_is_counted_as_ml_agents_does() -> None:
    """ML-Agents' AgentProcessor counts an episode's decisions after the first: Basic walked
    straight to the near goal takes 7 actions and reports 6."""
    env = make("Basic", 1, seed=0)
    settings: Any = run_options_from_dict({"behaviors": {"Basic": {"trainer_type": "ppo"}}}, "test").behaviors["Basic"]
    trainer = PPOTrainer("Basic", env.behavior_specs["Basic"], settings, 1, seed=0)
    for _ in range(14):
        trainer.act(env.batch("Basic"), env.actions("Basic"))
        env.actions("Basic").discrete[...] = 2  # always towards the near goal
        env.step()
        trainer.record(env.batch("Basic"))
    assert drained(trainer)["Environment/Episode Length"] == [6, 6]


def test_value_estimate_is_averaged_per_trajectory_as_ml_agents() -> None:
    """ML-Agents adds one Value Estimate per processed trajectory: the mean over its steps."""
    from mlagents_fast.trainers.ppo.update import trajectory_means

    values = np.arange(14, dtype=np.float32).reshape(2, 7)  # [S=2, M=7]: trajectories of 2, 1, 3 and 1 steps
    closes = np.array([False, True, True, False, False, True, False])  # the last step closes in any case
    expected = [[v[0:2].mean(), v[2:3].mean(), v[3:6].mean(), v[6:7].mean()] for v in values]
    np.testing.assert_allclose(trajectory_means(values, closes), expected)
    assert trajectory_means(values[:, :0], closes[:0]).shape == (2, 0)


def test_value_estimates_are_reported_without_training() -> None:
    """--inference: no update ever runs, but the trajectories still report their
    value estimates, as ML-Agents reports every trajectory it processes."""
    env = make("3DBall", 1, seed=0)
    player = trainer_for(env, training=False)
    run_steps(player, env, 25)  # reported where the updates would be, after steps 10 and 20
    estimates = drained(player)["Policy/Extrinsic Value Estimate"]
    assert len(estimates) >= 2 * 12 and all(np.isfinite(estimates))


def test_trajectory_means_match_a_plain_loop() -> None:
    from mlagents_fast.trainers.ppo.update import trajectory_means

    rng = np.random.default_rng(7)
    for _ in range(50):
        steps = int(rng.integers(1, 30))
        values = rng.normal(size=(2, steps)).astype(np.float32)
        closes = rng.random(steps) < 0.3
        expected: list[list[float]] = [[], []]
        run: list[int] = []
        for step in range(steps):
            run.append(step)
            if closes[step] or step == steps - 1:
                for s in range(2):
                    expected[s].append(float(np.mean([values[s, k] for k in run], dtype=np.float64)))
                run = []
        np.testing.assert_allclose(trajectory_means(values, closes), np.array(expected).reshape(2, -1))


def test_trajectory_means_refuses_mismatched_inputs() -> None:
    from mlagents_fast import _native

    values = np.zeros((1, 4), np.float32)
    with pytest.raises(ValueError, match="'closes'"):
        _native.trajectory_means(values, np.zeros(3, bool))
    with pytest.raises(ValueError, match=r"'closes'.*bool or uint8"):
        _native.trajectory_means(values, np.zeros(4, np.int32))
    with pytest.raises(ValueError, match=r"'values'.*float32"):
        _native.trajectory_means(values.astype(np.float64), np.zeros(4, bool))
