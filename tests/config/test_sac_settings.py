"""SAC settings: each bad value or misplaced key is one paragraph naming the file and the dotted key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlagents_fast.config import ConfigError, SACSettings, SettingError, TrainerSettings, load_run_options
from mlagents_fast.config.cli import parse_command_line
from tests.config.conftest import WriteFile, learn_error

SAC_KEYS = ("learning_rate, learning_rate_schedule, batch_size, buffer_size, buffer_init_steps, tau, steps_per_update, "
            "save_replay_buffer, init_entcoef, reward_signal_steps_per_update")  # fmt: skip
PPO_KEYS = ("batch_size, buffer_size, learning_rate, beta, epsilon, lambd, num_epoch, shared_critic, "
            "learning_rate_schedule, beta_schedule, epsilon_schedule")  # fmt: skip
POCA_KEYS = ("batch_size, buffer_size, learning_rate, beta, epsilon, lambd, num_epoch, learning_rate_schedule, "
             "beta_schedule, epsilon_schedule")  # fmt: skip
KEYS_OF = {"sac": SAC_KEYS, "ppo": PPO_KEYS, "poca": POCA_KEYS}


def error_of(write: WriteFile, text: str) -> tuple[Path, ConfigError]:
    path = write("trainer.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_run_options(path)
    message = str(info.value)
    assert message.startswith(f"Invalid configuration in {path} at `") and "\n" not in message
    return path, info.value


def behavior(trainer_type: str, hyperparameters: str, extra: str = "") -> str:
    return f"behaviors:\n  B:\n    trainer_type: {trainer_type}\n    hyperparameters: {{{hyperparameters}}}\n{extra}"


# ML-Agents structures hyperparameters strictly into the trainer's class: another trainer's key is refused.
OTHER_TRAINERS_KEYS = [
    ("sac", "beta", "0.01", "ppo or poca"),
    ("sac", "epsilon", "0.2", "ppo or poca"),
    ("sac", "lambd", "0.95", "ppo or poca"),
    ("sac", "num_epoch", "3", "ppo or poca"),
    ("sac", "shared_critic", "true", "ppo"),
    ("sac", "beta_schedule", "linear", "ppo or poca"),
    ("sac", "epsilon_schedule", "constant", "ppo or poca"),
    *(
        (trainer, key, value, "sac")
        for trainer in ("ppo", "poca")
        for key, value in (
            ("tau", "0.005"),
            ("steps_per_update", "10"),
            ("buffer_init_steps", "1000"),
            ("init_entcoef", "0.5"),
            ("save_replay_buffer", "true"),
            ("reward_signal_steps_per_update", "10"),
        )
    ),
    ("poca", "shared_critic", "false", "ppo"),
]


@pytest.mark.parametrize(("trainer", "key", "value", "owners"), OTHER_TRAINERS_KEYS)
def test_another_trainer_s_hyperparameter_is_refused(
    write: WriteFile, trainer: str, key: str, value: str, owners: str
) -> None:
    path, err = error_of(write, behavior(trainer, f"{key}: {value}"))
    assert err.key == f"behaviors.B.hyperparameters.{key}"
    assert str(err) == (
        f"Invalid configuration in {path} at `behaviors.B.hyperparameters.{key}`: expected one of the {trainer} "
        f"hyperparameters ({KEYS_OF[trainer]}), found '{key}', which is a hyperparameter of trainer_type {owners}."
    )


def test_ppo_key_under_a_behavior_that_inherits_sac_from_default_settings(write: WriteFile) -> None:
    text = "default_settings: {trainer_type: sac}\nbehaviors:\n  B: {hyperparameters: {beta: 0.01}}\n"
    _, err = error_of(write, text)
    assert err.key == "behaviors.B.hyperparameters.beta" and "which is a hyperparameter of trainer_type ppo" in str(err)
    _, err = error_of(write, "default_settings: {trainer_type: sac, hyperparameters: {lambd: 0.9}}\nbehaviors: {}\n")
    assert err.key == "default_settings.hyperparameters.lambd"


def test_default_settings_of_another_trainer_type_do_not_leak_their_hyperparameters(write: WriteFile) -> None:
    """A behavior that changes trainer_type starts from its own trainer's defaults (ML-Agents would
    refuse the PPO keys the default's hyperparameters carry, even when the file wrote none)."""
    text = """
    default_settings: {trainer_type: ppo, hyperparameters: {beta: 0.01, batch_size: 64}, max_steps: 1000}
    behaviors:
      Sac: {trainer_type: sac, hyperparameters: {tau: 0.01}}
      Ppo: {}
    """
    run = load_run_options(write("trainer.yaml", text))
    assert run.behaviors["Sac"].hyperparameters == SACSettings(tau=0.01)
    assert run.behaviors["Sac"].max_steps == 1000
    assert run.behaviors["Ppo"].hyperparameters.batch_size == 64


# (hyperparameters, dotted key under behaviors.B.hyperparameters, expected, found)
BAD_SAC_VALUES = [
    ("tau: 0", "tau", "a number in (0, 1]", "0.0"),
    ("tau: -0.1", "tau", "a number in (0, 1]", "-0.1"),
    ("tau: 1.5", "tau", "a number in (0, 1]", "1.5"),
    ("tau: .nan", "tau", "a number in (0, 1]", "nan"),
    ("steps_per_update: 0", "steps_per_update", "a number > 0", "0.0"),
    ("steps_per_update: -1", "steps_per_update", "a number > 0", "-1.0"),
    ("steps_per_update: .inf", "steps_per_update", "a number > 0", "inf"),
    ("reward_signal_steps_per_update: 0", "reward_signal_steps_per_update", "a number > 0", "0.0"),
    ("reward_signal_steps_per_update: -2", "reward_signal_steps_per_update", "a number > 0", "-2.0"),
    ("init_entcoef: 0", "init_entcoef", "a number > 0", "0.0"),
    ("init_entcoef: -0.5", "init_entcoef", "a number > 0", "-0.5"),
    ("buffer_init_steps: -1", "buffer_init_steps", "an integer >= 0", "-1"),
    ("buffer_init_steps: 2.5", "buffer_init_steps", "an integer", "2.5"),
    ("tau: fast", "tau", "a number", "'fast'"),
    ("save_replay_buffer: 1", "save_replay_buffer", "true or false", "1"),
    ("learning_rate_schedule: cosine", "learning_rate_schedule", "one of constant, linear", "'cosine'"),
    (
        "buffer_init_steps: 1001",
        "buffer_init_steps",
        "at most max_steps (1000; SAC's updates start only after buffer_init_steps)",
        "1001",
    ),
]


@pytest.mark.parametrize(("hyperparameters", "key", "expected", "found"), BAD_SAC_VALUES)
def test_bad_sac_values(write: WriteFile, hyperparameters: str, key: str, expected: str, found: str) -> None:
    path, err = error_of(write, behavior("sac", hyperparameters, "    max_steps: 1000\n"))
    dotted = f"behaviors.B.hyperparameters.{key}"
    assert err.key == dotted
    assert str(err) == f"Invalid configuration in {path} at `{dotted}`: expected {expected}, found {found}."


def test_sac_limits_that_are_allowed(write: WriteFile) -> None:
    text = behavior("sac", "tau: 1, buffer_init_steps: 1000, steps_per_update: 0.25, init_entcoef: 1.0e-6") + (
        "    max_steps: 1000\n"
    )
    hp = load_run_options(write("trainer.yaml", text)).behaviors["B"].hyperparameters
    assert hp == SACSettings(tau=1.0, buffer_init_steps=1000, steps_per_update=0.25, init_entcoef=1e-6)
    assert isinstance(hp, SACSettings) and hp.reward_signal_steps_per_update == 0.25  # follows steps_per_update


def test_sac_batch_size_may_exceed_buffer_size(write: WriteFile) -> None:
    """ML-Agents checks batch_size against buffer_size for no trainer; for SAC the replay buffer only
    holds what is sampled from, so a larger batch is not refused (PPO's check is ours, kept)."""
    text = behavior("sac", "batch_size: 512, buffer_size: 256")
    hp = load_run_options(write("trainer.yaml", text)).behaviors["B"].hyperparameters
    assert (hp.batch_size, hp.buffer_size) == (512, 256)


def test_buffer_init_steps_is_checked_against_each_behavior_s_max_steps(write: WriteFile) -> None:
    text = """
    default_settings: {trainer_type: sac, hyperparameters: {buffer_init_steps: 5000}, max_steps: 10000}
    behaviors:
      Long: {}
      Short: {max_steps: 4000}
    """
    path, err = error_of(write, text)
    assert err.key == "behaviors.Short.hyperparameters.buffer_init_steps"
    assert str(err) == (
        f"Invalid configuration in {path} at `behaviors.Short.hyperparameters.buffer_init_steps`: expected at most "
        "max_steps (4000; SAC's updates start only after buffer_init_steps), found 5000."
    )


def test_trainer_settings_check_buffer_init_steps_when_built() -> None:
    with pytest.raises(SettingError) as info:
        TrainerSettings(trainer_type="sac", max_steps=10, hyperparameters=SACSettings(buffer_init_steps=11))
    assert info.value.key == "hyperparameters.buffer_init_steps"
    ok = TrainerSettings(trainer_type="sac", max_steps=10, hyperparameters=SACSettings(buffer_init_steps=10))
    assert ok.hyperparameters.buffer_init_steps == 10  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (lambda: SACSettings(tau=0.0), "tau"),
        (lambda: SACSettings(tau=1.01), "tau"),
        (lambda: SACSettings(steps_per_update=0), "steps_per_update"),
        (lambda: SACSettings(reward_signal_steps_per_update=0), "reward_signal_steps_per_update"),
        (lambda: SACSettings(init_entcoef=0.0), "init_entcoef"),
        (lambda: SACSettings(buffer_init_steps=-1), "buffer_init_steps"),
    ],
)
def test_sac_settings_check_themselves_when_built(build: object, key: str) -> None:
    with pytest.raises(SettingError) as info:
        build()  # type: ignore[operator]
    assert info.value.key == key


def test_command_line_run_reports_sac_errors_with_the_file(write: WriteFile) -> None:
    path = write("trainer.yaml", behavior("sac", "tau: 2"))
    with pytest.raises(ConfigError, match=rf"^Invalid configuration in {path} at `behaviors\.B\.hyperparameters\.tau`"):
        parse_command_line([str(path), "--run-id=x"])


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (behavior("sac", "beta: 0.01"), "behaviors.B.hyperparameters.beta"),
        (behavior("ppo", "tau: 0.01"), "behaviors.B.hyperparameters.tau"),
        (
            behavior("sac", "buffer_init_steps: 10", "    max_steps: 5\n"),
            "behaviors.B.hyperparameters.buffer_init_steps",
        ),
    ],
)
def test_mlagents_learn_sac_config_errors_import_no_torch(tmp_path: Path, text: str, key: str) -> None:
    assert f"`{key}`" in learn_error(tmp_path, text)
