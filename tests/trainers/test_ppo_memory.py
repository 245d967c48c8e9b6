"""PPO with memory (trainers/ppo/recurrent.py, networks/memory.py): ML-Agents' test_recurrent_ppo
on MemoryEnvironment (the goal shown for the first steps only; feed-forward cannot), the
sequences against a plain loop, the batched value estimate against stepping the LSTM one step at
a time, memories carried and reset, the masked loss, and the ONNX model's recurrent inputs and
outputs against torch over a rollout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch

from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.envs.registry import make
from mlagents_fast.export import export_onnx
from mlagents_fast.networks.memory import FORGET_BIAS, LSTMMemory
from mlagents_fast.trainers.ppo import PPOTrainer
from mlagents_fast.trainers.ppo.loss import ppo_loss
from mlagents_fast.trainers.ppo.recurrent import RecurrentValueEstimator, sequence_positions, trajectory_bounds
from tests.trainers.test_ppo_learning import ML_AGENTS_PPO_TEST_CONFIG
from tests.trainers.training import last5, train_behaviors

BEHAVIOR = "MemoryEnvironment"


def recurrent_config(memory: dict[str, int] | None = None, **changes: Any) -> dict[str, Any]:
    """ML-Agents' test_recurrent_ppo: memory 16, learning rate 1e-3, batch 64, buffer 128, 6000 steps."""
    base = ML_AGENTS_PPO_TEST_CONFIG
    hyper = {**base["hyperparameters"], "learning_rate": 1e-3, "batch_size": 64, "buffer_size": 128}
    network = {**base["network_settings"], "memory": memory or {"memory_size": 16}}
    return {**base, "hyperparameters": hyper, "network_settings": network, "max_steps": 6000, **changes}


@pytest.mark.learning
@pytest.mark.parametrize("action_sizes", [(0, 1), (1, 0)], ids=["discrete", "continuous"])
def test_recurrent_ppo(action_sizes: tuple[int, int]) -> None:
    env = make(BEHAVIOR, 1, seed=1337, action_sizes=action_sizes)
    returns, _ = train_behaviors(PPOTrainer, env, {BEHAVIOR: recurrent_config()}, seed=1337)
    assert last5(returns[BEHAVIOR]) > 0.9


@pytest.mark.learning
@pytest.mark.parametrize("variant", ["shared_critic", "threaded"])
def test_recurrent_ppo_with_a_shared_critic_or_threaded(variant: str) -> None:
    config = recurrent_config(threaded=variant == "threaded")
    config["hyperparameters"]["shared_critic"] = variant == "shared_critic"
    returns, _ = train_behaviors(PPOTrainer, make(BEHAVIOR, 1, seed=1337, action_sizes=(0, 1)), {BEHAVIOR: config},
                                 seed=1337)  # fmt: skip
    assert last5(returns[BEHAVIOR]) > 0.9


@pytest.mark.learning
def test_without_memory_the_memory_task_is_not_learned() -> None:
    """The same budget without memory: the goal is gone from the observation after two steps."""
    config = recurrent_config()
    config["network_settings"] = dict(ML_AGENTS_PPO_TEST_CONFIG["network_settings"])
    returns, _ = train_behaviors(PPOTrainer, make(BEHAVIOR, 1, seed=1337, action_sizes=(0, 1)), {BEHAVIOR: config},
                                 seed=1337)  # fmt: skip
    assert last5(returns[BEHAVIOR]) < 0.9


def test_sequences_cut_each_trajectory_from_its_first_step_and_pad_its_end() -> None:
    rng = np.random.default_rng(0)
    ends = rng.uniform(size=200) < 0.08
    for length in (1, 4, 16):
        starts, lengths = trajectory_bounds(ends)
        expected: list[list[int]] = []
        for start, size in zip(starts.tolist(), lengths.tolist(), strict=True):  # the plain loop
            for first in range(start, start + size, length):
                steps = list(range(first, min(first + length, start + size)))
                expected.append(steps + [-1] * (length - len(steps)))
        assert sequence_positions(starts, lengths, length).tolist() == expected
    closes = np.flatnonzero(ends).tolist() + ([199] if not ends[-1] else [])
    assert (starts + lengths - 1).tolist() == closes


def test_the_lstm_is_initialised_as_ml_agents() -> None:
    memory = LSTMMemory(8, 6)
    hidden = 3
    for name in ("bias_ih_l0", "bias_hh_l0"):
        bias = getattr(memory.lstm, name).detach()
        assert torch.all(bias[hidden : 2 * hidden] == FORGET_BIAS) and not bias[:hidden].any()
        assert not bias[2 * hidden :].any()
    out, after = memory(torch.randn(2 * 5, 8), torch.zeros(2, 6), sequence_length=5)
    assert out.shape == (10, 3) and after.shape == (2, 6)


def trained_trainer(steps: int = 600, **changes: Any) -> tuple[PPOTrainer, Any]:
    config = recurrent_config({"memory_size": 8, "sequence_length": 4}, max_steps=steps, time_horizon=10, **changes)
    settings = run_options_from_dict({"behaviors": {BEHAVIOR: config}}, "test").behaviors[BEHAVIOR]
    env = make(BEHAVIOR, 3, seed=5, action_sizes=(0, 1))
    trainer = PPOTrainer(BEHAVIOR, env.behavior_specs[BEHAVIOR], settings, env.num_agents(BEHAVIOR), seed=5)
    return trainer, env


def test_memories_are_carried_between_steps_and_reset_with_each_episode() -> None:
    trainer, env = trained_trainer()
    batch, actions = env.batch(BEHAVIOR), env.actions(BEHAVIOR)
    memories = trainer.memories
    assert memories is not None
    seen_done = False
    for _ in range(60):
        before = memories.actor.copy()
        trainer.act(batch, actions)
        row = trainer.ring.row
        np.testing.assert_array_equal(trainer.buffer["memory"][row], before)  # stored: the memory acted from
        after = memories.next_actor.copy()  # what the step's forward left
        env.step()
        trainer.record(batch)
        done = batch.terminated | batch.truncated
        assert not memories.actor[done].any() and not memories.critic[done].any()
        if (~done).any():
            np.testing.assert_array_equal(memories.actor[~done], after[~done])
            assert memories.actor[~done].any()
        seen_done |= bool(done.any())
    assert seen_done


def test_the_batched_value_estimate_is_the_critic_stepped_one_step_at_a_time() -> None:
    trainer, env = trained_trainer(steps=10_000)
    batch, actions = env.batch(BEHAVIOR), env.actions(BEHAVIOR)
    for _ in range(70):  # past the first update: the critic has trained
        trainer.act(batch, actions)
        env.step()
        trainer.record(batch)
    trainer.rollout.finish_cut_trajectories()
    segments = trainer.rollout.take()
    window, selected = segments.window_rows(), segments.selected()
    rows = segments.flat_rows(selected, window)
    estimator = trainer.values
    assert isinstance(estimator, RecurrentValueEstimator)
    values = estimator.step_values(rows)
    ends = trainer.rollout.trajectory_ends(rows)
    starts, lengths = trajectory_bounds(ends)
    critic = trainer.critic
    obs = trainer.buffer.flat("obs_0")
    with torch.no_grad():
        for start, size in zip(starts.tolist(), lengths.tolist(), strict=True):
            memory = torch.from_numpy(trainer.buffer.flat("critic_memory")[rows[start]][None].copy())
            for i in range(size):
                value, memory = critic.values_with_memory([torch.from_numpy(obs[rows[start + i]][None].copy())], memory)
                np.testing.assert_allclose(values[:, start + i], value[:, 0].numpy(), rtol=1e-5, atol=1e-6)
                if i % 4 == 3 and i + 1 < size:  # the memory each later sequence starts from
                    sequence = np.flatnonzero(estimator.sequences[:, 0] == start + i + 1)[0]
                    np.testing.assert_allclose(estimator.sequence_memories[sequence], memory[0].numpy(), atol=1e-6)
    trainer.rollout.release()


def test_the_masked_loss_counts_only_the_steps_that_are_not_padding() -> None:
    rng = torch.Generator().manual_seed(0)
    args = [torch.randn(6, 2, generator=rng), torch.randn(1, 6, generator=rng), torch.rand(6, generator=rng),
            torch.randn(6, 2, generator=rng), torch.randn(6, 1, generator=rng), torch.randn(1, 6, generator=rng),
            torch.randn(1, 6, generator=rng)]  # fmt: skip
    mask = torch.tensor([True, True, False, True, False, False])
    masked = ppo_loss(*args, 0.2, 0.01, mask)
    kept = [a[:, mask] if a.shape[0] == 1 else a[mask] for a in args]
    plain = ppo_loss(*kept, 0.2, 0.01)
    for a, b in zip(masked, plain, strict=True):
        torch.testing.assert_close(a, b)


def test_onnx_carries_the_memory_as_torch_does(tmp_path: Path) -> None:
    trainer, _ = trained_trainer()
    path = tmp_path / "memory.onnx"
    export_onnx(trainer.actor, trainer.spec, path)
    session = ort.InferenceSession(str(path))
    names = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    assert names == ["obs_0", "action_masks", "recurrent_in"] and outputs[-1] == "recurrent_out"
    assert session.get_inputs()[2].shape[1:] == [1, 8]
    rng = np.random.default_rng(0)
    memory = np.zeros((3, 1, 8), np.float32)
    torch_memory = torch.zeros(3, 8)
    masks = np.ones((3, 2), np.float32)
    for _ in range(20):  # a rollout: the memory goes round through both
        obs = rng.standard_normal((3, *trainer.spec.observation_specs[0].shape)).astype(np.float32)
        result = dict(zip(outputs, session.run(None, {"obs_0": obs, "action_masks": masks, "recurrent_in": memory}),
                          strict=True))  # fmt: skip
        assert float(result["memory_size"][0]) == 8.0
        with torch.no_grad():
            h, torch_memory = trainer.actor.network_body.recurrent([torch.from_numpy(obs)], torch_memory)
            deterministic = trainer.actor.action_model.deterministic_discrete(h, torch.from_numpy(masks))
        np.testing.assert_allclose(result["recurrent_out"][:, 0], torch_memory.numpy(), atol=1e-5)
        np.testing.assert_array_equal(result["deterministic_discrete_actions"], deterministic.numpy())
        memory = result["recurrent_out"]
