"""The ML-Agents 0.x (up to 0.16) trainer configuration, upgraded to current-format behaviors.

Flat keys per behavior and a `default:` section, e.g. `trainer: ppo`, `batch_size`,
`use_recurrent` + `sequence_length` + `memory_size`, `hidden_units`, SAC's `train_interval`/
`num_update`, imitation's `pretraining:` section. `config.legacy` detects the format and calls
`upgrade_flat_behaviors`; `config.structure` then checks the result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mlagents_fast.config.errors import ConfigError, closest, show
from mlagents_fast.config.trainer_settings import HYPERPARAMETER_CLASSES, MemorySettings, TrainerSettings

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
REMOVED_TRAINERS = {
    "offline_bc": "the offline_bc trainer was removed in ML-Agents 0.15",
    "online_bc": "the online_bc trainer was removed in ML-Agents 0.15",
    "imitation": "the imitation trainer was removed in ML-Agents 0.5",
}
BC_KEYS = ("demo_path", "strength", "steps", "batch_size", "num_epoch", "samples_per_update")


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


def key_origins(raw: Mapping[str, Any]) -> dict[str, str]:
    """For a 0.x flat file: the current-format dotted key of each value the upgrade reads,
    mapped to the key as the file writes it (`default.max_steps`, `3DBall.batch_size`), so an
    error can name both."""
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
