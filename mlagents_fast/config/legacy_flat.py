"""The ML-Agents 0.x (up to 0.16) trainer configuration, upgraded to current-format behaviors.

Flat keys per behavior and a `default:` section, e.g. `trainer: ppo`, `batch_size`,
`use_recurrent` + `sequence_length` + `memory_size`, `hidden_units`, SAC's `train_interval`/
`num_update` (and `reward_signals.reward_signal_num_update`), imitation's `pretraining:` section.
`config.legacy` detects the format and calls `upgrade_flat_behaviors`; `config.structure` then
checks the result.
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
# SAC keys a 0.x file may write under reward_signals; the upgrade makes them hyperparameters
SIGNAL_SECTION_KEYS = frozenset({"reward_signal_num_update", "reward_signal_steps_per_update"})
# 0.10-0.15 SAC's counts (each 1 when not given), divided into steps per update by the upgrade
SAC_COUNTS = {
    "train_interval": "steps between updates",
    "num_update": "updates every train_interval steps",
    "reward_signal_num_update": "reward signal updates every train_interval steps",
}


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
        behaviors[str(name)] = upgrade_flat_behavior(config, str(name), source, _written_in(raw, name))
    return behaviors


def _written_in(raw: Mapping[str, Any], name: Any) -> dict[str, str]:
    """For behavior `name` of a 0.x file: each key it uses -> the section that writes it
    (`default`, its own section, or the section its entry names)."""
    default = raw.get("default")
    section, section_name = raw[name], str(name)
    if isinstance(section, str) and isinstance(raw.get(section), Mapping):  # reuses another section
        section_name, section = section, raw[section]
    where = {str(key): "default" for key in default} if isinstance(default, Mapping) else {}
    if isinstance(section, Mapping):
        where.update({str(key): section_name for key in section})
    return where


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
    origins: dict[str, str] = {}
    for name in raw:
        if name == "default":
            continue
        where = _written_in(raw, name)
        for key, section_name in where.items():
            place = _flat_key_place(key)
            if place is not None:
                origins.setdefault(f"behaviors.{name}.{place}", f"{section_name}.{key}")
        if _in_reward_signals(raw, where, "reward_signal_steps_per_update"):  # where reward_signal_num_update was
            written = f"{where['reward_signals']}.reward_signals.reward_signal_steps_per_update"
            origins.setdefault(f"behaviors.{name}.hyperparameters.reward_signal_steps_per_update", written)
    return origins


def _in_reward_signals(raw: Mapping[str, Any], where: Mapping[str, str], key: str) -> bool:
    """Whether a behavior's `reward_signals` (`where`: the section that writes each key) hold `key`."""
    section = where.get("reward_signals")
    signals = raw[section].get("reward_signals") if section is not None else None
    return isinstance(signals, Mapping) and key in signals


def _flat_key_place(key: str) -> str | None:
    """Where the upgrade puts a flat key, under behaviors.<name> (None: nowhere)."""
    if key in FLAT_KEY_PLACES:
        return FLAT_KEY_PLACES[key]
    if key in TRAINER_KEYS:
        return key
    if key in NETWORK_KEYS:
        return f"network_settings.{key}"
    return f"hyperparameters.{key}" if key in HYPERPARAMETER_KEYS else None


def upgrade_flat_behavior(
    config: Mapping[str, Any], name: str, source: str, written_in: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One behavior's merged 0.x keys -> its current TrainerSettings dict. `written_in`: each key ->
    the section that writes it (`default` or the behavior's own), for errors; else the behavior."""
    written_in = written_in or {}
    trainer = config.get("trainer")
    if trainer in REMOVED_TRAINERS:
        raise _error(source, f"{name}.trainer", f"ppo or sac ({REMOVED_TRAINERS[trainer]}; "
                     f"{_cloning_equivalent(config, name)})", show(trainer))  # fmt: skip
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
        _upgrade_sac(config, new, _Where(name, source, written_in))
    _upgrade_reward_signals(config, new)
    if "pretraining" in config:
        pretraining = config["pretraining"] or {}
        if not isinstance(pretraining, Mapping):
            expected = f"a mapping of imitation settings ({', '.join(BC_KEYS)})"
            written = f"{written_in.get('pretraining', name)}.pretraining"
            raise ConfigError.invalid(
                source, f"behaviors.{name}.behavioral_cloning", expected, show(pretraining), written_as=written
            )
        new["behavioral_cloning"] = {k: v for k, v in pretraining.items() if k in BC_KEYS}
    return new


def _cloning_equivalent(config: Mapping[str, Any], name: str) -> str:
    """The current settings that do what a removed imitation trainer did, with the file's own values."""
    cloning = {key: config[key] for key in BC_KEYS if key in config}
    recorded = ""
    if "demo_path" not in cloning:  # online_bc / imitation learned from a teacher brain playing live
        teacher = config.get("brain_to_imitate", "the teacher")
        cloning = {"demo_path": "TEACHER.demo", **cloning}
        recorded = f", TEACHER.demo a demonstration recorded from {teacher}"
    settings = ", ".join(f"{key}: {value}" for key, value in cloning.items())
    current = f"behaviors: {{{name}: {{trainer_type: ppo, behavioral_cloning: {{{settings}}}}}}}"
    return f"the same training is `{current}`{recorded}"


def _flat_network(config: Mapping[str, Any]) -> dict[str, Any]:
    network = {key: config[key] for key in NETWORK_KEYS if key in config}
    if "vis_encoder_type" in config and "vis_encode_type" not in config:
        network["vis_encode_type"] = config["vis_encoder_type"]  # a spelling found in old documentation
    if config.get("use_recurrent"):
        defaults = dataclasses.asdict(MemorySettings())
        network["memory"] = {key: config.get(key, defaults[key]) for key in ("sequence_length", "memory_size")}
    return network


@dataclasses.dataclass(frozen=True)
class _Where:
    """A 0.x behavior being upgraded: its name, the file, and the section that writes each key."""

    name: str
    source: str
    written_in: Mapping[str, str]

    def count(self, section: Mapping[str, Any], key: str, place: str) -> int:
        """0.x SAC's count `key` from `section` (the behavior's keys, or its reward_signals), checked;
        1 when not given. `place`: the hyperparameter it becomes (errors name both)."""
        if key not in section:
            return 1
        value = section[key]
        number = _whole_number(value)
        if number is None or number < 1:
            in_signals = key in SIGNAL_SECTION_KEYS
            written = f"{self.written_in.get('reward_signals' if in_signals else key, self.name)}."
            written += f"reward_signals.{key}" if in_signals else key
            current = f"behaviors.{self.name}.hyperparameters.{place}"
            expected = f"an integer >= 1 ({SAC_COUNTS[key]})"
            raise ConfigError.invalid(self.source, current, expected, show(value), written_as=written)
        return number


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _upgrade_sac(config: Mapping[str, Any], new: dict[str, Any], where: _Where) -> None:
    """0.10-0.15 SAC updated `num_update` times every `train_interval` steps, and its reward signals
    `reward_signals.reward_signal_num_update` times (else num_update); ML-Agents PR 3690 made these
    `steps_per_update` and `reward_signal_steps_per_update`. The second is also taken from under
    `reward_signals`, where the older key was. A key the file gives in the current form wins."""
    hyperparameters = new["hyperparameters"]
    signals = config.get("reward_signals")
    signals = signals if isinstance(signals, Mapping) else {}
    spu, signal_spu = "steps_per_update", "reward_signal_steps_per_update"
    if spu not in hyperparameters and ("train_interval" in config or "num_update" in config):
        hyperparameters[spu] = where.count(config, "train_interval", spu) / where.count(config, "num_update", spu)
    if signal_spu in signals:
        hyperparameters.setdefault(signal_spu, signals[signal_spu])
    if "reward_signal_num_update" in signals and signal_spu not in hyperparameters:
        interval = where.count(config, "train_interval", signal_spu)
        hyperparameters[signal_spu] = interval / where.count(signals, "reward_signal_num_update", signal_spu)


def _upgrade_reward_signals(config: Mapping[str, Any], new: dict[str, Any]) -> None:
    signals = config.get("reward_signals")
    if isinstance(signals, Mapping):
        new["reward_signals"] = {key: value for key, value in signals.items() if key not in SIGNAL_SECTION_KEYS}
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
