"""MA-POCA's parts: groupmates and whole-group ends read from the ring, the loss as ML-Agents
writes it, and `mlagents-learn` with `trainer_type: poca` (results folder, checkpoint, ONNX of the
per-agent actor, resume)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from mlagents_fast.learn import main
from mlagents_fast.trainers.poca.groups import group_all_done, groupmates
from mlagents_fast.trainers.poca.loss import poca_loss

# One ring step of 5 slots: slots 0-2 in group 7 (slot 1 sat out), slot 3 alone (group 0), slot 4 in group 9.
GROUP_ID = np.array([7, 7, 7, 0, 9], np.int32)
ABSENT = np.array([False, True, False, False, False])


def test_groupmates_are_the_present_members_of_the_same_group() -> None:
    rows = np.arange(5, dtype=np.int64) + 5  # the same step one ring row on
    group_id, absent = np.tile(GROUP_ID, 2), np.tile(ABSENT, 2)
    mates = groupmates(rows, group_id, absent, agents=5)
    # flat ring rows of the second step (the slot that sat out still has its present groupmates)
    assert mates.tolist() == [[7, -1], [5, 7], [5, -1], [-1, -1], [-1, -1]]
    assert groupmates(rows[3:4], group_id, absent, agents=5).shape == (1, 0)
    done = np.tile(np.array([True, False, False, True, True]), 2)
    assert group_all_done(rows, group_id, absent, done, agents=5).tolist() == [False, False, False, True, True]
    done[7] = True  # slot 2 ends too: slot 1 sat out, so the group is all done
    whole = group_all_done(rows, group_id, absent, done, agents=5)
    assert whole[0] and whole[2]


def test_the_loss_is_ml_agents() -> None:
    torch.manual_seed(0)
    b = 6
    log_probs, old = torch.randn(b, 2), torch.randn(b, 2)
    entropy, advantages = torch.rand(b), torch.randn(b, 1)
    values, baselines, old_baselines, returns = (torch.randn(1, b) for _ in range(4))
    mask = torch.tensor([True, True, False, True, True, True])
    loss, policy, value, baseline = poca_loss(log_probs, entropy, old, advantages, values, baselines, old_baselines,
                                              returns, 0.2, 0.01, mask)  # fmt: skip
    keep = mask.nonzero().squeeze(1)
    ratio = torch.exp(log_probs - old)[keep]
    a = advantages[keep]
    expected_policy = -torch.min(ratio * a, ratio.clamp(0.8, 1.2) * a).mean()
    expected_value = ((returns - values)[:, keep] ** 2).mean()  # not clipped (ML-Agents' buffer keys)
    clipped = old_baselines + (baselines - old_baselines).clamp(-0.2, 0.2)
    expected_baseline = torch.max((returns - baselines) ** 2, (returns - clipped) ** 2)[:, keep].mean()
    torch.testing.assert_close(policy, expected_policy)
    torch.testing.assert_close(value, expected_value)
    torch.testing.assert_close(baseline, expected_baseline)
    expected = expected_policy + 0.5 * (expected_value + 0.5 * expected_baseline) - 0.01 * entropy[keep].mean()
    torch.testing.assert_close(loss, expected)


CONFIG = """
behaviors:
  MultiAgentEnvironment:
    trainer_type: poca
    hyperparameters: {{batch_size: 16, buffer_size: 64, learning_rate: 3.0e-4}}
    network_settings: {{hidden_units: 16, num_layers: 1}}
    time_horizon: 8
    max_steps: {max_steps}
    summary_freq: 100
    checkpoint_interval: 200
"""


def test_mlagents_learn_trains_poca_exports_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "poca.yaml"
    results = tmp_path / "results"
    path.write_text(CONFIG.format(max_steps=200))
    args = ["--env=MultiAgentEnvironment", f"--results-dir={results}", "--seed=1", "--run-id=poca"]
    assert main([str(path), *args]) == 0
    session = ort.InferenceSession(str(results / "poca" / "MultiAgentEnvironment.onnx"))
    assert session.get_inputs()[0].name == "obs_0"  # the per-agent actor, as PPO's
    path.write_text(CONFIG.format(max_steps=400))
    assert main([str(path), *args, "--resume"]) == 0
    saved = [int(p.stem.rsplit("-", 1)[1]) for p in (results / "poca" / "MultiAgentEnvironment").glob("*-*.pt")]
    assert max(saved) >= 400  # (agents sitting out take no step: the last step may pass 400)


def test_poca_with_memory_trains_exports_and_resumes(tmp_path: Path) -> None:
    """POCA with an LSTM through mlagents-learn: the ONNX actor carries the memory, and `--resume`
    goes on from the checkpoint (the critic's LSTM in it)."""
    path = tmp_path / "poca.yaml"
    plain = "network_settings: {hidden_units: 16, num_layers: 1}"
    memory = "network_settings: {hidden_units: 16, num_layers: 1, memory: {memory_size: 8, sequence_length: 4}}"
    path.write_text(CONFIG.format(max_steps=200).replace(plain, memory))
    results = tmp_path / "results"
    args = ["--env=MultiAgentEnvironment", f"--results-dir={results}", "--seed=1", "--run-id=m"]
    assert main([str(path), *args]) == 0
    session = ort.InferenceSession(str(results / "m" / "MultiAgentEnvironment.onnx"))
    assert session.get_inputs()[-1].name == "recurrent_in" and session.get_outputs()[-1].name == "recurrent_out"
    checkpoint = torch.load(results / "m" / "MultiAgentEnvironment" / "checkpoint.pt", weights_only=False)
    assert any(key.startswith("memory.lstm.") for key in checkpoint["Optimizer:critic"])
    path.write_text(CONFIG.format(max_steps=400).replace(plain, memory))
    assert main([str(path), *args, "--resume"]) == 0
    saved = [int(p.stem.rsplit("-", 1)[1]) for p in (results / "m" / "MultiAgentEnvironment").glob("*-*.pt")]
    assert max(saved) >= 400


@pytest.mark.parametrize("trainer_type", ["ppo", "poca"])
def test_steps_agents_sat_out_train_nothing(trainer_type: str) -> None:
    """MultiAgentEnvironment's early finishers wait for their group: those steps reach no minibatch,
    as ML-Agents never sees them (and the advantages are normalized without them)."""
    from mlagents_fast.config import run_options_from_dict
    from mlagents_fast.envs.registry import make
    from mlagents_fast.trainers.registry import trainer_factory

    raw = {"trainer_type": trainer_type, "max_steps": 400, "time_horizon": 16,
           "hyperparameters": {"batch_size": 16, "buffer_size": 64},
           "network_settings": {"hidden_units": 16, "num_layers": 1}}  # fmt: skip
    settings = run_options_from_dict({"behaviors": {"MultiAgentEnvironment": raw}}, "t").behaviors[
        "MultiAgentEnvironment"
    ]
    env = make("MultiAgentEnvironment", 2, seed=3, num_agents=3, action_sizes=(0, 1))
    trainer = trainer_factory(trainer_type)("MultiAgentEnvironment", env.behavior_specs["MultiAgentEnvironment"],
                                            settings, env.num_agents("MultiAgentEnvironment"), seed=3)  # fmt: skip
    seen: list[np.ndarray] = []
    minibatches_of = trainer.update.minibatches_of

    def spy(rows: np.ndarray):  # type: ignore[no-untyped-def]
        seen.append(trainer.rollout.buffer.flat("absent")[rows].copy())  # (the ring is reused later)
        return minibatches_of(rows)

    trainer.update.minibatches_of = spy  # type: ignore[method-assign]
    batch, actions = env.batch("MultiAgentEnvironment"), env.actions("MultiAgentEnvironment")
    sat_out = 0
    while trainer.step < 400:
        trainer.act(batch, actions)
        sat_out += int(batch.absent.sum())
        env.step()
        trainer.record(batch)
    assert seen and sat_out > 0
    assert not any(absent.any() for absent in seen)


def test_sac_keeps_no_transition_of_an_agent_that_sat_out() -> None:
    from mlagents_fast.config import run_options_from_dict
    from mlagents_fast.envs.registry import make
    from mlagents_fast.trainers.sac.trainer import SACTrainer

    raw = {"trainer_type": "sac", "max_steps": 3000, "hyperparameters": {"batch_size": 16, "buffer_init_steps": 1000},
           "network_settings": {"hidden_units": 16, "num_layers": 1}}  # fmt: skip
    settings = run_options_from_dict({"behaviors": {"MultiAgentEnvironment": raw}}, "t").behaviors[
        "MultiAgentEnvironment"
    ]
    env = make("MultiAgentEnvironment", 2, seed=3, num_agents=3, action_sizes=(1, 0))
    trainer = SACTrainer("MultiAgentEnvironment", env.behavior_specs["MultiAgentEnvironment"], settings,
                         env.num_agents("MultiAgentEnvironment"), seed=3)  # fmt: skip
    batch, actions = env.batch("MultiAgentEnvironment"), env.actions("MultiAgentEnvironment")
    asked = 0
    for _ in range(40):
        trainer.act(batch, actions)
        asked += int((~batch.absent).sum())
        env.step()
        trainer.record(batch)
    assert asked < 40 * 6 and trainer.replay.size == asked


def test_poca_without_groups_says_so_and_trains_each_agent_alone(caplog: pytest.LogCaptureFixture) -> None:
    from mlagents_fast.config import run_options_from_dict
    from mlagents_fast.envs.registry import make
    from mlagents_fast.trainers.poca import POCATrainer

    raw = {"trainer_type": "poca", "max_steps": 100, "hyperparameters": {"batch_size": 16, "buffer_size": 32},
           "network_settings": {"hidden_units": 16, "num_layers": 1}}  # fmt: skip
    settings = run_options_from_dict({"behaviors": {"Basic": raw}}, "t").behaviors["Basic"]
    env = make("Basic", 2, seed=1)
    trainer = POCATrainer("Basic", env.behavior_specs["Basic"], settings, env.num_agents("Basic"), seed=1)
    batch, actions = env.batch("Basic"), env.actions("Basic")
    with caplog.at_level("WARNING"):
        while trainer.step < 100:
            trainer.act(batch, actions)
            env.step()
            trainer.record(batch)
    assert sum("puts no agent in a group" in r.message for r in caplog.records) == 1
    assert trainer.gradient_steps > 0
