"""Strict conversion of a parsed YAML mapping (current format) into `RunOptions`.

Unknown keys, wrong types and invalid values raise `ConfigError` naming the dotted key.
Follows ML-Agents' rules: `default_settings` is the base each behavior deep-merges over,
`hyperparameters` need a `trainer_type`, `max_steps` may be written as a float ("5.0e5"),
PPO/POCA beta and epsilon schedules follow `learning_rate_schedule` when not given, and the
deprecated `encoding_size` of a reward signal sets its `network_settings.hidden_units`.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import types
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from mlagents_fast.config.errors import ConfigError, SettingError, closest, join_path, show
from mlagents_fast.config.settings import (
    CompletionCriteriaSettings,
    EnvironmentParameterSettings,
    Lesson,
    RunOptions,
    unstructure,
)
from mlagents_fast.config.trainer_settings import (
    HYPERPARAMETER_CLASSES,
    REWARD_SIGNAL_CLASSES,
    SCHEDULES_FOLLOWING_LEARNING_RATE,
    BehaviorSettings,
    Hyperparameters,
    RewardSignalSettings,
    TrainerSettings,
)
from mlagents_fast.envs.parameters import ParameterError, Sampler, parse_sampler

logger = logging.getLogger("mlagents_fast.config")

T = TypeVar("T")

# Keys older configurations carry that the current schema dropped: ignored with a notice.
OBSOLETE_TRAINER_KEYS = {
    "framework": "the framework option was removed (PyTorch is the only framework)",
    "output_path": "output_path was removed (artifacts go to results_dir/run_id)",
}
SECTION_NAMES = {
    "PPOSettings": "PPO hyperparameters",
    "SACSettings": "SAC hyperparameters",
    "POCASettings": "POCA hyperparameters",
    "RunOptions": "the top level",
}


def deep_update(base: dict[str, Any], update: Mapping[str, Any]) -> None:
    """dict.update that merges nested mappings instead of replacing them (ML-Agents' rule)."""
    for key, value in update.items():
        if key in base and isinstance(base[key], dict) and isinstance(value, Mapping):
            deep_update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def _as_number(value: Any) -> float | None:
    """A number, or text YAML 1.1 left unparsed (3e-4 has no dot, 5.0e5 no exponent sign), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _nearest_entry(entries: Mapping[str, str], key: str) -> tuple[str, str] | None:
    """The entry for dotted `key` or for the nearest section above it, as (that key, its value)."""
    while key:
        if key in entries:
            return key, entries[key]
        cut = max(key.rfind("."), key.rfind("["))
        key = key[:cut] if cut > 0 else ""
    return None


class Structurer:
    """Builds settings objects from plain data; `source` names the file in every error.

    `cli_keys` maps dotted keys whose value came from a command-line flag to that flag, so a
    bad flag value is blamed on the command line rather than on the file. `written_as` maps the
    dotted keys (or sections) of values upgraded from an older format to the keys the file
    writes, so an error also names what the user wrote.
    """

    def __init__(
        self, source: str, cli_keys: Mapping[str, str] | None = None, written_as: Mapping[str, str] | None = None
    ) -> None:
        self.source = source
        self.cli_keys = dict(cli_keys or {})
        self.written_as = dict(written_as or {})

    # errors ----------------------------------------------------------------------------
    def error(self, key: str, expected: str, found: str, suggestion: str | None = None) -> ConfigError:
        flag = self._flag_for(key)
        if flag:
            return ConfigError.invalid(f"the command line ({flag})", key, expected, found, suggestion)
        return ConfigError.invalid(self.source, key, expected, found, suggestion, self._written_as(key))

    def _written_as(self, key: str) -> str | None:
        """`key` as the file writes it, from the nearest upgraded key or section at or above it."""
        entry = _nearest_entry(self.written_as, key)
        return None if entry is None else entry[1] + key[len(entry[0]) :]

    def _flag_for(self, key: str) -> str | None:
        """The flag that set `key`, or a section above it (--sampler sets whole parameters)."""
        entry = _nearest_entry(self.cli_keys, key)
        return None if entry is None else entry[1]

    def _mapping(self, raw: Any, path: str, what: str) -> Mapping[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            raise self.error(path, what, show(raw))
        return raw

    def _unknown(self, key: str, path: str, valid: list[str], what: str, extra: str = "") -> ConfigError:
        suggestion = closest(str(key), valid)
        expected = f"one of the keys of {what} ({', '.join(valid)}){extra}"
        return self.error(join_path(path, str(key)), expected, f"unknown key {str(key)!r}", suggestion)

    def _construct(self, cls: type[T], kwargs: dict[str, Any], path: str) -> T:
        try:
            return cls(**kwargs)
        except SettingError as err:
            raise self.error(join_path(path, err.key), err.expected, show(err.found)) from None

    # generic dataclasses ------------------------------------------------------------------
    def build(self, cls: type[T], raw: Any, path: str, what: str | None = None, extra: str = "") -> T:
        """Any settings dataclass from a mapping, strictly (no unknown keys, required keys present)."""
        what = what or SECTION_NAMES.get(cls.__name__, f"`{path}`" if path else cls.__name__)
        mapping = self._mapping(raw, path, f"a mapping with the keys of {what}")
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        for key in mapping:
            if key not in fields:
                raise self._unknown(key, path, list(fields), what, extra)
        for name, f in fields.items():
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required and name not in mapping:
                raise self.error(join_path(path, name), f"a value for the required key {name!r}", "nothing")
        hints = get_type_hints(cls)
        kwargs = {name: self.value(value, hints[name], join_path(path, name)) for name, value in mapping.items()}
        return self._construct(cls, kwargs, path)

    def value(self, value: Any, tp: Any, path: str) -> Any:
        """One value of declared type `tp` (a scalar, Literal, Optional, list, dict or dataclass)."""
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            options = [arg for arg in get_args(tp) if arg is not type(None)]
            if value is None and len(options) < len(get_args(tp)):
                return None
            return self.value(value, options[0], path) if len(options) == 1 else value
        if origin is Literal:
            return self.literal(value, get_args(tp), path)
        if origin is list:
            if not isinstance(value, list):
                raise self.error(path, "a list", show(value))
            return [self.value(item, get_args(tp)[0], join_path(path, i)) for i, item in enumerate(value)]
        if origin is dict:
            mapping = self._mapping(value, path, "a mapping")
            return {str(k): self.value(v, get_args(tp)[1], join_path(path, str(k))) for k, v in mapping.items()}
        if dataclasses.is_dataclass(tp):
            return self.build(tp, value, path)  # type: ignore[arg-type]
        return self.scalar(value, tp, path)

    def literal(self, value: Any, options: tuple[str, ...], path: str) -> str:
        if isinstance(value, str) and value in options:
            return value
        suggestion = closest(value, options) if isinstance(value, str) else None
        raise self.error(path, "one of " + ", ".join(options), show(value), suggestion)

    def scalar(self, value: Any, tp: Any, path: str) -> Any:
        if tp is bool:
            if isinstance(value, bool):
                return value
            raise self.error(path, "true or false", show(value))
        if tp is str:
            if isinstance(value, str):
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)  # e.g. run_id: 2024
            raise self.error(path, "a text value", show(value))
        if tp is int:
            return self.integer(value, path)
        if tp is float:
            return self.number(value, path)
        raise TypeError(f"no conversion for {tp!r} at {path}")  # a settings field of a type not handled here

    def number(self, value: Any, path: str) -> float:
        parsed = _as_number(value)
        if parsed is None:
            raise self.error(path, "a number", show(value))
        return parsed

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        parsed = _as_number(value)
        if parsed is None or not parsed.is_integer():
            raise self.error(path, "an integer", show(value))
        return int(parsed)

    # trainer settings --------------------------------------------------------------------
    def trainer(self, raw: Any, path: str, default: TrainerSettings | None = None) -> TrainerSettings:
        mapping = dict(self._mapping(raw, path, "a mapping of trainer settings (trainer_type, hyperparameters, ...)"))
        for key, reason in OBSOLETE_TRAINER_KEYS.items():
            if key in mapping:
                logger.warning("%s: ignoring %s: %s.", self.source, join_path(path, key), reason)
                del mapping[key]
        if "hyperparameters" in mapping and "trainer_type" not in mapping and default is None:
            raise self.error(
                join_path(path, "trainer_type"),
                "a trainer_type (ppo, sac or poca) next to hyperparameters",
                "hyperparameters without a trainer_type",
            )
        merged = self._over_default(mapping, default)
        trainer_types = tuple(HYPERPARAMETER_CLASSES)
        trainer_type = self.literal(merged.get("trainer_type", "ppo"), trainer_types, join_path(path, "trainer_type"))
        fields = {f.name for f in dataclasses.fields(TrainerSettings)}
        hints = get_type_hints(TrainerSettings)
        kwargs: dict[str, Any] = {}
        for key, value in merged.items():
            key_path = join_path(path, str(key))
            if key not in fields:
                raise self._unknown(key, path, sorted(fields), "trainer settings")
            if key == "hyperparameters":
                kwargs[key] = self.hyperparameters(value, trainer_type, key_path)
            elif key == "reward_signals":
                kwargs[key] = self.reward_signals(value, key_path)
            else:
                kwargs[key] = self.value(value, hints[key], key_path)
        return self._construct(TrainerSettings, kwargs, path)

    @staticmethod
    def _over_default(mapping: dict[str, Any], default: TrainerSettings | None) -> dict[str, Any]:
        if default is None:
            return mapping
        merged: dict[str, Any] = unstructure(default)
        if mapping.get("trainer_type", default.trainer_type) != default.trainer_type:
            # another trainer's hyperparameters do not apply (ML-Agents would reject them as unknown keys)
            del merged["hyperparameters"]
        deep_update(merged, mapping)
        return merged

    def hyperparameters(self, raw: Any, trainer_type: str, path: str) -> Hyperparameters:
        cls = HYPERPARAMETER_CLASSES[trainer_type]
        mapping = dict(self._mapping(raw, path, f"a mapping of {trainer_type} hyperparameters"))
        for key in mapping:
            owners = [name for name, other in HYPERPARAMETER_CLASSES.items() if key in other.__dataclass_fields__]
            if owners and trainer_type not in owners:
                valid = list(cls.__dataclass_fields__)
                expected = f"one of the {trainer_type} hyperparameters ({', '.join(valid)})"
                found = f"{key!r}, which is a hyperparameter of trainer_type {' or '.join(owners)}"
                raise self.error(join_path(path, key), expected, found)
        if trainer_type in ("ppo", "poca") and "learning_rate_schedule" in mapping:
            for key in SCHEDULES_FOLLOWING_LEARNING_RATE:
                mapping.setdefault(key, mapping["learning_rate_schedule"])
        hyperparameters: Hyperparameters = self.build(cls, mapping, path)
        return hyperparameters

    def reward_signals(self, raw: Any, path: str) -> dict[str, RewardSignalSettings]:
        mapping = self._mapping(raw, path, "a mapping of reward signals (extrinsic, gail, curiosity, rnd)")
        signals: dict[str, RewardSignalSettings] = {}
        for name, value in mapping.items():
            if name not in REWARD_SIGNAL_CLASSES:
                raise self._unknown(name, path, list(REWARD_SIGNAL_CLASSES), "reward signals")
            signal_path = join_path(path, name)
            signal = self.build(REWARD_SIGNAL_CLASSES[name], value, signal_path, f"the {name} reward signal")
            encoding_size = getattr(signal, "encoding_size", None)
            if encoding_size is not None:
                logger.warning("%s: %s.encoding_size is deprecated; use network_settings.", self.source, signal_path)
                if "network_settings" not in value:
                    network = dataclasses.replace(signal.network_settings, hidden_units=encoding_size)
                    signal = dataclasses.replace(signal, network_settings=network)
            signals[name] = signal
        return signals

    # environment parameters --------------------------------------------------------------
    def environment_parameters(self, raw: Any, path: str) -> dict[str, EnvironmentParameterSettings] | None:
        if raw is None:
            return None
        mapping = self._mapping(raw, path, "a mapping of environment parameter names to values")
        result: dict[str, EnvironmentParameterSettings] = {}
        for name, value in mapping.items():
            param_path = join_path(path, str(name))
            if isinstance(value, Mapping) and "curriculum" in value:
                if set(value) != {"curriculum"}:
                    extra = sorted(set(value) - {"curriculum"})[0]
                    raise self._unknown(extra, param_path, ["curriculum"], "a curriculum parameter")
                lessons = self._lessons(str(name), value["curriculum"], join_path(param_path, "curriculum"))
                result[str(name)] = self._construct(EnvironmentParameterSettings, {"curriculum": lessons}, param_path)
            else:
                result[str(name)] = EnvironmentParameterSettings.single(str(name), self.sampler(value, param_path))
        return result

    def sampler(self, value: Any, path: str) -> Sampler:
        try:
            return parse_sampler(path, value)
        except ParameterError as err:
            raise self.error(join_path(path, err.key) if err.key else path, err.expected, err.found,
                             err.suggestion) from None  # fmt: skip

    def _lessons(self, parameter: str, raw: Any, path: str) -> list[Lesson]:
        if not isinstance(raw, list):
            raise self.error(path, "a list of lessons (name, value, completion_criteria)", show(raw))
        return [self._lesson(item, join_path(path, index)) for index, item in enumerate(raw)]

    def _lesson(self, raw: Any, path: str) -> Lesson:
        mapping = dict(self._mapping(raw, path, "a lesson: a mapping with name, value and completion_criteria"))
        fields = ["value", "name", "completion_criteria"]
        if len(mapping) == 1:
            # ML-Agents' upgrade script writes lessons as {LessonName: {value, completion_criteria}}
            ((name, body),) = mapping.items()
            if name not in fields and isinstance(body, Mapping):
                mapping = {"name": str(name), **body}
        for key in mapping:
            if key not in fields:
                raise self._unknown(key, path, fields, "a lesson")
        for key in ("value", "name"):
            if key not in mapping:
                raise self.error(join_path(path, key), f"a value for the required key {key!r}", "nothing")
        criteria = mapping.get("completion_criteria")
        if criteria is not None:
            key = join_path(path, "completion_criteria")
            criteria = self.build(CompletionCriteriaSettings, criteria, key, "completion criteria")
        return Lesson(
            value=self.sampler(mapping["value"], join_path(path, "value")),
            name=self.scalar(mapping["name"], str, join_path(path, "name")),
            completion_criteria=criteria,
        )

    # the whole run -------------------------------------------------------------------------
    def run_options(self, raw: Any) -> RunOptions:
        mapping = self._mapping(raw, "", "a mapping at the top level (behaviors, env_settings, ...)")
        fields = [f.name for f in dataclasses.fields(RunOptions)]
        for key in mapping:
            if key not in fields:
                raise self._unknown(key, "", fields, "the top level")
        default = None
        if mapping.get("default_settings") is not None:
            default = self.trainer(mapping["default_settings"], "default_settings")
        behaviors = BehaviorSettings()
        for name, value in self._mapping(mapping.get("behaviors"), "behaviors", "a mapping of behavior names").items():
            behaviors[str(name)] = self.trainer(value, join_path("behaviors", str(name)), default)
        hints = get_type_hints(RunOptions)
        kwargs: dict[str, Any] = {"default_settings": default, "behaviors": behaviors}
        for key, value in mapping.items():
            if key == "environment_parameters":
                kwargs[key] = self.environment_parameters(value, key)
            elif key not in kwargs:
                kwargs[key] = self.value(value, hints[key], key)
        options = self._construct(RunOptions, kwargs, "")
        options.behaviors.source = self.source
        return options
