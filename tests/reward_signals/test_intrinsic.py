"""Curiosity and RND (reward_signals/curiosity.py, rnd.py) on PPO: their rewards and losses as
ML-Agents computes them, their stats, checkpoints, the per-episode totals an update sums, and
that each leads PPO to a sparse goal that extrinsic reward alone does not reach in the budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mlagents_fast.config import run_options_from_dict
from mlagents_fast.reward_signals import SignalUpdateBatch
from mlagents_fast.reward_signals.curiosity import CuriositySignal
from mlagents_fast.reward_signals.rnd import RNDSignal
from mlagents_fast.trainers.ppo.learned_rewards import episode_totals
from mlagents_fast.trainers.ppo.trainer import PPOTrainer
from tests.reward_signals.sparse_chain import BEHAVIOR, SparseChain

CHAIN = {"length": 40, "max_decisions": 60}
SMALL = {"network_settings": {"hidden_units": 32}}


def settings_for(signals: dict[str, Any], max_steps: int = 30000) -> Any:
    config = {"trainer_type": "ppo", "time_horizon": 64, "max_steps": max_steps,
              "network_settings": {"hidden_units": 32, "num_layers": 2},
              "hyperparameters": {"batch_size": 64, "buffer_size": 512, "learning_rate": 3e-3, "beta": 0.005,
                                  "learning_rate_schedule": "constant"},
              "reward_signals": {"extrinsic": {"gamma": 0.99}, **signals}}  # fmt: skip
    return run_options_from_dict({"behaviors": {BEHAVIOR: config}}, "test").behaviors[BEHAVIOR]


def train(signals: dict[str, Any], steps: int, seed: int = 2) -> tuple[PPOTrainer, list[float]]:
    env = SparseChain(16, **CHAIN)
    trainer = PPOTrainer(BEHAVIOR, env.behavior_specs[BEHAVIOR], settings_for(signals, steps), 16, seed=seed)
    batch, actions = env.batch(BEHAVIOR), env.actions(BEHAVIOR)
    returns: list[float] = []
    for _ in range(steps // 16):
        trainer.act(batch, actions)
        env.step()
        trainer.record(batch)
        returns.extend(batch.episode_return[batch.done].tolist())
    return trainer, returns


def test_extrinsic_reward_alone_never_reaches_the_sparse_goal() -> None:
    _, returns = train({}, 30000)
    assert sum(returns) == 0.0


@pytest.mark.parametrize(
    "signal",
    [{"curiosity": {"strength": 0.05, "learning_rate": 1e-3, **SMALL}},
     {"rnd": {"strength": 0.1, "learning_rate": 1e-3, **SMALL}}],
    ids=["curiosity", "rnd"],
)  # fmt: skip
def test_an_intrinsic_reward_leads_to_the_sparse_goal(signal: dict[str, Any]) -> None:
    trainer, returns = train(signal, 30000)
    assert np.mean(returns[-50:]) > 0.9  # the last 50 episodes reach the far end
    stats = {stat.key: stat.values for stat in trainer.drain_stats()}
    name = "Curiosity" if "curiosity" in signal else "Rnd"
    assert stats[f"Policy/{name} Reward"] and stats[f"Policy/{name} Value Estimate"]
    losses = ["Losses/Curiosity Forward Loss", "Losses/Curiosity Inverse Loss"] if name == "Curiosity" else [
        "Losses/RND Loss"]  # fmt: skip
    assert all(key in stats for key in losses)


def chain_batch(steps: int = 64, seed: int = 0) -> SignalUpdateBatch:
    rng = np.random.default_rng(seed)
    position = rng.integers(0, 41, steps)
    move = rng.integers(0, 3, steps)
    after = np.clip(position + np.where(move == 2, 1, np.where(move == 1, -1, 0)), 0, 40)
    obs, next_obs = np.eye(41, dtype=np.float32)[position], np.eye(41, dtype=np.float32)[after]
    ends = np.zeros(steps, np.bool_)
    return SignalUpdateBatch([obs], None, move[:, None].astype(np.int32), ends, [next_obs], ends)


def chain_spec() -> Any:
    return SparseChain(1, **CHAIN).behavior_specs[BEHAVIOR]


def test_curiosity_rewards_and_losses_are_ml_agents() -> None:
    settings = settings_for({"curiosity": {"strength": 0.5, **SMALL}}).reward_signals["curiosity"]
    signal = CuriositySignal(settings, chain_spec())
    batch = chain_batch()
    assert not signal.evaluate(batch).any()  # nothing before the first update
    signal.update(batch)
    net = signal.curiosity
    with torch.no_grad():
        features = net.encoder([torch.from_numpy(batch.obs[0])])
        next_features = net.encoder([torch.from_numpy(batch.next_obs[0])])  # type: ignore[index]
        one_hot = torch.nn.functional.one_hot(torch.from_numpy(batch.discrete_action[:, 0]).long(), 3).float()  # type: ignore[index]
        predicted = net.forward_model(torch.cat([features, one_hot], dim=1))
        expected = 0.5 * ((predicted - next_features) ** 2).sum(dim=1)
    np.testing.assert_allclose(signal.evaluate(batch), np.minimum(expected.numpy(), 2.0), rtol=1e-5)
    loss, stats = signal.losses(batch)
    with torch.no_grad():  # the inverse loss of one branch is torch's cross-entropy of its logits
        logits = net.discrete_prediction(net.inverse(torch.cat([features, next_features], dim=1)))  # type: ignore[misc]
        cross_entropy = torch.nn.functional.cross_entropy(logits, torch.from_numpy(batch.discrete_action[:, 0]).long())  # type: ignore[index]
    assert float(stats["Losses/Curiosity Inverse Loss"].detach()) == pytest.approx(float(cross_entropy), rel=1e-4)
    assert float(stats["Losses/Curiosity Forward Loss"].detach()) == pytest.approx(float(expected.mean()), rel=1e-4)
    weighted = 10 * (0.2 * float(expected.mean()) + 0.8 * float(cross_entropy))
    assert float(loss.detach()) == pytest.approx(weighted, rel=1e-4)


def test_rnd_trains_its_predictor_towards_the_fixed_target() -> None:
    settings = settings_for({"rnd": {"learning_rate": 1e-3, **SMALL}}).reward_signals["rnd"]
    signal = RNDSignal(settings, chain_spec())
    batch = chain_batch()
    target = [p.clone() for p in signal.networks.target.parameters()]
    first = signal.evaluate(batch)
    with torch.no_grad():
        obs = [torch.from_numpy(batch.obs[0])]
        distance = ((signal.networks.predictor(obs) - signal.networks.target(obs)) ** 2).sum(dim=1)
    np.testing.assert_allclose(first, distance.numpy(), rtol=1e-5)
    losses = [signal.update(batch)["Losses/RND Loss"] for _ in range(50)]
    assert losses[-1] < 0.5 * losses[0] and signal.evaluate(batch).mean() < first.mean()
    assert all(torch.equal(a, b) for a, b in zip(target, signal.networks.target.parameters(), strict=True))


@pytest.mark.parametrize("name", ["curiosity", "rnd"])
def test_a_checkpoint_restores_the_signal(name: str, tmp_path: Path) -> None:
    signals = {name: {"strength": 0.1, "learning_rate": 1e-3, **SMALL}}
    trained, _ = train(signals, 2048)
    state = trained.state_dict()
    fresh = PPOTrainer(BEHAVIOR, chain_spec(), settings_for(signals), 16, seed=9)
    batch = chain_batch()
    (learned,) = [s for s in trained.signals if s.learns]
    (restored,) = [s for s in fresh.signals if s.learns]
    assert not np.array_equal(restored.evaluate(batch), learned.evaluate(batch))  # type: ignore[attr-defined]
    torch.save(state, tmp_path / "checkpoint.pt")  # as a checkpoint file, loaded as --resume loads it
    fresh.load_state_dict(torch.load(tmp_path / "checkpoint.pt", weights_only=True))
    np.testing.assert_array_equal(restored.evaluate(batch), learned.evaluate(batch))  # type: ignore[attr-defined]
    assert restored.update(batch) == pytest.approx(learned.update(batch))  # the optimizers' moments too


def plain_episode_totals(paid: np.ndarray, agent: np.ndarray, ends: np.ndarray, carry: np.ndarray) -> list[float]:
    totals = []
    for value, who, end in zip(paid.tolist(), agent.tolist(), ends.tolist(), strict=True):
        carry[who] += value
        if end:
            totals.append(float(carry[who]))
            carry[who] = 0.0
    return totals


def test_episode_totals_match_a_plain_loop() -> None:
    rng = np.random.default_rng(3)
    carry, plain_carry = np.zeros(5), np.zeros(5)
    for _ in range(20):  # updates one after another, episodes spanning them
        counts = rng.integers(0, 12, 5)
        agent = np.repeat(np.arange(5), counts)
        paid = rng.normal(size=len(agent)).astype(np.float32)
        ends = rng.random(len(agent)) < 0.2
        ours = episode_totals(paid, agent, ends, carry)
        theirs = plain_episode_totals(paid.astype(np.float64), agent, ends, plain_carry)
        # grouped by agent: the ended episodes in the order their last steps come
        assert ours == pytest.approx(theirs)
        np.testing.assert_allclose(carry, plain_carry)


def test_sac_pays_a_learning_signal_on_each_minibatch_and_reports_its_episodes() -> None:
    """SAC evaluates curiosity on every transition it records (for Policy/Curiosity Reward, as ML-Agents'
    off-policy trainer evaluates its trajectories) and again on the minibatches a round draws."""
    from mlagents_fast.trainers.sac.trainer import SACTrainer

    config = {"trainer_type": "sac", "time_horizon": 16, "max_steps": 3000,
              "network_settings": {"hidden_units": 32, "num_layers": 1},
              "hyperparameters": {"batch_size": 32, "buffer_size": 5000, "buffer_init_steps": 256,
                                  "steps_per_update": 4.0, "reward_signal_steps_per_update": 4.0},
              "reward_signals": {"extrinsic": {}, "curiosity": {"strength": 0.5, **SMALL}}}  # fmt: skip
    settings = run_options_from_dict({"behaviors": {BEHAVIOR: config}}, "test").behaviors[BEHAVIOR]
    env = SparseChain(8, length=6, max_decisions=10)
    trainer = SACTrainer(BEHAVIOR, env.behavior_specs[BEHAVIOR], settings, 8, seed=1)
    batch, actions = env.batch(BEHAVIOR), env.actions(BEHAVIOR)
    for _ in range(2000 // 8):
        trainer.act(batch, actions)
        env.step()
        trainer.record(batch)
    trainer.wait_for_update()
    (curiosity,) = trainer.learned
    stats = {stat.key: stat.values for stat in trainer.drain_stats()}
    assert max(stats["Policy/Curiosity Reward"]) > 0.0 and "Losses/Curiosity Forward Loss" in stats
    assert "Policy/Curiosity Value" in stats
    (drawn,) = trainer.batches.draw(1, trainer.rng, trainer.learned)
    host = trainer.batches._round.batch
    signal_batch = trainer.batches._as_signal_batch({name: a[:32] for name, a in host.items()})
    expected = curiosity.evaluate(signal_batch) * 0.5
    assert expected.any()
    np.testing.assert_allclose(drawn.rewards[1].numpy(), expected, rtol=1e-6)
    resumed = SACTrainer(BEHAVIOR, env.behavior_specs[BEHAVIOR], settings, 8, seed=5)  # a checkpoint keeps it
    resumed.load_state_dict(trainer.state_dict())
    np.testing.assert_array_equal(resumed.learned[0].evaluate(signal_batch), curiosity.evaluate(signal_batch))


def test_curiosity_at_strength_zero_pays_nothing_and_does_not_fail() -> None:
    settings = settings_for({"curiosity": {"strength": 0.0, **SMALL}}).reward_signals["curiosity"]
    signal = CuriositySignal(settings, chain_spec())
    signal.update(chain_batch())
    assert np.isfinite(signal.evaluate(chain_batch())).all()


@pytest.mark.parametrize("name", ["curiosity", "rnd"])
def test_learning_signals_run_on_the_trainers_device(name: str) -> None:
    """On an accelerator when one is present (else its CPU stand-in): the signal's networks follow
    the trainer, and an update of PPO evaluates and trains them there."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    env = SparseChain(16, **CHAIN)
    settings = settings_for({name: {"strength": 0.1, **SMALL}}, 2048)
    trainer = PPOTrainer(BEHAVIOR, env.behavior_specs[BEHAVIOR], settings, 16, seed=1, device=device)
    (signal,) = [s for s in trainer.signals if s.learns]
    assert signal.device == device  # type: ignore[attr-defined]
    assert {p.device.type for p in signal.network.parameters()} == {device.type}  # type: ignore[attr-defined]
    batch, actions = env.batch(BEHAVIOR), env.actions(BEHAVIOR)
    for _ in range(2048 // 16):
        trainer.act(batch, actions)
        env.step()
        trainer.record(batch)
    stats = {stat.key for stat in trainer.drain_stats()}
    assert any(key.startswith("Losses/") and ("RND" in key or "Curiosity" in key) for key in stats)
    assert isinstance(signal.evaluate(chain_batch()), np.ndarray)  # type: ignore[attr-defined]


def test_a_normalizing_signal_learns_its_statistics_from_what_it_trains_on() -> None:
    """`network_settings.normalize`: the encoder's running mean follows the minibatches' observations."""
    settings = settings_for({"rnd": {"network_settings": {"hidden_units": 32, "normalize": True}}}).reward_signals[
        "rnd"
    ]
    signal = RNDSignal(settings, chain_spec())
    batch = chain_batch(steps=256)
    signal.update(batch)
    processor = signal.networks.predictor.network_body.processors[0]
    # (ML-Agents' running statistics start from one prior step of mean 0: within 1/257 of the batch's)
    assert processor.running_mean.abs().sum() > 0
    np.testing.assert_allclose(processor.running_mean.numpy(), batch.obs[0].mean(axis=0), atol=5e-3)
    target = signal.networks.target.network_body.processors[0]
    assert torch.equal(target.running_mean, processor.running_mean)  # both networks read the same statistics
