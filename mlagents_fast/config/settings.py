"""Typed run settings mirroring ML-Agents' `RunOptions` tree, with ML-Agents' defaults.

Every class checks its own values when built (raising `SettingError` with the field name), so a
settings object that exists is valid. A behavior's settings are in `config.trainer_settings`.
Reading YAML strictly and naming the dotted key of a bad value is the job of `config.structure`;
merging the command line over the YAML is `config.cli`.

Field order follows ML-Agents' `configuration.yaml` so `RunOptions.to_dict()` reads the same.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mlagents_fast.config.checks import _at_least, _check, _choice, _positive
from mlagents_fast.config.trainer_settings import (
    BehaviorSettings,
    TrainerSettings,
)
from mlagents_fast.envs.parameters import SAMPLER_ARGUMENTS, Sampler

logger = logging.getLogger("mlagents_fast.config")

MeasureType = Literal["reward", "progress"]

# Defaults of the command-line flags that also have a home in the settings tree.
DEFAULT_RUN_ID = "ppo"
DEFAULT_BASE_PORT = 5005
DEFAULT_RESULTS_DIR = "results"


# ENVIRONMENT PARAMETERS ################################################################
@dataclass
class CompletionCriteriaSettings:
    """When a curriculum lesson is done: `measure` (mean reward or progress) above `threshold`."""

    behavior: str
    measure: MeasureType = "reward"
    min_lesson_length: int = 0
    signal_smoothing: bool = True
    threshold: float = 0.0
    require_reset: bool = False

    def __post_init__(self) -> None:
        _check(bool(self.behavior), "behavior", "the name of the behavior whose progress is measured", self.behavior)
        _choice(self.measure, "measure", MeasureType)
        _at_least(self.min_lesson_length, 0, "min_lesson_length")
        if self.measure == "progress":
            _check(0.0 <= self.threshold <= 1.0, "threshold", "a number in [0, 1] for measure progress", self.threshold)


def _both_progress(first: CompletionCriteriaSettings, second: CompletionCriteriaSettings) -> bool:
    return first.measure == second.measure == "progress" and first.behavior == second.behavior


@dataclass
class Lesson:
    value: Sampler
    name: str
    completion_criteria: CompletionCriteriaSettings | None = None


@dataclass
class EnvironmentParameterSettings:
    """One environment parameter as an ordered list of lessons (a single lesson without a curriculum)."""

    curriculum: list[Lesson]

    def __post_init__(self) -> None:
        _check(len(self.curriculum) > 0, "curriculum", "at least one lesson", "an empty list")
        last = len(self.curriculum) - 1
        previous: CompletionCriteriaSettings | None = None
        for index, lesson in enumerate(self.curriculum):
            criteria = lesson.completion_criteria
            if index < last:
                key = f"curriculum[{index}].completion_criteria"
                _check(criteria is not None, key, "completion criteria on a non-final lesson", None)
                # Progress only grows: a threshold not above the last lesson's would pass at once.
                if criteria is not None and previous is not None and _both_progress(previous, criteria):
                    _check(criteria.threshold > previous.threshold, f"{key}.threshold",
                           f"a progress threshold above the previous lesson's ({previous.threshold})",
                           criteria.threshold)  # fmt: skip
                previous = criteria
            elif lesson.completion_criteria is not None and last > 0:
                warnings.warn(
                    f"The final lesson {lesson.name!r} has completion_criteria; they will be ignored.", stacklevel=2
                )

    @classmethod
    def single(cls, name: str, sampler: Sampler) -> EnvironmentParameterSettings:
        """A parameter with no curriculum: one lesson named after the parameter."""
        return cls(curriculum=[Lesson(value=sampler, name=name)])


def sampler_to_dict(sampler: Sampler) -> dict[str, Any]:
    """Sampler -> ML-Agents' `{sampler_type, sampler_parameters}` (seed first, as ML-Agents writes it)."""
    parameters: dict[str, Any] = {"seed": sampler.seed}
    names = SAMPLER_ARGUMENTS[sampler.kind]
    if sampler.kind == "multirangeuniform":
        parameters["intervals"] = [list(pair) for pair in sampler.intervals]
    else:
        for name, number in zip(names, sampler.intervals[0], strict=False):
            parameters[name] = number
    return {"sampler_type": sampler.kind, "sampler_parameters": parameters}


# RUN ###################################################################################
@dataclass
class EnvironmentSettings:
    env_path: str | None = None
    env_args: list[str] | None = None
    base_port: int = DEFAULT_BASE_PORT
    num_envs: int = 1
    num_areas: int = 1
    timeout_wait: int = 60
    seed: int = -1  # -1: drawn at random when training starts
    max_lifetime_restarts: int = 10  # -1: unlimited
    restarts_rate_limit_n: int = 1  # -1: no rate limit
    restarts_rate_limit_period_s: int = 60

    def __post_init__(self) -> None:
        _check(0 <= self.base_port <= 65535, "base_port", "a port number in [0, 65535]", self.base_port)
        _at_least(self.num_envs, 1, "num_envs")
        # ML-Agents needs env_path for num_envs > 1 (copies of an executable); built-in
        # environments are copied without one, so any num_envs >= 1 is valid here.
        _at_least(self.num_areas, 1, "num_areas")
        _at_least(self.timeout_wait, 1, "timeout_wait")
        _at_least(self.seed, -1, "seed")
        _at_least(self.max_lifetime_restarts, -1, "max_lifetime_restarts")
        _at_least(self.restarts_rate_limit_n, -1, "restarts_rate_limit_n")
        _at_least(self.restarts_rate_limit_period_s, 0, "restarts_rate_limit_period_s")


@dataclass
class EngineSettings:
    width: int = 84
    height: int = 84
    quality_level: int = 5
    time_scale: float = 20.0
    target_frame_rate: int = -1
    capture_frame_rate: int = 60
    no_graphics: bool = False
    no_graphics_monitor: bool = False

    def __post_init__(self) -> None:
        _at_least(self.width, 1, "width")
        _at_least(self.height, 1, "height")
        _at_least(self.quality_level, 0, "quality_level")
        _positive(self.time_scale, "time_scale")


@dataclass
class CheckpointSettings:
    run_id: str = DEFAULT_RUN_ID
    initialize_from: str | None = None
    load_model: bool = False
    resume: bool = False
    force: bool = False
    train_model: bool = False
    inference: bool = False
    results_dir: str = DEFAULT_RESULTS_DIR

    def __post_init__(self) -> None:
        _check(bool(self.run_id), "run_id", "a non-empty run name", self.run_id)

    @property
    def write_path(self) -> str:
        return os.path.join(self.results_dir, self.run_id)

    @property
    def maybe_init_path(self) -> str | None:
        return None if self.initialize_from is None else os.path.join(self.results_dir, self.initialize_from)

    @property
    def run_logs_dir(self) -> str:
        return os.path.join(self.write_path, "run_logs")


@dataclass
class TorchSettings:
    device: str | None = None  # None: cuda when available, else cpu


@dataclass
class RunOptions:
    default_settings: TrainerSettings | None = None
    behaviors: BehaviorSettings = field(default_factory=BehaviorSettings)
    env_settings: EnvironmentSettings = field(default_factory=EnvironmentSettings)
    engine_settings: EngineSettings = field(default_factory=EngineSettings)
    environment_parameters: dict[str, EnvironmentParameterSettings] | None = None
    checkpoint_settings: CheckpointSettings = field(default_factory=CheckpointSettings)
    torch_settings: TorchSettings = field(default_factory=TorchSettings)
    debug: bool = False
    # Not in ML-Agents 1.x: the lesson every curriculum starts at (legacy --lesson). Never in to_dict: ML-Agents'
    # loader rejects unknown top-level keys in configuration.yaml; the lesson is kept in training_status.json.
    start_lesson: int | None = field(default=None, metadata={"not_written": True})

    def __post_init__(self) -> None:
        if not isinstance(self.behaviors, BehaviorSettings):
            self.behaviors = BehaviorSettings(self.behaviors)
        self.behaviors.default_settings = self.default_settings
        if self.start_lesson is not None:
            _at_least(self.start_lesson, 0, "start_lesson")

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved configuration, as ML-Agents writes `configuration.yaml`."""
        result: dict[str, Any] = unstructure(self)
        return result


def unstructure(value: Any) -> Any:
    """Settings objects -> plain dicts, lists and scalars (samplers in ML-Agents' form)."""
    if isinstance(value, Sampler):
        return sampler_to_dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: unstructure(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.metadata.get("not_written")
        }
    if isinstance(value, Mapping):
        return {str(key): unstructure(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [unstructure(item) for item in value]
    return value
