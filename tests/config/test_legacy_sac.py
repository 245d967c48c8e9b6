"""ML-Agents 0.x SAC behaviors (`trainer: sac` and its flat keys), upgraded in memory and by upgrade-config."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlagents_fast.config import (
    ConfigError,
    MemorySettings,
    NetworkSettings,
    RewardSignalSettings,
    RunOptions,
    SACSettings,
    load_run_options,
)
from mlagents_fast.config.cli import parse_command_line
from mlagents_fast.config.legacy import upgrade
from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.config.upgrade import main as upgrade_main
from mlagents_fast.config.upgrade import upgraded_config
from mlagents_fast.config.yaml_io import read_yaml
from tests.config.conftest import PPO_DEFAULT_0X, WriteFile, learn_error

# A 0.x trainer_config.yaml: the usual PPO default, a 0.10-0.15 SAC behavior with every SAC key of
# its time, a 0.16 one (steps_per_update; reward_signal_steps_per_update under reward_signals), and
# one that reuses the first's section.
SAC_0X = (
    PPO_DEFAULT_0X
    + """
Walker:
    trainer: sac
    batch_size: 256
    buffer_size: 500000
    buffer_init_steps: 1000
    init_entcoef: 0.25
    learning_rate: 1.0e-4
    learning_rate_schedule: constant
    tau: 0.01
    train_interval: 4
    num_update: 2
    save_replay_buffer: true
    use_recurrent: true
    sequence_length: 32
    memory_size: 256
    hidden_units: 256
    num_layers: 3
    normalize: true
    vis_encode_type: nature_cnn
    max_steps: 2.0e6
    time_horizon: 1000
    summary_freq: 30000
    reward_signals:
        reward_signal_num_update: 8
        extrinsic:
            strength: 1.0
            gamma: 0.995

Crawler:
    trainer: sac
    steps_per_update: 20
    init_entcoef: 0.5
    reward_signals:
        reward_signal_steps_per_update: 10
        extrinsic:
            strength: 2.0
            gamma: 0.9

WalkerCopy: Walker
"""
)

WALKER = SACSettings(
    learning_rate=1e-4,
    learning_rate_schedule="constant",
    batch_size=256,
    buffer_size=500000,
    buffer_init_steps=1000,
    tau=0.01,
    steps_per_update=2.0,  # train_interval 4 / num_update 2
    save_replay_buffer=True,
    init_entcoef=0.25,
    reward_signal_steps_per_update=0.5,  # train_interval 4 / reward_signal_num_update 8
)
# a SAC behavior takes the default's shared keys (batch_size, buffer_size, learning_rate and its
# schedule), as 0.x merged them; the PPO-only ones (beta, epsilon, lambd, num_epoch) are dropped
CRAWLER = SACSettings(
    learning_rate=3e-4,
    learning_rate_schedule="linear",
    batch_size=1024,
    buffer_size=10240,
    steps_per_update=20.0,
    init_entcoef=0.5,
    reward_signal_steps_per_update=10.0,
)


def check_sac_behaviors(run: RunOptions) -> None:
    assert set(run.behaviors) == {"Walker", "Crawler", "WalkerCopy"}
    for name in ("Walker", "WalkerCopy"):
        walker = run.behaviors[name]
        assert walker.trainer_type == "sac" and walker.hyperparameters == WALKER
        assert walker.network_settings == NetworkSettings(
            normalize=True, hidden_units=256, num_layers=3, vis_encode_type="nature_cnn", memory=MemorySettings(32, 256)
        )
        assert (walker.max_steps, walker.time_horizon, walker.summary_freq) == (2_000_000, 1000, 30000)
        assert walker.reward_signals == {"extrinsic": RewardSignalSettings(gamma=0.995, strength=1.0)}
    crawler = run.behaviors["Crawler"]
    assert crawler.trainer_type == "sac" and crawler.hyperparameters == CRAWLER
    assert crawler.network_settings == NetworkSettings()  # use_recurrent false in default
    assert (crawler.max_steps, crawler.time_horizon, crawler.summary_freq) == (500_000, 64, 10000)
    assert crawler.reward_signals == {"extrinsic": RewardSignalSettings(gamma=0.9, strength=2.0)}


def test_0x_sac_through_the_loader(write: WriteFile, caplog: pytest.LogCaptureFixture) -> None:
    path = write("trainer_config.yaml", SAC_0X)
    check_sac_behaviors(load_run_options(path))
    assert "0.x format" in caplog.text
    check_sac_behaviors(parse_command_line([str(path), "--run-id=sac"]))  # what mlagents-learn reads
    check_sac_behaviors(run_options_from_dict(upgrade(read_yaml(path), str(path), notice=False), str(path)))


def test_0x_sac_through_upgrade_config(write: WriteFile, tmp_path: Path) -> None:
    old, new = write("trainer_config.yaml", SAC_0X), tmp_path / "new.yaml"
    assert upgrade_main([str(old), str(new)]) == 0
    written = read_yaml(new)
    assert set(written) == {"behaviors"}
    walker = written["behaviors"]["Walker"]
    assert walker["trainer_type"] == "sac"
    assert walker["hyperparameters"] == {
        "learning_rate": 1e-4,
        "learning_rate_schedule": "constant",
        "batch_size": 256,
        "buffer_size": 500000,
        "buffer_init_steps": 1000,
        "tau": 0.01,
        "steps_per_update": 2.0,
        "save_replay_buffer": True,
        "init_entcoef": 0.25,
        "reward_signal_steps_per_update": 0.5,
    }
    assert walker["network_settings"]["memory"] == {"sequence_length": 32, "memory_size": 256}
    assert set(walker["reward_signals"]) == {"extrinsic"}  # reward_signal_num_update is now a hyperparameter
    assert (walker["reward_signals"]["extrinsic"]["gamma"], walker["reward_signals"]["extrinsic"]["strength"]) == (
        0.995,
        1.0,
    )
    crawler = written["behaviors"]["Crawler"]["hyperparameters"]
    assert (crawler["steps_per_update"], crawler["reward_signal_steps_per_update"]) == (20.0, 10.0)
    assert "reward_signal_steps_per_update" not in written["behaviors"]["Crawler"]["reward_signals"]
    check_sac_behaviors(load_run_options(new))
    assert load_run_options(new) == load_run_options(old)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # num_update alone: that many updates every step
        ("B:\n  trainer: sac\n  num_update: 4\n", (0.25, 0.25)),
        # reward_signal_num_update without train_interval: per step
        (
            "B:\n  trainer: sac\n  reward_signals:\n    reward_signal_num_update: 2\n    extrinsic: {gamma: 0.99}\n",
            (1.0, 0.5),
        ),
        # the current keys win over the old ones, flat or under reward_signals
        (
            "B:\n  trainer: sac\n  steps_per_update: 3\n  train_interval: 10\n  reward_signal_steps_per_update: 6\n"
            "  reward_signals:\n    reward_signal_num_update: 5\n    reward_signal_steps_per_update: 7\n"
            "    extrinsic: {gamma: 0.99}\n",
            (3.0, 6.0),
        ),
        # steps_per_update given, train_interval still counts the reward signals' updates
        (
            "B:\n  trainer: sac\n  steps_per_update: 3\n  train_interval: 10\n"
            "  reward_signals:\n    reward_signal_num_update: 5\n    extrinsic: {gamma: 0.99}\n",
            (3.0, 2.0),
        ),
        # nothing given: ML-Agents' defaults
        ("B:\n  trainer: sac\n  tau: 0.5\n", (1.0, 1.0)),
    ],
)
def test_0x_sac_update_ratios(write: WriteFile, text: str, expected: tuple[float, float]) -> None:
    hp = load_run_options(write("old.yaml", text)).behaviors["B"].hyperparameters
    assert isinstance(hp, SACSettings)
    assert (hp.steps_per_update, hp.reward_signal_steps_per_update) == expected


# A bad 0.x SAC value: one paragraph naming the key as the file writes it and the key it becomes.
BAD_0X_SAC = [
    (
        "B:\n  trainer: sac\n  num_update: 0\n",
        "B.num_update",
        "steps_per_update",
        "an integer >= 1 (updates every train_interval steps), found 0",
    ),
    (
        "default:\n  trainer: sac\n  train_interval: often\nB: {}\n",
        "default.train_interval",
        "steps_per_update",
        "an integer >= 1 (steps between updates), found 'often'",
    ),
    (
        "B:\n  trainer: sac\n  train_interval: 2.5\n",
        "B.train_interval",
        "steps_per_update",
        "an integer >= 1 (steps between updates), found 2.5",
    ),
    (
        "default:\n  trainer: sac\n  train_interval: null\nB: {}\n",
        "default.train_interval",
        "steps_per_update",
        "an integer >= 1 (steps between updates), found null",
    ),
    (
        "B:\n  trainer: sac\n  reward_signals:\n    reward_signal_num_update: 0\n    extrinsic: {gamma: 0.99}\n",
        "B.reward_signals.reward_signal_num_update",
        "reward_signal_steps_per_update",
        "an integer >= 1 (reward signal updates every train_interval steps), found 0",
    ),
    (
        "default:\n  trainer: sac\n  reward_signals:\n    reward_signal_steps_per_update: -1\n"
        "    extrinsic: {gamma: 0.99}\nB: {}\n",
        "default.reward_signals.reward_signal_steps_per_update",
        "reward_signal_steps_per_update",
        "a number > 0, found -1.0",
    ),
    ("B:\n  trainer: sac\n  tau: 0\n", "B.tau", "tau", "a number in (0, 1], found 0.0"),
    ("default:\n  trainer: sac\n  init_entcoef: -1\nB: {}\n", "default.init_entcoef", "init_entcoef", "a number > 0"),
    ("default:\n  trainer: sac\n  train_interval: 2\nB:\n  num_update: -3\n", "B.num_update", "steps_per_update", "-3"),
    (
        "default:\n  trainer: sac\n  max_steps: 1000\nB:\n  buffer_init_steps: 5000\n",
        "B.buffer_init_steps",
        "buffer_init_steps",
        "at most max_steps (1000; SAC's updates start only after buffer_init_steps), found 5000",
    ),
]


@pytest.mark.parametrize(("text", "written", "key", "message"), BAD_0X_SAC)
def test_bad_0x_sac_values(write: WriteFile, text: str, written: str, key: str, message: str) -> None:
    path = write("old.yaml", text)
    dotted = f"behaviors.B.hyperparameters.{key}"
    for load in (load_run_options, upgraded_config):
        with pytest.raises(ConfigError) as info:
            load(path)
        assert info.value.key == dotted
        start = f"Invalid configuration in {path} at `{written}` (`{dotted}` in the current format): expected "
        assert str(info.value).startswith(start) and message in str(info.value) and "\n" not in str(info.value)


def test_upgrade_config_reports_a_bad_0x_sac_value(
    write: WriteFile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = write("old.yaml", "B:\n  trainer: sac\n  num_update: 0\n")
    assert upgrade_main([str(old), str(tmp_path / "out.yaml")]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: Invalid configuration in {old} at `B.num_update`") and "Traceback" not in error
    assert not (tmp_path / "out.yaml").exists()


def test_mlagents_learn_reports_a_bad_0x_sac_value_without_torch(tmp_path: Path) -> None:
    error = learn_error(tmp_path, "B:\n  trainer: sac\n  num_update: 0\n")
    assert "at `B.num_update` (`behaviors.B.hyperparameters.steps_per_update` in the current format)" in error


def test_0x_pretraining_must_be_a_mapping(write: WriteFile) -> None:
    path = write("old.yaml", "default:\n  trainer: sac\n  pretraining: [Expert.demo]\nB: {}\n")
    with pytest.raises(ConfigError) as info:
        load_run_options(path)
    assert info.value.key == "behaviors.B.behavioral_cloning"
    assert str(info.value).startswith(
        f"Invalid configuration in {path} at `default.pretraining` (`behaviors.B.behavioral_cloning` in the current "
        "format): expected a mapping of imitation settings (demo_path, strength, steps, batch_size, num_epoch, "
        "samples_per_update), found ['Expert.demo']."
    )
