"""Typed settings mirroring ML-Agents' `RunOptions` tree, with ML-Agents' defaults.

Every class checks its own values when built (raising `SettingError` with the field name), so a
settings object that exists is valid. A behavior's settings (`TrainerSettings` and everything in
it) are frozen: a trainer reads them and cannot change them. Reading YAML strictly and naming the dotted key of a bad
value is the job of `config.structure`; merging the command line over the YAML is `config.cli`.

Field order follows ML-Agents' `configuration.yaml` so `RunOptions.to_dict()` reads the same.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from mlagents_fast.config.errors import ConfigError, SettingError
from mlagents_fast.envs.parameters import SAMPLER_ARGUMENTS, Sampler

logger = logging.getLogger("mlagents_fast.config")

ScheduleType = Literal["constant", "linear"]
EncoderType = Literal["simple", "nature_cnn", "resnet", "match3", "fully_connected"]
ConditioningType = Literal["hyper", "none"]
MeasureType = Literal["reward", "progress"]

# Defaults of the command-line flags that also have a home in the settings tree.
DEFAULT_RUN_ID = "ppo"
DEFAULT_BASE_PORT = 5005
DEFAULT_RESULTS_DIR = "results"


def _check(ok: bool, key: str, expected: str, found: object) -> None:
    if not ok:
        raise SettingError(key, expected, found)


def _choice(value: object, key: str, literal: Any) -> None:
    options: tuple[str, ...] = get_args(literal)
    _check(value in options, key, "one of " + ", ".join(options), value)


def _at_least(value: float, minimum: float, key: str, kind: str = "an integer") -> None:
    _check(value >= minimum, key, f"{kind} >= {minimum}", value)


def _positive(value: float, key: str) -> None:
    _check(value > 0 and math.isfinite(value), key, "a number > 0", value)


# NETWORK ###############################################################################
@dataclass(frozen=True)
class MemorySettings:
    """Recurrent memory (LSTM): `memory_size` floats of state, trained on `sequence_length` steps."""

    sequence_length: int = 64
    memory_size: int = 128

    def __post_init__(self) -> None:
        _at_least(self.sequence_length, 1, "sequence_length")
        # the LSTM state is split in two halves (hidden and cell)
        even = self.memory_size > 0 and self.memory_size % 2 == 0
        _check(even, "memory_size", "an even integer > 0", self.memory_size)


@dataclass(frozen=True)
class NetworkSettings:
    normalize: bool = False
    hidden_units: int = 128
    num_layers: int = 2
    vis_encode_type: EncoderType = "simple"
    memory: MemorySettings | None = None
    goal_conditioning_type: ConditioningType = "hyper"
    deterministic: bool = False

    def __post_init__(self) -> None:
        _at_least(self.hidden_units, 1, "hidden_units")
        _at_least(self.num_layers, 1, "num_layers")
        _choice(self.vis_encode_type, "vis_encode_type", EncoderType)
        _choice(self.goal_conditioning_type, "goal_conditioning_type", ConditioningType)


# HYPERPARAMETERS #######################################################################
def _check_common(batch_size: int, buffer_size: int, learning_rate: float, schedule: str) -> None:
    _at_least(batch_size, 1, "batch_size")
    _at_least(buffer_size, 1, "buffer_size")
    _positive(learning_rate, "learning_rate")
    _choice(schedule, "learning_rate_schedule", ScheduleType)


def _check_on_policy(hp: PPOSettings | POCASettings) -> None:
    _check_common(hp.batch_size, hp.buffer_size, hp.learning_rate, hp.learning_rate_schedule)
    # a minibatch is cut from one buffer's worth of experience
    _check(hp.batch_size <= hp.buffer_size, "batch_size", f"at most buffer_size ({hp.buffer_size})", hp.batch_size)
    _at_least(hp.beta, 0.0, "beta", "a number")
    _positive(hp.epsilon, "epsilon")
    _check(0.0 <= hp.lambd <= 1.0, "lambd", "a number in [0, 1]", hp.lambd)
    _at_least(hp.num_epoch, 1, "num_epoch")
    _choice(hp.beta_schedule, "beta_schedule", ScheduleType)
    _choice(hp.epsilon_schedule, "epsilon_schedule", ScheduleType)


@dataclass(frozen=True)
class PPOSettings:
    batch_size: int = 1024
    buffer_size: int = 10240
    learning_rate: float = 3.0e-4
    beta: float = 5.0e-3
    epsilon: float = 0.2
    lambd: float = 0.95
    num_epoch: int = 3
    shared_critic: bool = False
    learning_rate_schedule: ScheduleType = "linear"
    beta_schedule: ScheduleType = "linear"
    epsilon_schedule: ScheduleType = "linear"

    def __post_init__(self) -> None:
        _check_on_policy(self)


@dataclass(frozen=True)
class POCASettings:
    batch_size: int = 1024
    buffer_size: int = 10240
    learning_rate: float = 3.0e-4
    beta: float = 5.0e-3
    epsilon: float = 0.2
    lambd: float = 0.95
    num_epoch: int = 3
    learning_rate_schedule: ScheduleType = "linear"
    beta_schedule: ScheduleType = "linear"
    epsilon_schedule: ScheduleType = "linear"

    def __post_init__(self) -> None:
        _check_on_policy(self)


@dataclass(frozen=True)
class SACSettings:
    learning_rate: float = 3.0e-4
    learning_rate_schedule: ScheduleType = "constant"
    batch_size: int = 128
    buffer_size: int = 50000
    buffer_init_steps: int = 0
    tau: float = 0.005
    steps_per_update: float = 1.0
    save_replay_buffer: bool = False
    init_entcoef: float = 1.0
    # None means "same as steps_per_update" (ML-Agents' default); always a number after __post_init__
    reward_signal_steps_per_update: float = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.reward_signal_steps_per_update is None:
            object.__setattr__(self, "reward_signal_steps_per_update", self.steps_per_update)
        _check_common(self.batch_size, self.buffer_size, self.learning_rate, self.learning_rate_schedule)
        _at_least(self.buffer_init_steps, 0, "buffer_init_steps")
        _check(0.0 < self.tau <= 1.0, "tau", "a number in (0, 1]", self.tau)
        _positive(self.steps_per_update, "steps_per_update")
        _positive(self.init_entcoef, "init_entcoef")
        _positive(self.reward_signal_steps_per_update, "reward_signal_steps_per_update")


Hyperparameters = PPOSettings | SACSettings | POCASettings
# Plugin trainers add theirs with register_hyperparameters (trainers/registry.py).
HYPERPARAMETER_CLASSES: dict[str, type[Any]] = {
    "ppo": PPOSettings,
    "sac": SACSettings,
    "poca": POCASettings,
}


def register_hyperparameters(trainer_type: str, settings_class: type[Any]) -> None:
    """A plugin trainer's hyperparameters (a dataclass), so that `trainer_type: <name>` parses."""
    if not dataclasses.is_dataclass(settings_class):
        raise TypeError(
            f"trainer_type {trainer_type!r}: its hyperparameters must be a dataclass; got {settings_class!r}."
        )
    HYPERPARAMETER_CLASSES[trainer_type] = settings_class


# learning_rate_schedule is copied into these when they are not given (PPO and POCA only)
SCHEDULES_FOLLOWING_LEARNING_RATE = ("beta_schedule", "epsilon_schedule")


# REWARD SIGNALS ########################################################################
@dataclass(frozen=True)
class RewardSignalSettings:
    """Settings shared by every reward signal; on its own, the `extrinsic` signal."""

    gamma: float = 0.99
    strength: float = 1.0
    network_settings: NetworkSettings = field(default_factory=NetworkSettings)

    def __post_init__(self) -> None:
        _check(0.0 <= self.gamma <= 1.0, "gamma", "a number in [0, 1]", self.gamma)
        _check(math.isfinite(self.strength), "strength", "a finite number", self.strength)


def _check_learned_signal(signal: GAILSettings | CuriositySettings | RNDSettings) -> None:
    _positive(signal.learning_rate, "learning_rate")
    if signal.encoding_size is not None:
        _at_least(signal.encoding_size, 1, "encoding_size")


@dataclass(frozen=True)
class GAILSettings(RewardSignalSettings):
    learning_rate: float = 3e-4
    encoding_size: int | None = None  # deprecated: sets network_settings.hidden_units when that is absent
    use_actions: bool = False
    use_vail: bool = False
    demo_path: str = field(kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_learned_signal(self)
        _check(bool(self.demo_path), "demo_path", "the path of a .demo file or folder", self.demo_path)


@dataclass(frozen=True)
class CuriositySettings(RewardSignalSettings):
    learning_rate: float = 3e-4
    encoding_size: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_learned_signal(self)


@dataclass(frozen=True)
class RNDSettings(RewardSignalSettings):
    learning_rate: float = 1e-4
    encoding_size: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_learned_signal(self)


REWARD_SIGNAL_CLASSES: dict[str, type[RewardSignalSettings]] = {
    "extrinsic": RewardSignalSettings,
    "gail": GAILSettings,
    "curiosity": CuriositySettings,
    "rnd": RNDSettings,
}


# IMITATION AND SELF-PLAY ###############################################################
@dataclass(frozen=True)
class BehavioralCloningSettings:
    demo_path: str
    steps: int = 0  # 0: the BC learning rate stays constant
    strength: float = 1.0
    samples_per_update: int = 0  # 0: the whole demonstration buffer
    num_epoch: int | None = None  # None: the trainer's num_epoch
    batch_size: int | None = None  # None: the trainer's batch_size

    def __post_init__(self) -> None:
        _check(bool(self.demo_path), "demo_path", "the path of a .demo file or folder", self.demo_path)
        _at_least(self.steps, 0, "steps")
        _at_least(self.strength, 0.0, "strength", "a number")
        _at_least(self.samples_per_update, 0, "samples_per_update")
        for name in ("num_epoch", "batch_size"):
            value = getattr(self, name)
            if value is not None:
                _at_least(value, 1, name)


@dataclass(frozen=True)
class SelfPlaySettings:
    save_steps: int = 20000
    # None means 5 x save_steps (ML-Agents' default); always a number after __post_init__
    team_change: int = None  # type: ignore[assignment]
    swap_steps: int = 2000
    window: int = 10
    play_against_latest_model_ratio: float = 0.5
    initial_elo: float = 1200.0

    def __post_init__(self) -> None:
        if self.team_change is None:
            object.__setattr__(self, "team_change", 5 * self.save_steps)
        for name in ("save_steps", "team_change", "swap_steps", "window"):
            _at_least(getattr(self, name), 1, name)
        ratio = self.play_against_latest_model_ratio
        _check(0.0 <= ratio <= 1.0, "play_against_latest_model_ratio", "a number in [0, 1]", ratio)


# TRAINER ###############################################################################
def _default_reward_signals() -> dict[str, RewardSignalSettings]:
    return {"extrinsic": RewardSignalSettings()}


@dataclass(frozen=True)
class TrainerSettings:
    trainer_type: str = "ppo"  # a key of HYPERPARAMETER_CLASSES (plugins add theirs)
    hyperparameters: Hyperparameters = field(default_factory=PPOSettings)
    checkpoint_interval: int = 500000
    network_settings: NetworkSettings = field(default_factory=NetworkSettings)
    reward_signals: dict[str, RewardSignalSettings] = field(default_factory=_default_reward_signals)
    init_path: str | None = None
    keep_checkpoints: int = 5
    even_checkpoints: bool = False  # true: checkpoint_interval = max_steps // keep_checkpoints
    max_steps: int = 500000
    time_horizon: int = 64
    summary_freq: int = 50000
    threaded: bool = False
    self_play: SelfPlaySettings | None = None
    behavioral_cloning: BehavioralCloningSettings | None = None

    def __post_init__(self) -> None:
        known = HYPERPARAMETER_CLASSES
        _check(self.trainer_type in known, "trainer_type", "one of " + ", ".join(known), self.trainer_type)
        self._match_hyperparameters()
        _at_least(self.max_steps, 0, "max_steps")
        _at_least(self.time_horizon, 1, "time_horizon")
        _at_least(self.summary_freq, 1, "summary_freq")
        _at_least(self.keep_checkpoints, 0, "keep_checkpoints")
        if self.even_checkpoints:
            _at_least(self.keep_checkpoints, 1, "keep_checkpoints")
            object.__setattr__(self, "checkpoint_interval", max(1, self.max_steps // self.keep_checkpoints))
        _at_least(self.checkpoint_interval, 1, "checkpoint_interval")
        self._check_reward_signals()
        memory = self.network_settings.memory
        if memory is not None:
            # a minibatch holds whole sequences
            batch_size, length = self.hyperparameters.batch_size, memory.sequence_length
            key = "network_settings.memory.sequence_length"
            _check(length <= batch_size, key, f"at most batch_size ({batch_size})", length)

    def _match_hyperparameters(self) -> None:
        wanted = HYPERPARAMETER_CLASSES[self.trainer_type]
        if isinstance(self.hyperparameters, wanted):
            return
        if self.hyperparameters == PPOSettings():  # left at the field default: use the trainer's own defaults
            object.__setattr__(self, "hyperparameters", wanted())
            return
        found = type(self.hyperparameters).__name__
        raise SettingError("hyperparameters", f"{wanted.__name__} for trainer_type {self.trainer_type}", found)

    def _check_reward_signals(self) -> None:
        _check(len(self.reward_signals) > 0, "reward_signals", "at least one reward signal", "none")
        for name, signal in self.reward_signals.items():
            _check(name in REWARD_SIGNAL_CLASSES, "reward_signals", "one of " + ", ".join(REWARD_SIGNAL_CLASSES), name)
            wanted = REWARD_SIGNAL_CLASSES[name]
            _check(type(signal) is wanted, f"reward_signals.{name}", wanted.__name__, type(signal).__name__)


class BehaviorSettings(dict[str, TrainerSettings]):
    """Behavior name -> TrainerSettings; a name that is not listed is filled in on first use.

    As in ML-Agents: a copy of `default_settings` when there is one; an error when a
    configuration file was given without it (`require_listed`); otherwise the defaults, with a
    warning. `unlisted_template` carries command-line overrides (e.g. --deterministic) to the
    defaults used in that last case.
    """

    def __init__(self, entries: Mapping[str, TrainerSettings] | Iterable[tuple[str, TrainerSettings]] = ()) -> None:
        super().__init__(entries)
        self.default_settings: TrainerSettings | None = None
        self.require_listed = False
        self.unlisted_template = TrainerSettings()
        self.source = "the configuration"

    def __missing__(self, name: str) -> TrainerSettings:
        if self.default_settings is not None:
            settings = copy.deepcopy(self.default_settings)
        elif self.require_listed:
            raise ConfigError.invalid(
                self.source,
                f"behaviors.{name}",
                f"an entry for the behavior {name!r} (or a default_settings section for every unlisted behavior)",
                "no entry",
            )
        else:
            logger.warning(
                "Behavior name %s does not match any behaviors specified in the trainer configuration file. "
                "A default configuration will be used.",
                name,
            )
            settings = copy.deepcopy(self.unlisted_template)
        self[name] = settings
        return settings


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
        for index, lesson in enumerate(self.curriculum):
            if index < last:
                key = f"curriculum[{index}].completion_criteria"
                _check(lesson.completion_criteria is not None, key, "completion criteria on a non-final lesson", None)
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
