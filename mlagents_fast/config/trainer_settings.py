"""A behavior's settings (ML-Agents' `TrainerSettings` and everything in it), with ML-Agents' defaults.

Every class checks its own values when built (raising `SettingError` with the field name), so a
settings object that exists is valid. They are frozen: a trainer reads them and cannot change them.
Field order follows ML-Agents' `configuration.yaml`.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mlagents_fast.config.checks import _at_least, _check, _choice, _positive
from mlagents_fast.config.errors import ConfigError, SettingError

logger = logging.getLogger("mlagents_fast.config")

ScheduleType = Literal["constant", "linear"]
EncoderType = Literal["simple", "nature_cnn", "resnet", "match3", "fully_connected"]
ConditioningType = Literal["hyper", "none"]


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
        _check(math.isfinite(self.strength) and self.strength >= 0.0, "strength", "a finite number >= 0", self.strength)


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
        if isinstance(self.hyperparameters, SACSettings):
            # SAC does not update before buffer_init_steps: past max_steps, the run would never train
            init_steps, max_steps = self.hyperparameters.buffer_init_steps, self.max_steps
            expected = f"at most max_steps ({max_steps}; SAC's updates start only after buffer_init_steps)"
            _check(init_steps <= max_steps, "hyperparameters.buffer_init_steps", expected, init_steps)
        memory = self.network_settings.memory
        if memory is not None:
            # a minibatch holds whole sequences
            batch_size, length = self.hyperparameters.batch_size, memory.sequence_length
            key = "network_settings.memory.sequence_length"
            _check(length <= batch_size, key, f"at most batch_size ({batch_size})", length)
            # and a trajectory (cut every time_horizon steps) fills at least one sequence
            _check(length <= self.time_horizon, key, f"at most time_horizon ({self.time_horizon})", length)

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
