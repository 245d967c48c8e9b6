"""Defaults equal ML-Agents 1.1's (mlagents/trainers/settings.py and the trainers' settings classes)."""

from __future__ import annotations

import pytest

from mlagents_fast.config import (
    BehavioralCloningSettings,
    CheckpointSettings,
    CompletionCriteriaSettings,
    CuriositySettings,
    EngineSettings,
    EnvironmentSettings,
    GAILSettings,
    MemorySettings,
    NetworkSettings,
    POCASettings,
    PPOSettings,
    RewardSignalSettings,
    RNDSettings,
    RunOptions,
    SACSettings,
    SelfPlaySettings,
    SettingError,
    TorchSettings,
    TrainerSettings,
)


def test_trainer_defaults() -> None:
    t = TrainerSettings()
    assert t.trainer_type == "ppo"
    assert isinstance(t.hyperparameters, PPOSettings)
    assert (t.init_path, t.keep_checkpoints, t.even_checkpoints) == (None, 5, False)
    assert (t.checkpoint_interval, t.max_steps, t.time_horizon, t.summary_freq) == (500000, 500000, 64, 50000)
    assert t.threaded is False and t.self_play is None and t.behavioral_cloning is None
    assert list(t.reward_signals) == ["extrinsic"]
    assert t.reward_signals["extrinsic"] == RewardSignalSettings(gamma=0.99, strength=1.0)


def test_ppo_defaults() -> None:
    hp = PPOSettings()
    assert (hp.batch_size, hp.buffer_size, hp.learning_rate) == (1024, 10240, 3e-4)
    assert (hp.beta, hp.epsilon, hp.lambd, hp.num_epoch, hp.shared_critic) == (5e-3, 0.2, 0.95, 3, False)
    assert (hp.learning_rate_schedule, hp.beta_schedule, hp.epsilon_schedule) == ("linear", "linear", "linear")


def test_poca_is_ppo_without_shared_critic() -> None:
    ppo, poca = PPOSettings(), POCASettings()
    assert not hasattr(poca, "shared_critic")
    for name in ("batch_size", "buffer_size", "learning_rate", "beta", "epsilon", "lambd", "num_epoch"):
        assert getattr(poca, name) == getattr(ppo, name)
    assert TrainerSettings(trainer_type="poca").hyperparameters == poca


def test_sac_defaults() -> None:
    hp = TrainerSettings(trainer_type="sac").hyperparameters
    assert isinstance(hp, SACSettings)
    assert (hp.batch_size, hp.buffer_size, hp.buffer_init_steps, hp.tau) == (128, 50000, 0, 0.005)
    assert (hp.steps_per_update, hp.save_replay_buffer, hp.init_entcoef) == (1, False, 1.0)
    assert (hp.learning_rate, hp.learning_rate_schedule) == (3e-4, "constant")
    # reward_signal_steps_per_update follows steps_per_update unless given
    assert hp.reward_signal_steps_per_update == 1
    assert SACSettings(steps_per_update=10).reward_signal_steps_per_update == 10
    assert SACSettings(steps_per_update=10, reward_signal_steps_per_update=2).reward_signal_steps_per_update == 2


def test_network_defaults() -> None:
    n = NetworkSettings()
    assert (n.normalize, n.hidden_units, n.num_layers, n.vis_encode_type) == (False, 128, 2, "simple")
    assert (n.memory, n.goal_conditioning_type, n.deterministic) == (None, "hyper", False)
    assert (MemorySettings().sequence_length, MemorySettings().memory_size) == (64, 128)


def test_reward_signal_defaults() -> None:
    curiosity, rnd, gail = CuriositySettings(), RNDSettings(), GAILSettings(demo_path="x.demo")
    assert (curiosity.gamma, curiosity.strength, curiosity.learning_rate, curiosity.encoding_size) == (
        0.99,
        1.0,
        3e-4,
        None,
    )
    assert rnd.learning_rate == 1e-4
    assert (gail.learning_rate, gail.use_actions, gail.use_vail, gail.encoding_size) == (3e-4, False, False, None)
    assert gail.network_settings == NetworkSettings()


def test_imitation_and_self_play_defaults() -> None:
    bc = BehavioralCloningSettings(demo_path="x.demo")
    assert (bc.steps, bc.strength, bc.samples_per_update, bc.num_epoch, bc.batch_size) == (0, 1.0, 0, None, None)
    sp = SelfPlaySettings()
    assert (sp.save_steps, sp.team_change, sp.swap_steps, sp.window) == (20000, 100000, 2000, 10)
    assert (sp.play_against_latest_model_ratio, sp.initial_elo) == (0.5, 1200.0)
    assert SelfPlaySettings(save_steps=100).team_change == 500  # 5 x save_steps


def test_run_defaults() -> None:
    run = RunOptions()
    assert run.default_settings is None and run.environment_parameters is None and run.debug is False
    assert run.env_settings == EnvironmentSettings(
        env_path=None,
        env_args=None,
        base_port=5005,
        num_envs=1,
        num_areas=1,
        timeout_wait=60,
        seed=-1,
        max_lifetime_restarts=10,
        restarts_rate_limit_n=1,
        restarts_rate_limit_period_s=60,
    )
    assert run.engine_settings == EngineSettings(84, 84, 5, 20, -1, 60, False, False)
    assert run.checkpoint_settings == CheckpointSettings("ppo", None, False, False, False, False, False, "results")
    assert run.torch_settings == TorchSettings(device=None)
    assert run.checkpoint_settings.write_path.replace("\\", "/") == "results/ppo"


def test_completion_criteria_defaults() -> None:
    c = CompletionCriteriaSettings(behavior="B")
    assert (c.measure, c.min_lesson_length, c.signal_smoothing, c.threshold, c.require_reset) == (
        "reward",
        0,
        True,
        0.0,
        False,
    )


def test_to_dict_key_order_matches_configuration_yaml() -> None:
    run = RunOptions()
    run.behaviors["B"]  # an unlisted behavior gets the defaults
    d = run.to_dict()
    assert list(d) == [
        "default_settings",
        "behaviors",
        "env_settings",
        "engine_settings",
        "environment_parameters",
        "checkpoint_settings",
        "torch_settings",
        "debug",
    ]
    behavior = d["behaviors"]["B"]
    assert list(behavior)[:4] == ["trainer_type", "hyperparameters", "checkpoint_interval", "network_settings"]
    assert list(behavior["hyperparameters"])[-3:] == ["learning_rate_schedule", "beta_schedule", "epsilon_schedule"]
    assert behavior["reward_signals"]["extrinsic"]["network_settings"]["hidden_units"] == 128


def test_even_checkpoints_spread_checkpoints_over_max_steps() -> None:
    t = TrainerSettings(even_checkpoints=True, keep_checkpoints=4, max_steps=1000)
    assert t.checkpoint_interval == 250


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (lambda: MemorySettings(memory_size=3), "memory_size"),
        (lambda: MemorySettings(sequence_length=0), "sequence_length"),
        (lambda: PPOSettings(batch_size=2048, buffer_size=1024), "batch_size"),
        (lambda: SelfPlaySettings(play_against_latest_model_ratio=1.5), "play_against_latest_model_ratio"),
        (lambda: TrainerSettings(hyperparameters=SACSettings()), "hyperparameters"),
        (lambda: EnvironmentSettings(num_envs=0), "num_envs"),
    ],
)
def test_settings_check_themselves_when_built(build: object, key: str) -> None:
    with pytest.raises(SettingError) as info:
        build()  # type: ignore[operator]
    assert info.value.key == key
