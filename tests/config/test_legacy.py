"""Older formats: ML-Agents 0.x flat trainer configs, 0.17-0.18 sections, old curriculum/sampler files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlagents_fast.config import (
    ConfigError,
    GAILSettings,
    PPOSettings,
    SACSettings,
    load_run_options,
)
from mlagents_fast.config.cli import parse_command_line
from mlagents_fast.config.legacy import detect_format
from mlagents_fast.config.upgrade import main as upgrade_main
from mlagents_fast.config.upgrade import upgrade_config, upgraded_config
from mlagents_fast.config.yaml_io import read_yaml
from mlagents_fast.envs.parameters import Sampler
from tests.config.conftest import PPO_DEFAULT_0X, WriteFile

# A 0.15-era trainer_config.yaml: a PPO default, a recurrent behavior, a SAC behavior with old SAC keys.
TRAINER_CONFIG_0X = (
    PPO_DEFAULT_0X
    + """
Hallway:
    use_recurrent: true
    sequence_length: 32
    memory_size: 256
    beta: 1.0e-2
    num_epoch: 3
    buffer_size: 1024
    batch_size: 128
    max_steps: 1.0e7
    summary_freq: 10000
    time_horizon: 64
    reward_signals:
        extrinsic:
            strength: 1.0
            gamma: 0.99
        gail:
            strength: 0.01
            gamma: 0.99
            encoding_size: 128
            demo_path: demos/ExpertHallway.demo

3DBall:
    trainer: sac
    normalize: true
    batch_size: 64
    buffer_size: 12000
    buffer_init_steps: 0
    hidden_units: 64
    init_entcoef: 0.5
    max_steps: 5.0e5
    summary_freq: 12000
    time_horizon: 1000
    train_interval: 10
    num_update: 2
    tau: 0.005
    learning_rate_schedule: constant
    pretraining:
        demo_path: demos/Expert3DBall.demo
        strength: 0.5
        steps: 10000
    reward_signals:
        reward_signal_num_update: 5
        extrinsic:
            strength: 1.0
            gamma: 0.99
"""
)

OLD_SAMPLER = """
resampling-interval: 5000
mass:
    sampler-type: "uniform"
    min_value: 0.5
    max_value: 10
gravity:
    sampler-type: "multirange_uniform"
    intervals: [[7, 10], [15, 20]]
scale:
    sampler-type: "uniform"
    min_value: 0.75
    max_value: 3
"""

WALL_CURRICULUM = {
    "measure": "progress",
    "thresholds": [0.1, 0.3, 0.5],
    "min_lesson_length": 100,
    "signal_smoothing": True,
    "parameters": {"big_wall_min_height": [0.0, 4.0, 6.0, 8.0], "big_wall_max_height": [4.0, 7.0, 8.0, 8.0]},
}


def test_0x_trainer_config_is_upgraded_in_memory(write: WriteFile, caplog: pytest.LogCaptureFixture) -> None:
    path = write("trainer_config.yaml", TRAINER_CONFIG_0X)
    run = load_run_options(path)
    assert "0.x format" in caplog.text and "upgrade-config" in caplog.text
    assert set(run.behaviors) == {"Hallway", "3DBall"}

    hallway = run.behaviors["Hallway"]
    assert hallway.trainer_type == "ppo" and isinstance(hallway.hyperparameters, PPOSettings)
    assert (hallway.hyperparameters.batch_size, hallway.hyperparameters.buffer_size) == (128, 1024)
    assert hallway.hyperparameters.beta == 1e-2 and hallway.hyperparameters.learning_rate_schedule == "linear"
    memory = hallway.network_settings.memory
    assert memory is not None and (memory.sequence_length, memory.memory_size) == (32, 256)
    assert (hallway.max_steps, hallway.summary_freq, hallway.time_horizon) == (10_000_000, 10000, 64)
    gail = hallway.reward_signals["gail"]
    assert isinstance(gail, GAILSettings) and gail.demo_path == "demos/ExpertHallway.demo"
    assert gail.network_settings.hidden_units == 128  # from the deprecated encoding_size

    ball = run.behaviors["3DBall"]
    hp = ball.hyperparameters
    assert ball.trainer_type == "sac" and isinstance(hp, SACSettings)
    assert (hp.batch_size, hp.buffer_size, hp.init_entcoef, hp.learning_rate_schedule) == (64, 12000, 0.5, "constant")
    assert hp.steps_per_update == 5.0  # train_interval 10 / num_update 2
    assert hp.reward_signal_steps_per_update == 2.0  # train_interval 10 / reward_signal_num_update 5
    assert ball.network_settings.memory is None  # use_recurrent false from default
    assert (ball.network_settings.normalize, ball.network_settings.hidden_units) == (True, 64)
    assert ball.behavioral_cloning is not None
    assert (ball.behavioral_cloning.demo_path, ball.behavioral_cloning.strength) == ("demos/Expert3DBall.demo", 0.5)
    assert list(ball.reward_signals) == ["extrinsic"]


def test_0x_format_before_reward_signals(write: WriteFile) -> None:
    text = "default:\n  trainer: ppo\n  gamma: 0.9\n  use_curiosity: true\n  curiosity_strength: 0.02\nBrain: {}\n"
    run = load_run_options(write("old.yaml", text))
    signals = run.behaviors["Brain"].reward_signals
    assert signals["extrinsic"].gamma == 0.9
    assert signals["curiosity"].strength == 0.02 and signals["curiosity"].network_settings.hidden_units == 128


def test_0x_unknown_key_suggests_the_closest(write: WriteFile) -> None:
    path = write("old.yaml", "default:\n  trainer: ppo\nBrain:\n  use_recurent: true\n")
    with pytest.raises(ConfigError) as info:
        load_run_options(path)
    assert info.value.key == "Brain.use_recurent" and info.value.suggestion == "use_recurrent"
    assert str(path) in str(info.value)


# A bad value in a 0.x file: the error names the key as the file writes it (in `default:` or in the
# behavior's own section, or in the section a behavior reuses) and the key it was upgraded to.
BAD_0X_VALUES = [
    ("default:\n  trainer: ppo\n  max_steps: -5\nBrain: {}\n", "default.max_steps", "behaviors.Brain.max_steps"),
    (
        "default:\n  trainer: ppo\n  batch_size: 64\nBrain:\n  batch_size: 1024\n  buffer_size: 512\n",
        "Brain.batch_size",
        "behaviors.Brain.hyperparameters.batch_size",
    ),
    (
        "default:\n  trainer: ppo\nBrain:\n  use_recurrent: true\n  memory_size: 7\n",
        "Brain.memory_size",
        "behaviors.Brain.network_settings.memory.memory_size",
    ),
    (
        "Brain:\n  trainer: ppo\n  reward_signals:\n    extrinsic: {strength: 1.0, gama: 0.9}\nOther: Brain\n",
        "Brain.reward_signals.extrinsic.gama",
        "behaviors.Brain.reward_signals.extrinsic.gama",
    ),
    ("default:\n  trainer: ppo\nBrain:\n  gamma: 2\n", "Brain.gamma", "behaviors.Brain.reward_signals.extrinsic.gamma"),
]


@pytest.mark.parametrize(("text", "written", "upgraded"), BAD_0X_VALUES)
def test_0x_errors_name_the_key_as_the_file_writes_it(write: WriteFile, text: str, written: str, upgraded: str) -> None:
    path = write("old.yaml", text)
    for load in (load_run_options, lambda p: parse_command_line([str(p), "--run-id=x"]), upgraded_config):
        with pytest.raises(ConfigError) as info:
            load(path)
        assert info.value.key == upgraded
        assert f"{path} at `{written}` (`{upgraded}` in the current format)" in str(info.value)


def test_a_flag_is_blamed_for_its_own_value_in_a_0x_run(write: WriteFile) -> None:
    path = write("old.yaml", "default:\n  trainer: ppo\n  keep_checkpoints: 5\nBrain: {}\n")
    with pytest.raises(ConfigError, match=r"^[^`]*the command line \(--keep-checkpoints\) at `behaviors\.Brain\.keep"):
        parse_command_line([str(path), "--run-id=x", "--keep-checkpoints=-1"])


def test_0x_removed_trainer_is_explained(write: WriteFile) -> None:
    """The removed imitation trainers are refused with the current settings that do the same."""
    equivalent = "behaviors: {Student: {trainer_type: ppo, behavioral_cloning: {demo_path: a.demo, batch_size: 16}}}"
    with pytest.raises(ConfigError, match=r"offline_bc") as error:
        load_run_options(write("old.yaml", "Student:\n  trainer: offline_bc\n  demo_path: a.demo\n  batch_size: 16\n"))
    assert equivalent in str(error.value)
    with pytest.raises(ConfigError, match=r"online_bc") as error:
        load_run_options(write("old.yaml", "Student:\n  trainer: online_bc\n  brain_to_imitate: Teacher\n"))
    assert "behavioral_cloning: {demo_path: TEACHER.demo}" in str(error.value) and "recorded from Teacher" in str(
        error.value
    )


def test_format_detection() -> None:
    assert detect_format({"behaviors": {}}) == "current"
    assert detect_format({"behaviors": {}, "curriculum": {}}) == "intermediate"
    assert detect_format({"default": {"trainer": "ppo"}}) == "flat"
    assert detect_format({"Brain": {"batch_size": 3}}) == "flat"
    assert detect_format({"behaviours": {"B": {}}}) == "current"  # a typo is reported, not guessed at
    assert detect_format(None) == "current"


def test_0_17_curriculum_and_parameter_randomization(write: WriteFile, caplog: pytest.LogCaptureFixture) -> None:
    text = f"""
    behaviors:
      BigWallJump: {{trainer_type: ppo}}
    parameter_randomization:
      resampling-interval: 2000
      mass:
        sampler_type: uniform
        min_value: 0.5
        max_value: 10
      scale:
        sampler_type: gaussian
        sampler_parameters: {{mean: 2, st_dev: 0.5}}
      big_wall_max_height: 5
    curriculum:
      BigWallJump: {json.dumps(WALL_CURRICULUM)}
    """
    run = load_run_options(write("wall.yaml", text))
    assert "0.17-0.18" in caplog.text and "resampling-interval" in caplog.text
    params = run.environment_parameters
    assert params is not None
    assert params["mass"].curriculum[0].value == Sampler("uniform", ((0.5, 10.0),))
    assert params["scale"].curriculum[0].value == Sampler("gaussian", ((2.0, 0.5),))
    # a parameter with a sampler keeps it; its curriculum is ignored
    assert params["big_wall_max_height"].curriculum[0].value == Sampler("constant", ((5.0, 5.0),))
    lessons = params["big_wall_min_height"].curriculum
    assert [lesson.name for lesson in lessons] == ["Lesson0", "Lesson1", "Lesson2", "Lesson3"]
    assert [lesson.value.intervals[0][0] for lesson in lessons] == [0.0, 4.0, 6.0, 8.0]
    first = lessons[0].completion_criteria
    assert first is not None
    assert (first.behavior, first.measure, first.threshold, first.min_lesson_length) == (
        "BigWallJump",
        "progress",
        0.1,
        100,
    )
    assert first.signal_smoothing is True and lessons[-1].completion_criteria is None


def test_old_curriculum_defaults(write: WriteFile) -> None:
    text = "behaviors: {B: {}}\ncurriculum:\n  B: {measure: reward, thresholds: [1.0], parameters: {p: [1, 2]}}\n"
    criteria = load_run_options(write("c.yaml", text)).environment_parameters["p"].curriculum[0].completion_criteria  # type: ignore[index]
    assert criteria is not None and (criteria.min_lesson_length, criteria.signal_smoothing) == (1, False)


def test_old_curriculum_value_count_is_checked(write: WriteFile) -> None:
    text = "behaviors: {B: {}}\ncurriculum:\n  B: {measure: reward, thresholds: [1.0], parameters: {p: [1, 2, 3]}}\n"
    with pytest.raises(ConfigError, match=r"curriculum\.B\.parameters\.p.*2 values"):
        load_run_options(write("c.yaml", text))


def _curriculum_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "curricula"
    folder.mkdir()
    (folder / "BigWallJump.json").write_text(json.dumps(WALL_CURRICULUM))
    small = {"measure": "reward", "thresholds": [0.5], "parameters": {"small_wall_height": [1.5, 4.0]}}
    (folder / "SmallWallJump.json").write_text(json.dumps(small))
    return folder


def test_legacy_curriculum_folder_and_sampler_flags(
    write: WriteFile, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = write("trainer_config.yaml", TRAINER_CONFIG_0X)
    sampler = write("sampler.yaml", OLD_SAMPLER)
    argv = [str(config), "--curriculum", str(_curriculum_folder(tmp_path)), "--sampler", str(sampler), "--lesson", "1"]
    run = parse_command_line(argv)
    assert "--curriculum" in caplog.text and "--sampler" in caplog.text
    params = run.environment_parameters
    assert params is not None
    assert set(params) == {
        "mass",
        "gravity",
        "scale",
        "big_wall_min_height",
        "big_wall_max_height",
        "small_wall_height",
    }
    assert params["gravity"].curriculum[0].value == Sampler("multirangeuniform", ((7.0, 10.0), (15.0, 20.0)))
    small = params["small_wall_height"].curriculum
    assert small[0].completion_criteria is not None and small[0].completion_criteria.behavior == "SmallWallJump"
    assert run.start_lesson == 1


def test_legacy_curriculum_single_yaml_file(write: WriteFile) -> None:
    curriculum = write("wall_jump.yaml", f"BigWallJump: {json.dumps(WALL_CURRICULUM)}\n")
    run = parse_command_line(["--curriculum", str(curriculum)])
    assert run.environment_parameters is not None and "big_wall_min_height" in run.environment_parameters
    single = write("BigWallJump.json", json.dumps(WALL_CURRICULUM))  # one behavior's file, named after it
    run = parse_command_line(["--curriculum", str(single)])
    assert run.environment_parameters is not None
    criteria = run.environment_parameters["big_wall_max_height"].curriculum[0].completion_criteria
    assert criteria is not None and criteria.behavior == "BigWallJump"


def test_command_line_parameters_replace_the_file_s(write: WriteFile) -> None:
    config = write("t.yaml", "behaviors: {B: {}}\nenvironment_parameters: {mass: 1, length: 2}\n")
    run = parse_command_line([str(config), "--sampler", str(write("s.yaml", OLD_SAMPLER))])
    assert run.environment_parameters is not None
    assert run.environment_parameters["mass"].curriculum[0].value.kind == "uniform"
    assert run.environment_parameters["length"].curriculum[0].value.kind == "constant"


def test_custom_sampler_types_are_rejected(write: WriteFile) -> None:
    sampler = write("s.yaml", "mass:\n  sampler-type: custom-sampler\n  argA: 1\n")
    with pytest.raises(ConfigError, match=r"environment_parameters\.mass"):
        parse_command_line(["--sampler", str(sampler)])


def test_upgrade_config_writes_a_file_that_loads_to_the_same_settings(write: WriteFile, tmp_path: Path) -> None:
    old = write("trainer_config.yaml", TRAINER_CONFIG_0X)
    sampler = write("sampler.yaml", OLD_SAMPLER)
    folder = _curriculum_folder(tmp_path)
    new = tmp_path / "new.yaml"
    upgrade_config(old, new, curriculum=folder, sampler=sampler)
    written = read_yaml(new)
    assert set(written) == {"behaviors", "environment_parameters"}
    assert written["behaviors"]["3DBall"]["hyperparameters"]["steps_per_update"] == 5.0
    assert "memory" not in written["behaviors"]["3DBall"]["network_settings"]  # nulls are left out
    from_new = load_run_options(new)
    from_old = parse_command_line([str(old), "--curriculum", str(folder), "--sampler", str(sampler)])
    assert from_new == from_old
    assert from_new.to_dict() == from_old.to_dict()


def test_upgrade_config_0_17_and_main(write: WriteFile, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write(
        "wall.yaml", f"behaviors: {{BigWallJump: {{}}}}\ncurriculum:\n  BigWallJump: {json.dumps(WALL_CURRICULUM)}\n"
    )
    new = tmp_path / "wall_new.yaml"
    assert upgrade_main([str(old), str(new)]) == 0
    assert "Converting" in capsys.readouterr().out
    assert load_run_options(new) == load_run_options(old)
    assert read_yaml(new)["environment_parameters"]["big_wall_min_height"]["curriculum"][0]["name"] == "Lesson0"


def test_upgrade_main_reports_errors(write: WriteFile, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write("bad.yaml", "default:\n  trainer: ppo\n  batch_size: 10\n  buffer_size: 5\nB: {}\n")
    assert upgrade_main([str(old), str(tmp_path / "out.yaml")]) == 1
    assert "B.hyperparameters.batch_size" in capsys.readouterr().err
    assert not (tmp_path / "out.yaml").exists()


def test_upgrade_main_cannot_write(
    write: WriteFile, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    old = write("flat.yaml", "default:\n  trainer: ppo\n  use_recurrent: false\nB: {}\n")
    assert upgrade_main([str(old), str(tmp_path)]) == 1  # a folder, not a file
    error = capsys.readouterr().err
    assert f"could not write {tmp_path}" in error and "Traceback" not in error
    assert not list(tmp_path.glob(".*partial*"))  # no temporary left behind
    assert upgrade_main([str(old), str(tmp_path / "new" / "out.yaml")]) == 0  # a missing folder is made
    assert "upgraded in memory" not in caplog.text  # upgrade-config says what it does itself


# Every key the 0.x documentation lists for a PPO and a SAC behavior (memory, imitation, curiosity, GAIL, self-play).
DOCUMENTED_0X = """
BehaviorPPO:
    trainer: ppo
    batch_size: 1024
    buffer_size: 10240
    hidden_units: 128
    learning_rate: 3.0e-4
    learning_rate_schedule: linear
    max_steps: 5.0e5
    normalize: false
    num_layers: 2
    time_horizon: 64
    summary_freq: 10000
    vis_encoder_type: nature_cnn
    init_path: null
    beta: 5.0e-3
    epsilon: 0.2
    lambd: 0.95
    num_epoch: 3
    threaded: true
    use_recurrent: true
    sequence_length: 64
    memory_size: 256
    behavioral_cloning:
        demo_path: Expert.demo
        strength: 0.5
        steps: 150000
        batch_size: 512
        num_epoch: 3
        samples_per_update: 0
    reward_signals:
        extrinsic: {strength: 1.0, gamma: 0.99}
        curiosity: {strength: 0.02, gamma: 0.99, encoding_size: 256, learning_rate: 3.0e-4}
        gail: {strength: 0.01, gamma: 0.99, encoding_size: 128, demo_path: Expert.demo, learning_rate: 3.0e-4,
               use_actions: false, use_vail: false}
    self_play: {window: 10, play_against_latest_model_ratio: 0.5, save_steps: 50000, swap_steps: 50000,
                team_change: 100000}
BehaviorSAC:
    trainer: sac
    buffer_init_steps: 0
    tau: 0.005
    steps_per_update: 1
    train_interval: 1
    init_entcoef: 1.0
    save_replay_buffer: false
    reward_signals:
        reward_signal_num_update: 1
        extrinsic: {strength: 1.0, gamma: 0.99}
"""


def test_every_documented_0x_key(write: WriteFile) -> None:
    run = load_run_options(write("documented.yaml", DOCUMENTED_0X))
    ppo = run.behaviors["BehaviorPPO"]
    assert ppo.network_settings.vis_encode_type == "nature_cnn" and ppo.threaded is True
    assert ppo.network_settings.memory is not None and ppo.network_settings.memory.memory_size == 256
    assert ppo.reward_signals["curiosity"].network_settings.hidden_units == 256
    assert ppo.self_play is not None and ppo.self_play.swap_steps == 50000
    assert ppo.behavioral_cloning is not None and ppo.behavioral_cloning.batch_size == 512
    sac = run.behaviors["BehaviorSAC"].hyperparameters
    assert isinstance(sac, SACSettings) and (sac.steps_per_update, sac.reward_signal_steps_per_update) == (1, 1)
