"""Strict loading of current-format YAML: errors name the file, the dotted key and the closest key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlagents_fast.config import ConfigError, GAILSettings, RunOptions, SACSettings, load_run_options
from mlagents_fast.config.yaml_io import dump_yaml
from mlagents_fast.envs.parameters import Sampler
from tests.config.conftest import WriteFile

PPO_3DBALL = """
behaviors:
  3DBall:
    trainer_type: ppo
    hyperparameters:
      batch_size: 64
      buffer_size: 12000
      learning_rate: 3.0e-4
    network_settings:
      normalize: true
    max_steps: 5.0e5
"""


def load_text(write: WriteFile, text: str, name: str = "trainer.yaml") -> RunOptions:
    return load_run_options(write(name, text))


def error_of(write: WriteFile, text: str) -> ConfigError:
    path = write("bad.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_run_options(path)
    assert str(path) in str(info.value)  # every message names the file
    assert "\n" not in str(info.value)  # ... in one paragraph
    return info.value


def test_loads_values_and_keeps_defaults(write: WriteFile) -> None:
    run = load_text(write, PPO_3DBALL)
    ball = run.behaviors["3DBall"]
    assert (ball.hyperparameters.batch_size, ball.hyperparameters.buffer_size) == (64, 12000)
    assert ball.hyperparameters.beta == 5e-3 and ball.network_settings.normalize is True
    assert ball.max_steps == 500000  # "5.0e5" is text to YAML 1.1; ML-Agents reads it as a number


def test_numbers_written_without_dot_or_exponent_sign(write: WriteFile) -> None:
    run = load_text(write, "behaviors:\n  B:\n    trainer_type: ppo\n    hyperparameters:\n      learning_rate: 3e-4\n")
    assert run.behaviors["B"].hyperparameters.learning_rate == pytest.approx(3e-4)


def test_beta_and_epsilon_schedules_follow_learning_rate_schedule(write: WriteFile) -> None:
    run = load_text(
        write,
        """
        behaviors:
          A: {trainer_type: ppo, hyperparameters: {learning_rate_schedule: constant}}
          B: {trainer_type: ppo, hyperparameters: {learning_rate_schedule: constant, beta_schedule: linear}}
          C: {trainer_type: sac}
        """,
    )
    a, b = run.behaviors["A"].hyperparameters, run.behaviors["B"].hyperparameters
    assert (a.beta_schedule, a.epsilon_schedule) == ("constant", "constant")
    assert (b.beta_schedule, b.epsilon_schedule) == ("linear", "constant")
    assert run.behaviors["C"].hyperparameters.learning_rate_schedule == "constant"


def test_default_settings_are_the_base_of_listed_and_unlisted_behaviors(write: WriteFile) -> None:
    run = load_text(
        write,
        """
        default_settings:
          trainer_type: ppo
          hyperparameters: {batch_size: 256, buffer_size: 4096}
          network_settings: {hidden_units: 64}
          max_steps: 1000
        behaviors:
          Listed:
            hyperparameters: {batch_size: 128}
            reward_signals:
              curiosity: {strength: 0.02}
          Sac:
            trainer_type: sac
        """,
    )
    listed = run.behaviors["Listed"]
    assert (listed.hyperparameters.batch_size, listed.hyperparameters.buffer_size) == (128, 4096)
    assert (listed.network_settings.hidden_units, listed.max_steps) == (64, 1000)
    assert set(listed.reward_signals) == {"extrinsic", "curiosity"}  # nested mappings merge
    unlisted = run.behaviors["NotInFile"]
    assert unlisted == run.default_settings and unlisted is not run.default_settings
    sac = run.behaviors["Sac"]
    # another trainer type does not inherit the default's PPO hyperparameters
    assert isinstance(sac.hyperparameters, SACSettings) and sac.hyperparameters.batch_size == 128
    assert sac.network_settings.hidden_units == 64


def test_unlisted_behavior_without_default_settings_is_an_error(write: WriteFile) -> None:
    run = load_text(write, PPO_3DBALL)
    with pytest.raises(ConfigError, match=r"behaviors\.Other"):
        run.behaviors["Other"]


def test_encoding_size_sets_reward_network_hidden_units(write: WriteFile) -> None:
    run = load_text(
        write,
        """
        behaviors:
          B:
            reward_signals:
              gail: {demo_path: expert.demo, encoding_size: 32}
              curiosity: {encoding_size: 16, network_settings: {hidden_units: 8}}
        """,
    )
    gail = run.behaviors["B"].reward_signals["gail"]
    assert isinstance(gail, GAILSettings) and gail.network_settings.hidden_units == 32
    assert run.behaviors["B"].reward_signals["curiosity"].network_settings.hidden_units == 8


def test_environment_parameters_constants_samplers_and_curriculum(write: WriteFile) -> None:
    run = load_text(
        write,
        """
        behaviors: {B: {}}
        environment_parameters:
          scale: 2
          mass: {sampler_type: uniform, sampler_parameters: {min_value: 0.5, max_value: 10, seed: 7}}
          wall:
            curriculum:
              - name: Low
                value: 1.0
                completion_criteria: {behavior: B, measure: progress, threshold: 0.3, min_lesson_length: 10}
              - name: High
                value: {sampler_type: gaussian, sampler_parameters: {mean: 4, st_dev: 1}}
        """,
    )
    params = run.environment_parameters
    assert params is not None
    assert params["scale"].curriculum[0].value == Sampler("constant", ((2.0, 2.0),))
    assert params["mass"].curriculum[0].value == Sampler("uniform", ((0.5, 10.0),), 7)
    low, high = params["wall"].curriculum
    assert low.completion_criteria is not None and low.completion_criteria.threshold == 0.3
    assert high.completion_criteria is None and high.value.kind == "gaussian"


def test_round_trip_to_dict_yaml_load(write: WriteFile) -> None:
    run = load_text(
        write,
        """
        default_settings: {trainer_type: ppo, hyperparameters: {batch_size: 32, buffer_size: 320}}
        behaviors:
          A:
            network_settings: {memory: {sequence_length: 16, memory_size: 64}}
            self_play: {save_steps: 500}
            behavioral_cloning: {demo_path: a.demo, steps: 100}
          B: {trainer_type: sac, hyperparameters: {steps_per_update: 10}, even_checkpoints: true}
        env_settings: {env_path: 3DBall, num_envs: 4, env_args: [--foo, "1"]}
        engine_settings: {time_scale: 5}
        environment_parameters:
          mass: {sampler_type: multirangeuniform, sampler_parameters: {intervals: [[1, 2], [3, 4]]}}
          wall:
            curriculum:
              - {name: L0, value: 1, completion_criteria: {behavior: A, threshold: 0.5}}
              - {name: L1, value: 2}
        checkpoint_settings: {run_id: x}
        torch_settings: {device: cpu}
        debug: true
        """,
    )
    again = load_text(write, dump_yaml(run.to_dict()), "again.yaml")
    assert again == run
    assert again.to_dict() == run.to_dict()


def test_upgrade_script_lesson_format_is_accepted(write: WriteFile) -> None:
    # ML-Agents' upgrade_config writes lessons as {LessonName: {...}}
    run = load_text(
        write,
        """
        behaviors: {B: {}}
        environment_parameters:
          wall:
            curriculum:
              - Lesson0: {value: 1, completion_criteria: {behavior: B, threshold: 0.5}}
              - Lesson1: {value: 2}
        """,
    )
    assert run.environment_parameters is not None
    assert [lesson.name for lesson in run.environment_parameters["wall"].curriculum] == ["Lesson0", "Lesson1"]


def test_obsolete_trainer_keys_are_ignored_with_a_notice(write: WriteFile, caplog: pytest.LogCaptureFixture) -> None:
    run = load_text(write, "behaviors:\n  B:\n    output_path: default\n    framework: pytorch\n")
    assert run.behaviors["B"].max_steps == 500000
    assert "output_path" in caplog.text and "framework" in caplog.text


@pytest.mark.parametrize(
    ("text", "key", "expected", "suggestion"),
    [
        (
            PPO_3DBALL.replace("batch_size: 64", "batch_sise: 64"),
            "behaviors.3DBall.hyperparameters.batch_sise",
            "batch_size",
            "batch_size",
        ),
        ("behaviours: {}\n", "behaviours", "behaviors", "behaviors"),
        ("behaviors: {B: {max_step: 10}}\n", "behaviors.B.max_step", "max_steps", "max_steps"),
        (
            "behaviors: {B: {network_settings: {hiden_units: 3}}}\n",
            "behaviors.B.network_settings.hiden_units",
            "hidden_units",
            "hidden_units",
        ),
        (
            "behaviors: {B: {reward_signals: {curiousity: {}}}}\n",
            "behaviors.B.reward_signals.curiousity",
            "curiosity",
            "curiosity",
        ),
        ("env_settings: {num_env: 2}\n", "env_settings.num_env", "num_envs", "num_envs"),
        ("checkpoint_settings: {runid: a}\n", "checkpoint_settings.runid", "run_id", "run_id"),
        (
            "behaviors: {B: {network_settings: {vis_encode_type: natur_cnn}}}\n",
            "behaviors.B.network_settings.vis_encode_type",
            "nature_cnn",
            "nature_cnn",
        ),
        ("behaviors: {B: {trainer_type: pp0}}\n", "behaviors.B.trainer_type", "ppo", "ppo"),
    ],
)
def test_unknown_keys_and_names_suggest_the_closest(
    write: WriteFile, text: str, key: str, expected: str, suggestion: str
) -> None:
    err = error_of(write, text)
    assert err.key == key and err.suggestion == suggestion
    assert f"`{key}`" in str(err) and expected in str(err) and f"Did you mean `{suggestion}`?" in str(err)


@pytest.mark.parametrize(
    ("text", "key", "found"),
    [
        (
            PPO_3DBALL.replace("buffer_size: 12000", "buffer_size: 32"),
            "behaviors.3DBall.hyperparameters.batch_size",
            "64",
        ),
        ("behaviors: {B: {max_steps: -5}}\n", "behaviors.B.max_steps", "-5"),
        ("behaviors: {B: {time_horizon: 0}}\n", "behaviors.B.time_horizon", "0"),
        (
            "behaviors: {B: {network_settings: {memory: {memory_size: 127}}}}\n",
            "behaviors.B.network_settings.memory.memory_size",
            "127",
        ),
        (
            "behaviors: {B: {network_settings: {memory: {sequence_length: 0}}}}\n",
            "behaviors.B.network_settings.memory.sequence_length",
            "0",
        ),
        (
            "behaviors: {B: {trainer_type: ppo, hyperparameters: {batch_size: 32, buffer_size: 64},"
            " network_settings: {memory: {sequence_length: 64}}}}\n",
            "behaviors.B.network_settings.memory.sequence_length",
            "64",
        ),
        (
            "behaviors: {B: {trainer_type: ppo, time_horizon: 32,"
            " network_settings: {memory: {sequence_length: 64}}}}\n",
            "behaviors.B.network_settings.memory.sequence_length",
            "at most time_horizon (32)",
        ),
        (
            "behaviors: {B: {trainer_type: ppo, hyperparameters: {learning_rate: 0}}}\n",
            "behaviors.B.hyperparameters.learning_rate",
            "0",
        ),
        (
            "behaviors: {B: {trainer_type: sac, hyperparameters: {learning_rate: -1e-3}}}\n",
            "behaviors.B.hyperparameters.learning_rate",
            "-0.001",
        ),
        (
            "behaviors: {B: {self_play: {play_against_latest_model_ratio: 1.2}}}\n",
            "behaviors.B.self_play.play_against_latest_model_ratio",
            "1.2",
        ),
        (
            "behaviors: {B: {self_play: {play_against_latest_model_ratio: -0.1}}}\n",
            "behaviors.B.self_play.play_against_latest_model_ratio",
            "-0.1",
        ),
        (
            "behaviors: {B: {reward_signals: {gail: {strength: 1}}}}\n",
            "behaviors.B.reward_signals.gail.demo_path",
            "nothing",
        ),
        ("behaviors: {B: {behavioral_cloning: {steps: 10}}}\n", "behaviors.B.behavioral_cloning.demo_path", "nothing"),
        ("behaviors: {B: {hyperparameters: {batch_size: 3}}}\n", "behaviors.B.trainer_type", "without a trainer_type"),
        ("env_settings: {num_envs: 0}\n", "env_settings.num_envs", "0"),
        ("env_settings: {num_areas: 0}\n", "env_settings.num_areas", "0"),
        ("engine_settings: {time_scale: 0}\n", "engine_settings.time_scale", "0"),
    ],
)
def test_invalid_values_name_the_dotted_key(write: WriteFile, text: str, key: str, found: str) -> None:
    err = error_of(write, text)
    assert err.key == key
    assert f"`{key}`" in str(err) and "expected" in str(err) and found in str(err)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("behaviors: {B: {max_steps: lots}}\n", "behaviors.B.max_steps", "an integer"),
        ("behaviors: {B: {max_steps: 12.5}}\n", "behaviors.B.max_steps", "an integer"),
        ("behaviors: {B: {threaded: 'yes'}}\n", "behaviors.B.threaded", "true or false"),
        (
            "behaviors: {B: {network_settings: {normalize: 1}}}\n",
            "behaviors.B.network_settings.normalize",
            "true or false",
        ),
        (
            "behaviors: {B: {trainer_type: ppo, hyperparameters: {beta: [1]}}}\n",
            "behaviors.B.hyperparameters.beta",
            "a number",
        ),
        ("behaviors: {B: {network_settings: 3}}\n", "behaviors.B.network_settings", "a mapping"),
        ("env_settings: {env_args: --foo}\n", "env_settings.env_args", "a list"),
        ("behaviors: [B]\n", "behaviors", "a mapping"),
        ("debug: 0\n", "debug", "true or false"),
    ],
)
def test_wrong_types(write: WriteFile, text: str, key: str, expected: str) -> None:
    err = error_of(write, text)
    assert err.key == key and expected in str(err)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            """
            environment_parameters:
              wall:
                curriculum:
                  - {name: L0, value: 1}
                  - {name: L1, value: 2}
            """,
            "environment_parameters.wall.curriculum[0].completion_criteria",
        ),
        (
            """
            environment_parameters:
              wall:
                curriculum:
                  - {name: L0, value: 1, completion_criteria: {behavior: B, measure: progress, threshold: 1.5}}
                  - {name: L1, value: 2}
            """,
            "environment_parameters.wall.curriculum[0].completion_criteria.threshold",
        ),
        (
            "environment_parameters:\n  wall:\n    curriculum:\n"
            "      - {name: L0, value: 1, completion_criteria: {measure: reward}}\n",
            "environment_parameters.wall.curriculum[0].completion_criteria.behavior",
        ),
        (
            "environment_parameters:\n  wall:\n    curriculum:\n      - {value: 1}\n",
            "environment_parameters.wall.curriculum[0].name",
        ),
        (
            "environment_parameters:\n  mass: {sampler_type: uniform,"
            " sampler_parameters: {min_value: 3, max_value: 1}}",
            "environment_parameters.mass.sampler_parameters",
        ),
        (
            "environment_parameters: {mass: {sampler_type: triangle, sampler_parameters: {}}}\n",
            "environment_parameters.mass.sampler_type",
        ),
        (
            "environment_parameters: {mass: {sampler_type: uniform, sampler_parameters: {mean: 1}}}\n",
            "environment_parameters.mass.sampler_parameters.mean",
        ),
        (
            "environment_parameters: {mass: {sampler_typ: uniform}}\n",
            "environment_parameters.mass.sampler_typ",
        ),
        ("environment_parameters: {mass: heavy}\n", "environment_parameters.mass"),
    ],
)
def test_environment_parameter_errors(write: WriteFile, text: str, key: str) -> None:
    assert error_of(write, text).key == key


def test_misspelled_sampler_argument_gets_the_closest_key(write: WriteFile) -> None:
    text = "environment_parameters: {mass: {sampler_type: uniform, sampler_parameters: {min_valu: 1}}}\n"
    error = error_of(write, text)
    assert error.suggestion == "min_value" and "Did you mean `min_value`?" in str(error)


def test_final_lesson_criteria_warn(write: WriteFile) -> None:
    text = """
    behaviors: {B: {}}
    environment_parameters:
      wall:
        curriculum:
          - {name: L0, value: 1, completion_criteria: {behavior: B}}
          - {name: L1, value: 2, completion_criteria: {behavior: B}}
    """
    with pytest.warns(UserWarning, match="L1"):
        load_text(write, text)


def test_malformed_yaml_names_file_and_line(write: WriteFile) -> None:
    path = write("broken.yaml", "behaviors:\n  B:\n    max_steps: [1, 2\n    time_horizon: 3\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml is not valid YAML at line \d+") as info:
        load_run_options(path)
    assert info.value.source == str(path)


def test_duplicate_keys_are_an_error(write: WriteFile) -> None:
    path = write("dup.yaml", "behaviors:\n  B: {}\n  B: {max_steps: 3}\n")
    with pytest.raises(ConfigError, match=r"line 3.*'B' twice"):
        load_run_options(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_run_options(tmp_path / "nope.yaml")


def test_top_level_must_be_a_mapping(write: WriteFile) -> None:
    assert error_of(write, "- a\n- b\n").key == ""


def test_empty_file_gives_defaults(write: WriteFile) -> None:
    assert load_text(write, "") == RunOptions()
