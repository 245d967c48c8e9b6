"""Curriculum lessons that advance (trainers/curriculum.py), against ML-Agents' rules, and end to end
through mlagents-learn on SimpleEnvironment, whose lessons change its step size: the values
sent, the lesson stat, training_status.json, --resume and require_reset."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mlagents_fast.config.settings import CompletionCriteriaSettings, EnvironmentParameterSettings, Lesson
from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.parameters import parse_sampler
from mlagents_fast.learn import main
from mlagents_fast.run.status import TrainingStatus
from mlagents_fast.trainers.curriculum import Curriculum, lesson_is_done


def criteria(**changes: Any) -> CompletionCriteriaSettings:
    return CompletionCriteriaSettings(**{"behavior": "CartPole", "measure": "reward", "threshold": 0.5, **changes})


def test_a_lesson_waits_for_min_lesson_length_episodes() -> None:
    rule = criteria(min_lesson_length=3, signal_smoothing=False)
    assert lesson_is_done(rule, 0.0, 2, 1.0, 0.0) == (False, 0.0)
    assert lesson_is_done(rule, 0.0, 3, 1.0, 0.0) == (True, 0.0)
    assert lesson_is_done(rule, 0.0, 3, 0.4, 0.0)[0] is False  # returns 0.2, 0.4, 0.6


def test_reward_smoothing_and_progress_are_ml_agents() -> None:
    """Smoothed = 0.25 x previous + 0.75 x the mean, compared strictly; progress = steps / max_steps."""
    done, smoothed = lesson_is_done(criteria(), 0.0, 1, 0.6, 0.4)
    assert smoothed == pytest.approx(0.25 * 0.4 + 0.75 * 0.6) and done
    assert not lesson_is_done(criteria(), 0.0, 1, 0.6, 0.2)[0]  # 0.5 is not above 0.5
    assert lesson_is_done(criteria(), 0.0, 1, 0.6, 0.0) == (False, pytest.approx(0.45))
    assert lesson_is_done(criteria(), 0.0, 0, math.nan, 0.0) == (False, 0.0)  # no episode yet
    progress = criteria(measure="progress", threshold=0.3)
    assert (
        lesson_is_done(progress, 0.31, 0, math.nan, 0.0)[0] and not lesson_is_done(progress, 0.3, 0, math.nan, 0.0)[0]
    )


def three_lessons(require_reset: bool = False) -> dict[str, EnvironmentParameterSettings]:
    rule = criteria(signal_smoothing=False, min_lesson_length=2, require_reset=require_reset)
    lessons = [Lesson(parse_sampler("length", v), f"L{v}", rule if v < 0.7 else None) for v in (0.5, 0.6, 0.7)]
    return {"length": EnvironmentParameterSettings(curriculum=lessons)}


def test_lessons_advance_one_at_a_time_and_the_buffers_start_over(tmp_path: Path) -> None:
    status = TrainingStatus(tmp_path / "status.json")
    curriculum = Curriculum(three_lessons(require_reset=True), status)
    steps, max_steps = {"CartPole": 10}, {"CartPole": 100}
    curriculum.add_returns("CartPole", [1.0])
    assert curriculum.update(steps, max_steps) == (False, False)  # one episode, two needed
    curriculum.add_returns("CartPole", [1.0, 1.0])
    assert curriculum.update(steps, max_steps) == (True, True)
    assert status.lesson_num("length") == 1 and curriculum.values()["length"].intervals[0][0] == 0.6
    assert curriculum.update(steps, max_steps) == (False, False)  # the buffer was cleared
    curriculum.add_returns("CartPole", [1.0, 1.0])
    assert curriculum.update(steps, max_steps) == (True, True)
    curriculum.add_returns("CartPole", [1.0, 1.0])
    assert curriculum.update(steps, max_steps) == (False, False)  # the last lesson stays
    assert curriculum.lesson_numbers() == {"length": 2}


CONFIG = """
behaviors:
  SimpleEnvironment:
    trainer_type: ppo
    hyperparameters: {{batch_size: 32, buffer_size: 64}}
    network_settings: {{hidden_units: 16, num_layers: 1}}
    max_steps: {max_steps}
    summary_freq: 500
environment_parameters:
  step_size:
    curriculum:
      - name: Short
        value: 0.2
        completion_criteria: {{measure: progress, behavior: SimpleEnvironment, threshold: 0.25}}
      - name: Middle
        value: 0.5
        completion_criteria: {{measure: reward, behavior: SimpleEnvironment, threshold: -0.5,
                              min_lesson_length: 20, require_reset: {reset}}}
      - name: Long
        value: 0.9
"""


def learn(tmp_path: Path, max_steps: int, *extra: str, reset: bool = False) -> None:
    """mlagents-learn on SimpleEnvironment (which reads `step_size`) with the curriculum above."""
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "curriculum.yaml"
    path.write_text(CONFIG.format(max_steps=max_steps, reset=str(reset).lower()))
    assert main([str(path), "--run-id=lessons", f"--results-dir={tmp_path / 'results'}", "--seed=1", *extra]) == 0


def lesson_stats(run: Path) -> list[tuple[int, float]]:
    events = EventAccumulator(str(run / "SimpleEnvironment"))
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars("Environment/Lesson Number/step_size")]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[float]]:
    """What the run sends the native environments: each set_parameters' `step_size`, each reset."""
    seen: dict[str, list[float]] = {"step_size": [], "resets": []}
    original_set, original_reset = NativeVectorEnv.set_parameters, NativeVectorEnv.reset

    def spy_set(self: NativeVectorEnv, parameters: Any) -> None:
        seen["step_size"].append(parameters["step_size"].intervals[0][0])
        original_set(self, parameters)

    def spy_reset(self: NativeVectorEnv, seed: int | None = None) -> None:
        seen["resets"].append(1.0)
        original_reset(self, seed)

    monkeypatch.setattr(NativeVectorEnv, "set_parameters", spy_set)
    monkeypatch.setattr(NativeVectorEnv, "reset", spy_reset)
    return seen


def stored_lesson(run: Path) -> int:
    return int(json.loads((run / "run_logs" / "training_status.json").read_text())["step_size"]["lesson_num"])


def test_lessons_advance_on_progress_then_reward_and_resume_there(
    tmp_path: Path, calls: dict[str, list[float]]
) -> None:
    learn(tmp_path, 2000)
    run = tmp_path / "results" / "lessons"
    assert stored_lesson(run) == 2
    assert calls["step_size"][0] == 0.2 and calls["step_size"][-2:] == [0.5, 0.9]  # each lesson's value, in order
    stats = lesson_stats(run)
    # progress passes 0.25 just after step 500, then 20 episodes of mean return above 5 follow soon
    assert stats[:2] == [(500, 0.0), (1000, 2.0)] and stats[-1] == (2000, 2.0)
    calls["step_size"].clear()
    learn(tmp_path, 2500, "--resume")  # starts in the stored lesson
    assert calls["step_size"][0] == 0.9 and stored_lesson(run) == 2


def test_require_reset_resets_every_environment(tmp_path: Path, calls: dict[str, list[float]]) -> None:
    learn(tmp_path / "plain", 2000)
    plain = len(calls["resets"])
    calls["resets"].clear()
    learn(tmp_path / "resetting", 2000, reset=True)
    assert stored_lesson(tmp_path / "resetting" / "results" / "lessons") == 2
    assert len(calls["resets"]) == plain + 1  # the reward lesson asked for one when it finished


def test_a_curriculum_naming_another_behavior_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "curriculum.yaml"
    path.write_text(
        CONFIG.format(max_steps=100, reset="false").replace(
            "behavior: SimpleEnvironment, threshold: 0.25", "behavior: Walker, threshold: 0.25"
        )
    )
    assert main([str(path), "--run-id=refused", f"--results-dir={tmp_path / 'results'}"]) == 1
    error = capsys.readouterr().err
    assert "environment_parameters.step_size.curriculum[0].completion_criteria.behavior" in error and "Walker" in error
    assert "Traceback" not in error and not (tmp_path / "results" / "refused").exists()


OLD_TRAINER_CONFIG = """
SimpleEnvironment:
  trainer: ppo
  batch_size: 32
  buffer_size: 64
  hidden_units: 16
  num_layers: 1
  max_steps: 400
  summary_freq: 200
"""

OLD_CURRICULUM = """
SimpleEnvironment:
  measure: progress
  thresholds: [{first}, 0.3]
  min_lesson_length: 2
  signal_smoothing: true
  parameters:
    step_size: [0.2, 0.5, 0.9]
"""


def old_files(tmp_path: Path, first: float = 0.1) -> list[str]:
    (tmp_path / "trainer_config.yaml").write_text(OLD_TRAINER_CONFIG)
    (tmp_path / "curriculum.yaml").write_text(OLD_CURRICULUM.format(first=first))
    return [str(tmp_path / "trainer_config.yaml"), f"--curriculum={tmp_path / 'curriculum.yaml'}",
            f"--results-dir={tmp_path / 'results'}", "--seed=1"]  # fmt: skip


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_seeds_0x_curriculum_file_advances(tmp_path: Path, calls: dict[str, list[float]]) -> None:
    """The seeds' format: a trainer_config.yaml and a --curriculum file with `thresholds` and one
    value per lesson; its progress thresholds 0.1 and 0.3 pass at steps 40 and 120 of 400."""
    assert main([*old_files(tmp_path), "--run-id=old"]) == 0
    status = json.loads((tmp_path / "results" / "old" / "run_logs" / "training_status.json").read_text())
    assert status["step_size"]["lesson_num"] == 2 and calls["step_size"][-2:] == [0.5, 0.9]


def test_bad_curricula_are_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def refused(*argv: str) -> str:
        assert main([*argv, "--run-id=refused"]) == 1
        error = capsys.readouterr().err
        assert "Traceback" not in error and not (tmp_path / "results" / "refused").exists()
        return error

    error = refused(*old_files(tmp_path, first=0.5))  # 0.5 then 0.3
    assert "curriculum.yaml" in error and "curriculum.SimpleEnvironment.thresholds[1]" in error
    assert "increasing thresholds" in error
    error = refused(*old_files(tmp_path), "--lesson=3")  # lessons 0 to 2
    assert "--lesson 3" in error and "lessons 0 to 2" in error
    new_format = tmp_path / "new.yaml"
    progress_again = "measure: progress, behavior: SimpleEnvironment, threshold: 0.2"  # not above 0.25
    new_format.write_text(CONFIG.format(max_steps=100, reset="false").replace(
        "measure: reward, behavior: SimpleEnvironment, threshold: -0.5", progress_again))  # fmt: skip
    error = refused(str(new_format), f"--results-dir={tmp_path / 'results'}")
    assert "environment_parameters.step_size.curriculum[1].completion_criteria.threshold" in error
    sampler = tmp_path / "sampler.yaml"
    sampler.write_text("step_size:\n  sampler-type: uniform\n  min_value: 0.9\n  max_value: 0.2\n")
    error = refused(str(tmp_path / "trainer_config.yaml"), f"--sampler={sampler}",
                    f"--results-dir={tmp_path / 'results'}")  # fmt: skip
    assert "--sampler" in error and "min_value not above max_value" in error


@pytest.mark.filterwarnings("ignore:Environment 'SimpleEnvironment' does not read the parameter 'other'")
def test_lesson_applies_to_curricula_only(tmp_path: Path, calls: dict[str, list[float]]) -> None:
    """--lesson (0.x) starts the curricula there; a constant or sampled parameter keeps its one
    value (ML-Agents 0.x applied --lesson to curricula and never touched samplers)."""
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(max_steps=100, reset="false") + "  other: 5.0\n")
    argv = [str(path), "--run-id=lesson", f"--results-dir={tmp_path / 'results'}", "--lesson=1"]
    assert main(argv) == 0
    status = json.loads((tmp_path / "results" / "lesson" / "run_logs" / "training_status.json").read_text())
    assert status["step_size"]["lesson_num"] >= 1 and status["other"]["lesson_num"] == 0
    assert calls["step_size"][0] == 0.5  # lesson 1's value from the start
