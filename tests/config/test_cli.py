"""The mlagents-learn command line: flags and defaults of ML-Agents 1.1, precedence, legacy flags."""

from __future__ import annotations

import pytest

from mlagents_fast.config import ConfigError, RunOptions
from mlagents_fast.config.cli import build_parser, flags_given, parse_command_line
from mlagents_fast.config.yaml_io import dump_yaml
from tests.config.conftest import WriteFile

YAML = """
behaviors:
  3DBall:
    trainer_type: ppo
    hyperparameters: {batch_size: 64, buffer_size: 12000}
    keep_checkpoints: 3
env_settings: {env_path: 3DBall, num_envs: 2, seed: 11, base_port: 6000}
engine_settings: {time_scale: 7, width: 100}
checkpoint_settings: {run_id: from_yaml, results_dir: out}
torch_settings: {device: cuda:1}
debug: true
"""

DEFAULTS = {
    "trainer_config_path": None,
    "env_path": None,
    "resume": False,
    "load_model": False,
    "deterministic": False,
    "force": False,
    "run_id": "ppo",
    "initialize_from": None,
    "seed": -1,
    "train_model": False,
    "inference": False,
    "base_port": 5005,
    "num_envs": 1,
    "num_areas": 1,
    "debug": False,
    "env_args": None,
    "max_lifetime_restarts": 10,
    "restarts_rate_limit_n": 1,
    "restarts_rate_limit_period_s": 60,
    "results_dir": "results",
    "timeout_wait": 60,
    "width": 84,
    "height": 84,
    "quality_level": 5,
    "time_scale": 20,
    "target_frame_rate": -1,
    "capture_frame_rate": 60,
    "no_graphics": False,
    "no_graphics_monitor": False,
    "device": None,
}


def test_every_mlagents_learn_flag_has_ml_agents_default() -> None:
    args = vars(build_parser().parse_args([]))
    for dest, default in DEFAULTS.items():
        assert args[dest] == default, dest


def test_no_flags_no_file_gives_defaults(caplog: pytest.LogCaptureFixture) -> None:
    run = parse_command_line([])
    assert run == RunOptions()
    run.behaviors["Anything"]  # no file: unlisted behaviors get defaults, with a warning
    assert "does not match any behaviors" in caplog.text


def test_flags_given_are_recorded_even_at_their_default_value() -> None:
    args = build_parser().parse_args(["--run-id", "ppo", "--num-envs=1", "--no-graphics"])
    assert flags_given(args) == {"run_id", "num_envs", "no_graphics"}


def test_yaml_over_defaults(write: WriteFile) -> None:
    run = parse_command_line([str(write("t.yaml", YAML))])
    assert (run.env_settings.env_path, run.env_settings.num_envs, run.env_settings.seed) == ("3DBall", 2, 11)
    assert (run.engine_settings.time_scale, run.engine_settings.width, run.engine_settings.height) == (7, 100, 84)
    assert (run.checkpoint_settings.run_id, run.checkpoint_settings.results_dir) == ("from_yaml", "out")
    assert run.torch_settings.device == "cuda:1" and run.debug is True


def test_explicit_flags_over_yaml(write: WriteFile) -> None:
    path = write("t.yaml", YAML)
    argv = [str(path), "--run-id", "cli", "--num-envs", "4", "--seed", "-1", "--width", "84", "--torch-device", "cpu"]
    run = parse_command_line([*argv, "--env", "Other", "--no-graphics", "--results-dir", "r2", "--timeout-wait", "5"])
    assert (run.checkpoint_settings.run_id, run.checkpoint_settings.results_dir) == ("cli", "r2")
    assert (run.env_settings.env_path, run.env_settings.num_envs, run.env_settings.seed) == ("Other", 4, -1)
    assert (run.env_settings.base_port, run.env_settings.timeout_wait) == (6000, 5)  # not given: the YAML's
    assert (run.engine_settings.width, run.engine_settings.time_scale) == (84, 7)  # typed default value still wins
    assert run.engine_settings.no_graphics is True and run.torch_settings.device == "cpu"


def test_env_args_take_the_rest_of_the_line() -> None:
    run = parse_command_line(["--env", "x", "--env-args", "--level", "3", "--run-id", "y"])
    assert run.env_settings.env_args == ["--level", "3", "--run-id", "y"]
    assert run.checkpoint_settings.run_id == "ppo"


def test_deterministic_reaches_every_behavior(write: WriteFile) -> None:
    path = write("t.yaml", YAML + "default_settings: {max_steps: 10}\n")
    run = parse_command_line([str(path), "--deterministic"])
    assert run.behaviors["3DBall"].network_settings.deterministic is True
    assert run.behaviors["Unlisted"].network_settings.deterministic is True  # copied from default_settings
    assert parse_command_line(["--deterministic"]).behaviors["X"].network_settings.deterministic is True


@pytest.mark.parametrize(
    ("argv", "resume", "initialize_from"),
    [
        (["--resume", "--initialize-from", "old"], True, None),  # both on the command line: resume wins
        (["--initialize-from", "old"], False, "old"),  # the flag beats resume from the YAML
        (["--resume"], True, None),  # the flag beats initialize_from from the YAML
        ([], True, None),  # both in the YAML: resume wins
    ],
)
def test_resume_and_initialize_from(
    write: WriteFile, argv: list[str], resume: bool, initialize_from: str | None
) -> None:
    path = write("t.yaml", "checkpoint_settings: {resume: true, initialize_from: yaml_run}\n")
    checkpoint = parse_command_line([str(path), *argv]).checkpoint_settings
    assert (checkpoint.resume, checkpoint.initialize_from) == (resume, initialize_from)


def test_bad_flag_value_blames_the_command_line(write: WriteFile) -> None:
    with pytest.raises(ConfigError) as info:
        parse_command_line([str(write("t.yaml", YAML)), "--num-areas", "0"])
    assert info.value.key == "env_settings.num_areas" and "--num-areas" in str(info.value)


def test_errors_in_sampler_and_curriculum_files_name_them(write: WriteFile) -> None:
    config = write("t.yaml", YAML)
    sampler = write("bad_sampler.yaml", "mass: {sampler-type: uniform, min_value: 5, max_value: 1}\n")
    with pytest.raises(ConfigError) as info:
        parse_command_line([str(config), "--sampler", str(sampler)])
    assert info.value.key == "environment_parameters.mass.sampler_parameters"
    assert f"--sampler {sampler}" in str(info.value) and "t.yaml" not in str(info.value)
    curriculum = write(
        "curricula/3DBall.json", '{"measure": "bogus", "thresholds": [0.1], "parameters": {"m": [1, 2]}}'
    )
    with pytest.raises(ConfigError) as info:
        parse_command_line([str(config), "--curriculum", str(curriculum.parent)])
    assert f"--curriculum {curriculum.parent}" in str(info.value) and "measure" in str(info.value.key)


def test_several_copies_of_a_built_in_environment_need_no_env_path() -> None:
    assert parse_command_line(["--num-envs", "2"]).env_settings.num_envs == 2
    with pytest.raises(ConfigError, match="num_envs"):
        parse_command_line(["--num-envs", "0"])


UNITY_ONLY = "only to Unity builds and"


def unity_only_notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if UNITY_ONLY in r.getMessage()]


def test_unity_only_flags_are_named_in_one_notice(caplog: pytest.LogCaptureFixture) -> None:
    argv = ["--width=128", "--height", "96", "--quality-level=1", "--time-scale=1", "--target-frame-rate=30",
            "--capture-frame-rate=30", "--no-graphics", "--no-graphics-monitor", "--base-port=6000", "--num-envs=2",
            "--env-args", "--level", "3"]  # fmt: skip
    run = parse_command_line(argv)
    assert run.engine_settings.width == 128 and run.env_settings.env_args == ["--level", "3"]  # kept, as ML-Agents
    (notice,) = unity_only_notices(caplog)
    flags = "--base-port, --env-args, --width, --height, --quality-level, --time-scale, --target-frame-rate, "
    flags += "--capture-frame-rate, --no-graphics, --no-graphics-monitor"
    unused = "these apply only to Unity builds and the Editor, and are not used by this run's environments."
    assert notice == f"{flags}: {unused}"
    assert "\n" not in notice and "--num-envs" not in notice


def test_unity_only_settings_from_the_file_count_too(write: WriteFile, caplog: pytest.LogCaptureFixture) -> None:
    parse_command_line([str(write("t.yaml", YAML)), "--no-graphics"])  # base_port 6000, time_scale 7, width 100
    assert unity_only_notices(caplog) == [
        "env_settings.base_port, engine_settings.width, engine_settings.time_scale, --no-graphics: these apply only "
        "to Unity builds and the Editor, and are not used by this run's environments."
    ]
    caplog.clear()
    parse_command_line(["--slow"])
    assert unity_only_notices(caplog) == [
        "--slow: this applies only to Unity builds and the Editor, and is not used by this run's environments."
    ]
    caplog.clear()
    parse_command_line([str(write("t.yaml", YAML)), "--no-graphics", "--env=editor"])  # (a Unity run reads them)
    parse_command_line([str(write("t.yaml", YAML)), "--width=90", "--env=Builds/Game.x86_64"])
    assert unity_only_notices(caplog) == []


def test_no_unity_only_notice_unless_the_user_set_one(write: WriteFile, caplog: pytest.LogCaptureFixture) -> None:
    parse_command_line([])
    parse_command_line(["--num-envs=2", "--num-areas=2", "--timeout-wait=5", "--max-lifetime-restarts=1"])
    # a configuration.yaml written by a run lists every setting at its default: none of them the user's
    written = write("configuration.yaml", dump_yaml(RunOptions().to_dict()))
    parse_command_line([str(written)])
    assert unity_only_notices(caplog) == []


def test_unknown_flag_exits_with_status_2() -> None:
    with pytest.raises(SystemExit) as info:
        parse_command_line(["--no-such-flag"])
    assert info.value.code == 2


def test_unlisted_behavior_with_a_file_is_an_error(write: WriteFile) -> None:
    run = parse_command_line([str(write("t.yaml", YAML))])
    with pytest.raises(ConfigError, match="Other"):
        run.behaviors["Other"]


# legacy flags --------------------------------------------------------------------------------------
def test_load_resumes_and_train_is_accepted(caplog: pytest.LogCaptureFixture) -> None:
    run = parse_command_line(["--load", "--train"])
    assert run.checkpoint_settings.resume is True and run.checkpoint_settings.load_model is True
    assert run.checkpoint_settings.train_model is True
    assert "--load" in caplog.text and "--train" in caplog.text


def test_removed_flags_warn_and_do_nothing(caplog: pytest.LogCaptureFixture) -> None:
    assert parse_command_line(["--torch", "--tensorflow", "--multi-gpu", "--num-runs", "2"]) == RunOptions()
    assert caplog.text.count("was removed") == 4


def test_slow_uses_the_old_inference_engine_settings(caplog: pytest.LogCaptureFixture) -> None:
    engine = parse_command_line(["--slow", "--width", "640"]).engine_settings
    assert (engine.width, engine.height, engine.quality_level, engine.time_scale, engine.target_frame_rate) == (
        640,
        720,
        5,
        1.0,
        60,
    )
    assert "--slow" in caplog.text


def test_save_freq_and_keep_checkpoints_apply_to_every_behavior(write: WriteFile) -> None:
    run = parse_command_line([str(write("t.yaml", YAML)), "--save-freq", "1000", "--keep-checkpoints", "9"])
    ball = run.behaviors["3DBall"]
    assert (ball.checkpoint_interval, ball.keep_checkpoints) == (1000, 9)
    unlisted = parse_command_line(["--save-freq", "1000"]).behaviors["Y"]
    assert unlisted.checkpoint_interval == 1000


def test_lesson_cpu(caplog: pytest.LogCaptureFixture) -> None:
    run = parse_command_line(["--lesson", "2", "--cpu"])
    assert run.start_lesson == 2 and run.torch_settings.device == "cpu"
    # never written to configuration.yaml: ML-Agents' loader rejects unknown top-level keys
    assert "start_lesson" not in run.to_dict() and "start_lesson" not in RunOptions().to_dict()
    assert "--lesson" in caplog.text and "--cpu" in caplog.text


def test_docopt_style_equals_syntax(write: WriteFile) -> None:
    path = write("t.yaml", YAML)
    run = parse_command_line([str(path), "--run-id=old_style", "--keep-checkpoints=2", "--save-freq=500"])
    assert run.checkpoint_settings.run_id == "old_style" and run.behaviors["3DBall"].keep_checkpoints == 2
