"""GAIL and behavioral cloning from demonstrations recorded here: ML-Agents' test_gail scenario
(SimpleEnvironment with step size 0.2, the GAIL signal alone with encoding size 32, BC over 1000
steps, 500 steps of PPO's or SAC's test configuration, the last 5 episodes above 0.9), VAIL, and
the demonstrations a behavior cannot use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mlagents_fast.config import run_options_from_dict
from mlagents_fast.envs.registry import make
from mlagents_fast.envs.testing.recorder import record_demonstrations
from mlagents_fast.reward_signals import gail as gail_module
from mlagents_fast.reward_signals.gail import GAILSignal
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.trainers.ppo import PPOTrainer
from mlagents_fast.trainers.sac.trainer import SACTrainer
from tests.trainers.test_ppo_learning import ML_AGENTS_PPO_TEST_CONFIG
from tests.trainers.test_ppo_memory import recurrent_config
from tests.trainers.test_sac_learning import ML_AGENTS_SAC_TEST_CONFIG
from tests.trainers.training import last5, train_behaviors

BEHAVIOR = "SimpleEnvironment"


def record(tmp_path: Path, action_sizes: tuple[int, int], steps: int = 500) -> str:
    path = tmp_path / f"expert_{action_sizes[0]}_{action_sizes[1]}.demo"
    record_demonstrations(make(BEHAVIOR, 1, seed=3, action_sizes=action_sizes, step_size=0.2), steps, path, seed=3)
    return str(path)


@pytest.mark.learning
@pytest.mark.parametrize("trainer", ["ppo", "sac"])
@pytest.mark.parametrize("action_sizes", [(0, 1), (1, 0)], ids=["discrete", "continuous"])
def test_gail_and_behavioral_cloning_learn_from_a_recorded_expert(
    tmp_path: Path, trainer: str, action_sizes: tuple[int, int]
) -> None:
    demo = record(tmp_path, action_sizes)
    base = ML_AGENTS_PPO_TEST_CONFIG if trainer == "ppo" else ML_AGENTS_SAC_TEST_CONFIG
    config = {**base, "max_steps": 500, "reward_signals": {"gail": {"encoding_size": 32, "demo_path": demo}},
              "behavioral_cloning": {"demo_path": demo, "steps": 1000}}  # fmt: skip
    env = make(BEHAVIOR, 1, seed=1337, action_sizes=action_sizes, step_size=0.2)
    factory = PPOTrainer if trainer == "ppo" else SACTrainer
    returns, trainers = train_behaviors(factory, env, {BEHAVIOR: config}, seed=1337)
    assert last5(returns[BEHAVIOR]) > 0.9
    stats = {stat.key: stat.values for stat in trainers[BEHAVIOR].drain_stats()}
    for key in ("Losses/Pretraining Loss", "Losses/GAIL Loss", "Policy/GAIL Expert Estimate",
                "Policy/GAIL Policy Estimate", "Policy/Gail Reward"):  # fmt: skip
        assert key in stats, key


@pytest.mark.learning
@pytest.mark.parametrize("trainer", ["ppo", "sac"])
def test_gail_and_behavioral_cloning_learn_from_camera_demonstrations(tmp_path: Path, trainer: str) -> None:
    """ML-Agents' test_gail_visual_*: one visual observation only, GAIL (gamma 0.8) and BC over 1500
    steps; 1000 steps of PPO (learning rate 5e-3), 500 of SAC."""
    path = tmp_path / "camera.demo"
    visual = {"num_visual": 1, "num_vector": 0, "action_sizes": (0, 1), "step_size": 0.2}
    record_demonstrations(make(BEHAVIOR, 1, seed=3, **visual), 500, path, seed=3)
    base = ML_AGENTS_PPO_TEST_CONFIG if trainer == "ppo" else ML_AGENTS_SAC_TEST_CONFIG
    config = {**base, "max_steps": 1000 if trainer == "ppo" else 500,
              "reward_signals": {"gail": {"gamma": 0.8, "encoding_size": 32, "demo_path": str(path)}},
              "behavioral_cloning": {"demo_path": str(path), "steps": 1500}}  # fmt: skip
    env = make(BEHAVIOR, 1, seed=1337, **visual)
    returns, _ = train_behaviors(PPOTrainer if trainer == "ppo" else SACTrainer, env, {BEHAVIOR: config}, seed=1337)
    assert last5(returns[BEHAVIOR]) > 0.9


@pytest.mark.learning
def test_behavioral_cloning_alone_moves_the_policy_to_the_expert(tmp_path: Path) -> None:
    """No reward to learn from (extrinsic strength 0): the policy still comes to act as the expert."""
    demo = record(tmp_path, (0, 1))
    config = {**ML_AGENTS_PPO_TEST_CONFIG, "max_steps": 500, "reward_signals": {"extrinsic": {"strength": 0.0}},
              "behavioral_cloning": {"demo_path": demo}}  # fmt: skip
    env = make(BEHAVIOR, 1, seed=1337, action_sizes=(0, 1), step_size=0.2)
    returns, _ = train_behaviors(PPOTrainer, env, {BEHAVIOR: config}, seed=1337)
    assert last5(returns[BEHAVIOR]) > 0.9
    without = {key: value for key, value in config.items() if key != "behavioral_cloning"}
    env = make(BEHAVIOR, 1, seed=1337, action_sizes=(0, 1), step_size=0.2)
    returns, _ = train_behaviors(PPOTrainer, env, {BEHAVIOR: without}, seed=1337)
    assert last5(returns[BEHAVIOR]) < 0.9  # without the demonstration it learns nothing in that budget


@pytest.mark.learning
def test_behavioral_cloning_teaches_a_policy_with_memory(tmp_path: Path) -> None:
    """MemoryEnvironment (the goal shown only at an episode's start), ML-Agents' test_recurrent_ppo
    settings with no reward to learn from: cloning the goal follower's demonstration through the
    LSTM, the policy comes to remember the goal as the expert did."""
    path = tmp_path / "memory.demo"
    record_demonstrations(make("MemoryEnvironment", 1, seed=3, action_sizes=(0, 1)), 1500, path, seed=3)
    config = recurrent_config(reward_signals={"extrinsic": {"strength": 0.0}},
                              behavioral_cloning={"demo_path": str(path)})  # fmt: skip
    env = make("MemoryEnvironment", 1, seed=1337, action_sizes=(0, 1))
    returns, _ = train_behaviors(PPOTrainer, env, {"MemoryEnvironment": config}, seed=1337)
    assert last5(returns["MemoryEnvironment"]) > 0.9


def test_behavioral_cloning_with_memory_needs_a_whole_sequence(tmp_path: Path) -> None:
    path = tmp_path / "short.demo"
    record_demonstrations(make("MemoryEnvironment", 1, seed=3, action_sizes=(0, 1)), 10, path, seed=3)
    config = recurrent_config({"memory_size": 16, "sequence_length": 64}, behavioral_cloning={"demo_path": str(path)})
    env = make("MemoryEnvironment", 1, seed=1, action_sizes=(0, 1))
    with pytest.raises(UnityTrainerException, match=r"behavioral_cloning.demo_path.*sequence_length \(64\)"):
        train_behaviors(PPOTrainer, env, {"MemoryEnvironment": config}, seed=1)


def gail(demo: str, spec: Any, **options: Any) -> GAILSignal:
    config = {"reward_signals": {"gail": {"demo_path": demo, "network_settings": {"hidden_units": 32}, **options}}}
    settings = run_options_from_dict({"behaviors": {BEHAVIOR: config}}, "test").behaviors[BEHAVIOR]
    return GAILSignal(settings.reward_signals["gail"], spec)  # type: ignore[arg-type]


@pytest.mark.parametrize("options", [{}, {"use_actions": True}, {"use_vail": True}], ids=["obs", "actions", "vail"])
def test_the_discriminator_learns_to_tell_the_expert_apart(
    tmp_path: Path, options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the gradient penalty off (on one-dimensional observations it keeps D from separating
    what it may: its slope is held near 1), the losses' signs and the reward are checked."""
    demo = record(tmp_path, (0, 1))
    spec = make(BEHAVIOR, 1, action_sizes=(0, 1), step_size=0.2).behavior_specs[BEHAVIOR]
    torch.manual_seed(0)
    with_penalty = gail(demo, spec, **options).update(gail(demo, spec).expert.select(np.arange(16)))
    assert with_penalty["Policy/GAIL Grad Mag Loss"] >= 0.0
    monkeypatch.setattr(gail_module, "GRADIENT_PENALTY_WEIGHT", 0.0)
    signal = gail(demo, spec, learning_rate=3e-3, **options)
    rng = np.random.default_rng(0)
    # The policy's steps: observations the expert never makes (its goal signs are +-1)
    policy = signal.expert.select(rng.integers(0, len(signal.expert), 64))
    policy.obs[0][:] = rng.uniform(-0.5, 0.5, policy.obs[0].shape).astype(np.float32)
    if policy.discrete_action is not None:
        policy.discrete_action[:] = 1 - policy.discrete_action  # and the wrong actions
    before = signal.evaluate(policy).mean()
    stats = [signal.update(policy) for _ in range(300)]
    assert stats[-1]["Policy/GAIL Expert Estimate"] > stats[-1]["Policy/GAIL Policy Estimate"] + 0.3
    assert signal.evaluate(policy).mean() < before  # less reward for what the expert would not do
    assert signal.evaluate(signal.expert).mean() > signal.evaluate(policy).mean()
    if options.get("use_vail"):
        assert stats[-1]["Policy/GAIL Beta"] > 0.0 and "Losses/GAIL KL Loss" in stats[-1]
    assert all(np.isfinite(v) for s in stats for v in s.values())


def test_demonstrations_a_behavior_cannot_use_are_one_clear_error(tmp_path: Path) -> None:
    discrete = record(tmp_path, (0, 1))
    continuous_spec = make(BEHAVIOR, 1, action_sizes=(1, 0)).behavior_specs[BEHAVIOR]
    with pytest.raises(UnityTrainerException, match=r"reward_signals.gail.demo_path.*records observations.*actions"):
        gail(discrete, continuous_spec)
    broken = tmp_path / "broken.demo"
    broken.write_bytes(Path(discrete).read_bytes()[:100])  # cut mid-message
    spec = make(BEHAVIOR, 1, action_sizes=(0, 1)).behavior_specs[BEHAVIOR]
    with pytest.raises(UnityTrainerException, match=r"cannot read the demonstration"):
        gail(str(broken), spec)
    empty = tmp_path / "empty.demo"
    empty.write_bytes(b"")
    with pytest.raises(UnityTrainerException, match=r"cannot read the demonstration"):
        gail(str(empty), spec)
    text = tmp_path / "notes.demo"
    text.write_text("not a demonstration")
    with pytest.raises(UnityTrainerException, match=r"cannot read the demonstration"):
        gail(str(text), spec)


@pytest.mark.parametrize(
    ("signal", "expected"),
    [
        ("reward_signals: {curiosity: {strength: -0.1}}", "curiosity.strength`: expected a finite number >= 0"),
        ("reward_signals: {gail: {strength: 0.1}}", "gail.demo_path`: expected a value for the required key"),
        ("reward_signals: {curiosity: {use_vail: true}}", "found unknown key 'use_vail'"),
        ("reward_signals: {gail: {demo_path: DEMO}}", "reward_signals.gail.demo_path`: the demonstration"),
        ("behavioral_cloning: {demo_path: DEMO}", "behavioral_cloning.demo_path`: the demonstration"),
        ("behavioral_cloning: {demo_path: missing.demo}", "'missing.demo' does not exist"),
    ],
    ids=["negative-strength", "gail-without-demo", "vail-on-curiosity", "gail-other-behavior", "bc-other-behavior",
         "bc-missing"],
)  # fmt: skip
def test_bad_imitation_settings_are_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signal: str, expected: str
) -> None:
    from mlagents_fast.learn import main

    demo = record(tmp_path, (0, 1), steps=30)  # SimpleEnvironment's: not 3DBall's
    config = tmp_path / "config.yaml"
    config.write_text(f"behaviors:\n  3DBall:\n    trainer_type: ppo\n    {signal.replace('DEMO', demo)}\n")
    results = tmp_path / "results"
    assert main([str(config), "--run-id=bad", f"--results-dir={results}"]) == 1
    error = capsys.readouterr().err
    assert expected in error and "Traceback" not in error
    assert not (results / "bad").exists()


def test_a_demonstration_with_actions_the_behavior_cannot_take_is_refused(tmp_path: Path) -> None:
    from mlagents_fast.demonstrations.reader import read_demonstration
    from mlagents_fast.demonstrations.writer import write_demonstration

    demo = read_demonstration(record(tmp_path, (0, 1), steps=30))
    spec = make(BEHAVIOR, 1, action_sizes=(0, 1)).behavior_specs[BEHAVIOR]
    demo.discrete_actions[3, 0] = 7  # branch 0 has choices 0 and 1
    bad = tmp_path / "bad.demo"
    write_demonstration(bad, demo)
    with pytest.raises(
        UnityTrainerException, match=r"records action 7 on branch 0 \(record 3\), which has choices 0 to 1"
    ):
        gail(str(bad), spec)
