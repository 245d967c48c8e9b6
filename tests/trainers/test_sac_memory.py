"""SAC with memory (trainers/sac/sequences.py and the recurrent parts of SAC): ML-Agents'
test_recurrent_sac on MemoryEnvironment, trajectories written to the replay ring as padded whole
sequences (against a plain loop), sequences sampled whole, and the masked losses."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import torch

from mlagents_fast import _native
from mlagents_fast.buffer.fields import FieldSpec
from mlagents_fast.buffer.replay import ReplayBuffer
from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.envs.registry import make
from mlagents_fast.trainers.sac import losses
from mlagents_fast.trainers.sac.sequences import SequenceAssembler, sample_sequences, sequence_capacity
from mlagents_fast.trainers.sac.trainer import SACTrainer
from tests.trainers.test_sac_learning import ML_AGENTS_SAC_TEST_CONFIG
from tests.trainers.training import last5, train_behaviors

BEHAVIOR = "MemoryEnvironment"


def recurrent_config() -> dict[str, Any]:
    """ML-Agents' test_recurrent_sac: memory 16, sequences of 16, batch 256, buffer_init_steps 1000,
    steps_per_update 2, 4000 steps."""
    base = ML_AGENTS_SAC_TEST_CONFIG
    hyper = {**base["hyperparameters"], "batch_size": 256, "buffer_init_steps": 1000, "steps_per_update": 2}
    network = {**base["network_settings"], "memory": {"memory_size": 16, "sequence_length": 16}}
    return {**base, "hyperparameters": hyper, "network_settings": network, "max_steps": 4000}


@pytest.mark.learning
@pytest.mark.parametrize("action_sizes", [(0, 1), (1, 0)], ids=["discrete", "continuous"])
def test_recurrent_sac(action_sizes: tuple[int, int]) -> None:
    env = make(BEHAVIOR, 1, seed=1337, action_sizes=action_sizes)
    returns, _ = train_behaviors(SACTrainer, env, {BEHAVIOR: recurrent_config()}, seed=1337)
    assert last5(returns[BEHAVIOR]) > 0.9


def test_trajectories_reach_the_ring_as_padded_whole_sequences() -> None:
    fields = {"x": FieldSpec.of((2,), np.float32), "step_mask": FieldSpec.of((), np.bool_)}
    buffer = ReplayBuffer(sequence_capacity(200, 4), fields)
    assembler = SequenceAssembler(buffer, agents=3, sequence_length=4, time_horizon=6)
    rng = np.random.default_rng(0)
    expected: list[tuple[float, bool]] = []
    pending: list[list[float]] = [[], [], []]
    for step in range(40):
        done = rng.uniform(size=3) < 0.2
        x = np.stack([np.full(2, 100 * agent + step, np.float32) for agent in range(3)])
        assembler.add([x, np.ones(3, np.bool_)], done)
        for agent in range(3):  # the plain loop: cut at episode ends and every 6 steps, pad to 4
            pending[agent].append(float(x[agent, 0]))
            if done[agent] or len(pending[agent]) == 6:
                padded = -(-len(pending[agent]) // 4) * 4
                expected += [(v, True) for v in pending[agent]] + [(0.0, False)] * (padded - len(pending[agent]))
                pending[agent] = []
    assert buffer.size == len(expected) and buffer.size % 4 == 0
    stored = buffer.state()
    assert [(float(v), bool(m)) for v, m in zip(stored["x"][:, 0], stored["step_mask"], strict=True)] == expected
    rows = sample_sequences(buffer, 10, 4, _native.Rng(1))
    starts = rows.reshape(10, 4)
    assert (starts[:, 0] % 4 == 0).all() and (np.diff(starts, axis=1) == 1).all()
    assert (rows < buffer.size).all()


def test_steps_an_agent_sat_out_count_in_no_loss() -> None:
    """A step an agent sat out (it asked for no decision, as a self-play opponent) stays in its
    sequence, masked; a trajectory it sat out whole is not written."""
    fields = {"x": FieldSpec.of((), np.float32), "step_mask": FieldSpec.of((), np.bool_)}
    buffer = ReplayBuffer(sequence_capacity(64, 4), fields)
    assembler = SequenceAssembler(buffer, agents=2, sequence_length=4, time_horizon=3)
    for step in range(3):  # agent 0 sits out step 1, agent 1 every step
        assembler.add([np.array([step, 10 + step], np.float32), np.array([step != 1, False])], np.zeros(2, np.bool_))
    stored = buffer.state()
    assert stored["x"].tolist() == [0.0, 1.0, 2.0, 0.0]
    assert stored["step_mask"].tolist() == [True, False, True, False]


def test_the_sac_trainer_masks_the_steps_agents_sat_out() -> None:
    config = recurrent_config()
    settings = run_options_from_dict({"behaviors": {BEHAVIOR: config}}, "test").behaviors[BEHAVIOR]
    env = make(BEHAVIOR, 2, seed=3, action_sizes=(0, 1))
    trainer = SACTrainer(BEHAVIOR, env.behavior_specs[BEHAVIOR], settings, env.num_agents(BEHAVIOR), seed=3)
    batch, actions = env.batch(BEHAVIOR), env.actions(BEHAVIOR)
    absent = np.array([False, True])
    view = dataclasses.replace(batch, absent=absent)
    trainer.act(view, actions)
    assert trainer.step_arrays["step_mask"].tolist() == [True, False]
    env.step()
    trainer.record(view)
    assert trainer.step == 1  # (the agent that sat out took no step)


def test_the_masked_losses_count_only_the_steps_that_are_not_padding() -> None:
    generator = torch.Generator().manual_seed(0)
    q1, q2, next_values, rewards = (torch.randn(2, 6, generator=generator) for _ in range(4))
    done, gammas = torch.zeros(6), torch.tensor([0.99, 0.9])
    mask = torch.tensor([True, False, True, True, False, True])
    masked = losses.q_losses(q1, q2, next_values, rewards, done, gammas, mask)
    plain = losses.q_losses(q1[:, mask], q2[:, mask], next_values[:, mask], rewards[:, mask], done[mask], gammas)
    for a, b in zip(masked, plain, strict=True):
        torch.testing.assert_close(a, b)
    log_probs, log_coef = torch.randn(6, 2, generator=generator), torch.zeros(1)
    masked_entropy = losses.entropy_loss(log_probs, torch.zeros(6, 0), log_coef + 0.3, torch.zeros(0), -2.0,
                                         torch.zeros(0), (), mask)  # fmt: skip
    plain_entropy = losses.entropy_loss(log_probs[mask], torch.zeros(4, 0), log_coef + 0.3, torch.zeros(0), -2.0,
                                        torch.zeros(0), ())  # fmt: skip
    torch.testing.assert_close(masked_entropy, plain_entropy)
