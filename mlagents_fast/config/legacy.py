"""Older configuration formats, upgraded in memory to the current one (with a one-line notice).

- ML-Agents 0.x (up to 0.16): flat keys per behavior and a `default:` section, e.g.
  `trainer: ppo`, `batch_size`, `use_recurrent` + `sequence_length` + `memory_size`,
  `hidden_units`, SAC's `train_interval`/`num_update`, imitation's `pretraining:` section.
- ML-Agents 0.17-0.18: `behaviors:` plus top-level `curriculum:` and `parameter_randomization:`.
- The separate files of the old `--curriculum FILE|FOLDER` and `--sampler FILE` flags.

Every function returns plain data in the current format; `config.structure` then checks it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from mlagents_fast.config.errors import ConfigError, closest, show
from mlagents_fast.config.settings import RunOptions
from mlagents_fast.config.trainer_settings import HYPERPARAMETER_CLASSES, MemorySettings, TrainerSettings
from mlagents_fast.config.yaml_io import read_yaml

logger = logging.getLogger("mlagents_fast.config")

Format = Literal["current", "intermediate", "flat"]

RUN_KEYS = frozenset(f.name for f in dataclasses.fields(RunOptions))
INTERMEDIATE_KEYS = frozenset({"curriculum", "parameter_randomization"})
NETWORK_KEYS = ("normalize", "hidden_units", "num_layers", "vis_encode_type")
TRAINER_KEYS = frozenset(f.name for f in dataclasses.fields(TrainerSettings)) - {"hyperparameters", "network_settings"}
HYPERPARAMETER_KEYS = frozenset(key for cls in HYPERPARAMETER_CLASSES.values() for key in cls.__dataclass_fields__)
# keys of the flat format that are read below rather than copied
FLAT_SPECIAL_KEYS = frozenset(
    {
        "trainer",
        "use_recurrent",
        "sequence_length",
        "memory_size",
        "train_interval",
        "num_update",
        "pretraining",
        "gamma",
        "use_curiosity",
        "curiosity_strength",
        "curiosity_enc_size",
        "vis_encoder_type",
    }
)
# keys that were filled in by the old trainer itself, or that have no meaning any more
FLAT_OBSOLETE_KEYS = frozenset({"model_path", "summary_path", "output_path", "framework", "trainer_type"})
FLAT_KEYS = HYPERPARAMETER_KEYS | TRAINER_KEYS | set(NETWORK_KEYS) | FLAT_SPECIAL_KEYS | FLAT_OBSOLETE_KEYS
FLAT_MARKERS = frozenset({"trainer", "batch_size", "buffer_size", "max_steps", "use_recurrent", "hidden_units"})
REMOVED_TRAINERS = {
    "offline_bc": "the offline_bc trainer was removed in ML-Agents 0.15",
    "online_bc": "the online_bc trainer was removed in ML-Agents 0.15",
    "imitation": "the imitation trainer was removed in ML-Agents 0.5",
}
OLD_CURRICULUM_KEYS = ("measure", "thresholds", "min_lesson_length", "signal_smoothing", "parameters")
BC_KEYS = ("demo_path", "strength", "steps", "batch_size", "num_epoch", "samples_per_update")


def detect_format(raw: Any) -> Format:
    """Which format a parsed configuration file is written in."""
    if not isinstance(raw, Mapping) or not raw:
        return "current"
    keys = set(raw)
    if keys & INTERMEDIATE_KEYS and "behaviors" in keys:
        return "intermediate"
    if keys & RUN_KEYS:
        return "current"
    looks_flat = "default" in keys or any(
        isinstance(value, Mapping) and set(value) & FLAT_MARKERS for value in raw.values()
    )
    return "flat" if looks_flat else "current"


def upgrade(raw: Any, source: str, notice: bool = True) -> Any:
    """A parsed configuration in any supported format -> the current format (unchanged if current).

    `notice`: say so in a one-line warning (not when upgrade-config itself is converting)."""
    kind = detect_format(raw)
    if kind == "current":
        return raw
    hint = f"run `mlagents-fast upgrade-config {source} NEW.yaml` to convert the file once"
    if kind == "flat":
        if notice:
            logger.warning("%s is in the ML-Agents 0.x format (flat keys); upgraded in memory; %s.", source, hint)
        return {"behaviors": upgrade_flat_behaviors(raw, source)}
    if notice:
        logger.warning(
            "%s uses the ML-Agents 0.17-0.18 curriculum/parameter_randomization sections; upgraded in memory; %s.",
            source,
            hint,
        )
    upgraded = {key: value for key, value in raw.items() if key not in INTERMEDIATE_KEYS}
    legacy_parameters = environment_parameters_from_legacy(
        raw.get("parameter_randomization"), raw.get("curriculum"), source
    )
    upgraded["environment_parameters"] = merge_parameters(raw.get("environment_parameters"), legacy_parameters)
    return upgraded


def merge_parameters(current: Any, extra: Mapping[str, Any]) -> Any:
    """Environment parameters from an old-format source added under ones already given."""
    if not extra:
        return current
    merged = dict(extra)
    if isinstance(current, Mapping):
        merged.update(current)
    return merged


# 0.x flat behaviors ####################################################################
def _error(source: str, key: str, expected: str, found: str, suggestion: str | None = None) -> ConfigError:
    return ConfigError.invalid(source, key, expected, found, suggestion)


def _flat_section(raw: Mapping[str, Any], name: str, source: str) -> Mapping[str, Any]:
    section = raw[name]
    if isinstance(section, str) and section in raw and isinstance(raw[section], Mapping):
        section = raw[section]  # an entry that names another section reuses it
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise _error(source, name, "a mapping of trainer settings", show(section))
    return section


def upgrade_flat_behaviors(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    """0.x `{default: {...}, Behavior: {...}}` -> current `{Behavior: TrainerSettings dict}`."""
    default = _flat_section(raw, "default", source) if "default" in raw else {}
    behaviors: dict[str, Any] = {}
    for name in raw:
        if name == "default":
            continue
        config = dict(default)
        config.update(_flat_section(raw, name, source))  # shallow, as the old trainer merged them
        behaviors[str(name)] = upgrade_flat_behavior(config, str(name), source)
    return behaviors


# Where the upgrade puts a flat key, under behaviors.<name>, when it is not a plain
# hyperparameter, trainer or network key (those keep their names in their sections).
FLAT_KEY_PLACES = {
    "trainer": "trainer_type",
    "use_recurrent": "network_settings.memory",
    "sequence_length": "network_settings.memory.sequence_length",
    "memory_size": "network_settings.memory.memory_size",
    "vis_encoder_type": "network_settings.vis_encode_type",
    "train_interval": "hyperparameters.steps_per_update",
    "num_update": "hyperparameters.steps_per_update",
    "pretraining": "behavioral_cloning",
    "gamma": "reward_signals.extrinsic.gamma",
    "use_curiosity": "reward_signals.curiosity",
    "curiosity_strength": "reward_signals.curiosity.strength",
    "curiosity_enc_size": "reward_signals.curiosity.encoding_size",
}


def flat_key_origins(raw: Any) -> dict[str, str]:
    """For a 0.x flat file: the current-format dotted key of each value the upgrade reads,
    mapped to the key as the file writes it (`default.max_steps`, `3DBall.batch_size`), so an
    error can name both. Empty for a file in another format."""
    if detect_format(raw) != "flat":
        return {}
    default = raw.get("default")
    origins: dict[str, str] = {}
    for name, section in raw.items():
        if name == "default":
            continue
        written_in = str(name)
        if isinstance(section, str) and isinstance(raw.get(section), Mapping):  # reuses another section
            written_in, section = section, raw[section]
        where = {str(key): "default" for key in default} if isinstance(default, Mapping) else {}
        if isinstance(section, Mapping):
            where.update({str(key): written_in for key in section})
        for key, section_name in where.items():
            place = _flat_key_place(key)
            if place is not None:
                origins.setdefault(f"behaviors.{name}.{place}", f"{section_name}.{key}")
    return origins


def _flat_key_place(key: str) -> str | None:
    """Where the upgrade puts a flat key, under behaviors.<name> (None: nowhere)."""
    if key in FLAT_KEY_PLACES:
        return FLAT_KEY_PLACES[key]
    if key in TRAINER_KEYS:
        return key
    if key in NETWORK_KEYS:
        return f"network_settings.{key}"
    return f"hyperparameters.{key}" if key in HYPERPARAMETER_KEYS else None


def upgrade_flat_behavior(config: Mapping[str, Any], name: str, source: str) -> dict[str, Any]:
    trainer = config.get("trainer")
    if trainer in REMOVED_TRAINERS:
        raise _error(
            source,
            f"{name}.trainer",
            f"ppo or sac ({REMOVED_TRAINERS[trainer]}; use behavioral_cloning with a demo_path instead)",
            show(trainer),
        )
    if trainer not in ("ppo", "sac"):
        expected = "ppo or sac (the 0.x format needs trainer: in each behavior or in default)"
        raise _error(source, f"{name}.trainer", expected, show(trainer))
    for key in config:
        if key not in FLAT_KEYS:
            expected = "a trainer setting of the 0.x format"
            raise _error(source, f"{name}.{key}", expected, f"unknown key {key!r}", closest(str(key), FLAT_KEYS))
    fields = HYPERPARAMETER_CLASSES[trainer].__dataclass_fields__
    hyperparameters = {key: value for key, value in config.items() if key in fields}
    new: dict[str, Any] = {"trainer_type": trainer, "hyperparameters": hyperparameters}
    new["network_settings"] = _flat_network(config)
    for key, value in config.items():
        if key in TRAINER_KEYS:
            new[key] = value
    if trainer == "sac":
        _upgrade_sac(config, new)
    _upgrade_reward_signals(config, new)
    if "pretraining" in config:
        new["behavioral_cloning"] = {k: v for k, v in dict(config["pretraining"] or {}).items() if k in BC_KEYS}
    return new


def _flat_network(config: Mapping[str, Any]) -> dict[str, Any]:
    network = {key: config[key] for key in NETWORK_KEYS if key in config}
    if "vis_encoder_type" in config and "vis_encode_type" not in config:
        network["vis_encode_type"] = config["vis_encoder_type"]  # a spelling found in old documentation
    if config.get("use_recurrent"):
        defaults = dataclasses.asdict(MemorySettings())
        network["memory"] = {key: config.get(key, defaults[key]) for key in ("sequence_length", "memory_size")}
    return network


def _upgrade_sac(config: Mapping[str, Any], new: dict[str, Any]) -> None:
    """0.15 SAC: `train_interval` steps between updates, `num_update` updates each time (ML-Agents PR 3690)."""
    hyperparameters = new["hyperparameters"]
    signals = config.get("reward_signals")
    signal_updates = signals.get("reward_signal_num_update") if isinstance(signals, Mapping) else None
    if "steps_per_update" not in hyperparameters and ("train_interval" in config or "num_update" in config):
        interval = float(config.get("train_interval", 1))
        hyperparameters["steps_per_update"] = interval / float(config.get("num_update", 1))
        if signal_updates is not None:
            hyperparameters.setdefault("reward_signal_steps_per_update", interval / float(signal_updates))
    elif signal_updates is not None:
        hyperparameters.setdefault("reward_signal_steps_per_update", 1.0 / float(signal_updates))


def _upgrade_reward_signals(config: Mapping[str, Any], new: dict[str, Any]) -> None:
    signals = config.get("reward_signals")
    if isinstance(signals, Mapping):
        new["reward_signals"] = {key: value for key, value in signals.items() if key != "reward_signal_num_update"}
        return
    # before 0.9: a top-level gamma and use_curiosity flags instead of reward_signals
    if "gamma" in config or config.get("use_curiosity"):
        upgraded: dict[str, Any] = {"extrinsic": {"strength": 1.0, "gamma": config.get("gamma", 0.99)}}
        if config.get("use_curiosity"):
            upgraded["curiosity"] = {
                "strength": config.get("curiosity_strength", 0.01),
                "gamma": 0.99,
                "encoding_size": config.get("curiosity_enc_size", 128),
            }
        new["reward_signals"] = upgraded


# samplers and curricula ################################################################
def convert_samplers(raw: Any, source: str) -> dict[str, Any]:
    """Old sampler file / 0.17 `parameter_randomization` -> current `environment_parameters` entries.

    Accepts `sampler-type` or `sampler_type`, and arguments flat or under `sampler_parameters`.
    `resampling-interval` is dropped: samplers are now drawn again at every episode reset.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _error(source, "parameter_randomization", "a mapping of parameter names to samplers", show(raw))
    converted: dict[str, Any] = {}
    for name, entry in raw.items():
        if name in ("resampling-interval", "resampling_interval"):
            logger.warning("%s: resampling-interval is ignored; parameters are drawn at every episode reset.", source)
            continue
        converted[str(name)] = _convert_sampler(entry)
    return converted


def _convert_sampler(entry: Any) -> Any:
    if not isinstance(entry, Mapping):
        return entry  # a number: a constant
    rest = dict(entry)
    kind = rest.pop("sampler-type", rest.pop("sampler_type", None))
    if isinstance(kind, str):
        kind = kind.lower().replace("_", "").replace("-", "")  # multirange_uniform -> multirangeuniform
    parameters = dict(rest.pop("sampler_parameters", None) or {})
    parameters.update(rest)
    return {"sampler_type": kind, "sampler_parameters": parameters}


def convert_curricula(curricula: Any, source: str, taken: set[str] | None = None) -> dict[str, Any]:
    """Old per-behavior curricula -> one `{curriculum: [lessons]}` entry per parameter.

    An old curriculum is `{measure, thresholds: [n], min_lesson_length (1), signal_smoothing (false),
    parameters: {name: [n + 1 values]}}`. A parameter already given (e.g. by a sampler) keeps that.
    """
    if curricula is None:
        return {}
    if not isinstance(curricula, Mapping):
        raise _error(source, "curriculum", "a mapping of behavior names to curricula", show(curricula))
    taken = set() if taken is None else taken
    converted: dict[str, Any] = {}
    for behavior, curriculum in curricula.items():
        for parameter, lessons in _lessons(str(behavior), curriculum, source).items():
            if parameter in taken:
                logger.warning(
                    "%s: %s already has a sampler or curriculum; ignoring %s's.", source, parameter, behavior
                )
                continue
            taken.add(parameter)
            converted[parameter] = {"curriculum": lessons}
    return converted


def _lessons(behavior: str, curriculum: Any, source: str) -> dict[str, list[dict[str, Any]]]:
    where = f"curriculum.{behavior}"
    if not isinstance(curriculum, Mapping):
        raise _error(source, where, "a curriculum (measure, thresholds, parameters, ...)", show(curriculum))
    for key in curriculum:
        if key not in OLD_CURRICULUM_KEYS:
            found, suggestion = f"unknown key {key!r}", closest(str(key), OLD_CURRICULUM_KEYS)
            raise _error(source, f"{where}.{key}", "a key of an old curriculum", found, suggestion)
    thresholds = curriculum.get("thresholds")
    if not isinstance(thresholds, list):
        raise _error(source, f"{where}.thresholds", "a list of thresholds, one per lesson change", show(thresholds))
    parameters = curriculum.get("parameters")
    if not isinstance(parameters, Mapping) or not parameters:
        raise _error(source, f"{where}.parameters", "a mapping of parameter names to lists of values", show(parameters))
    criteria = {
        "behavior": behavior,
        "measure": curriculum.get("measure", "reward"),
        "min_lesson_length": curriculum.get("min_lesson_length", 1),
        "signal_smoothing": curriculum.get("signal_smoothing", False),
    }
    result: dict[str, list[dict[str, Any]]] = {}
    for parameter, values in parameters.items():
        if not isinstance(values, list) or len(values) != len(thresholds) + 1:
            expected = f"a list of {len(thresholds) + 1} values (one more than thresholds)"
            raise _error(source, f"{where}.parameters.{parameter}", expected, show(values))
        lessons: list[dict[str, Any]] = [
            {"name": f"Lesson{i}", "value": value, "completion_criteria": {**criteria, "threshold": thresholds[i]}}
            for i, value in enumerate(values[:-1])
        ]
        lessons.append({"name": f"Lesson{len(thresholds)}", "value": values[-1]})
        result[str(parameter)] = lessons
    return result


def environment_parameters_from_legacy(samplers: Any, curricula: Any, source: str) -> dict[str, Any]:
    """Samplers first, then curricula for parameters without a sampler (ML-Agents' upgrade rule)."""
    parameters = convert_samplers(samplers, source)
    parameters.update(convert_curricula(curricula, source, set(parameters)))
    return parameters


def read_curriculum(path: str | os.PathLike[str]) -> dict[str, Any]:
    """An old `--curriculum` argument: a folder of per-behavior files (named after the behavior),
    one per-behavior JSON file, or one YAML file mapping behavior names to curricula."""
    path = Path(os.fspath(path))
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".json", ".yaml", ".yml"))
        if not files:
            raise ConfigError(f"Curriculum folder {path} holds no .json or .yaml curriculum files.", source=str(path))
        return {p.stem: read_yaml(p) for p in files}
    raw = read_yaml(path)
    if isinstance(raw, Mapping) and "thresholds" in raw and "parameters" in raw:
        return {path.stem: raw}  # a single behavior's curriculum
    if not isinstance(raw, Mapping):
        raise _error(str(path), "", "a mapping of behavior names to curricula", show(raw))
    return dict(raw)


def read_sampler(path: str | os.PathLike[str]) -> Any:
    """An old `--sampler` file (converted with `convert_samplers`)."""
    return read_yaml(path)
