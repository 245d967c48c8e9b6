"""Older configuration formats, upgraded in memory to the current one (with a one-line notice).

- ML-Agents 0.x (up to 0.16): flat keys per behavior and a `default:` section (detected here,
  converted by `config.legacy_flat`).
- ML-Agents 0.17-0.18: `behaviors:` plus top-level `curriculum:` and `parameter_randomization:`.
- The separate files of the old `--curriculum FILE|FOLDER` and `--sampler FILE` flags.

Every function returns plain data in the current format; `config.structure` then checks it.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from mlagents_fast.config import legacy_flat
from mlagents_fast.config.errors import ConfigError, closest, show
from mlagents_fast.config.settings import RunOptions
from mlagents_fast.config.yaml_io import read_yaml

logger = logging.getLogger("mlagents_fast.config")

Format = Literal["current", "intermediate", "flat"]

RUN_KEYS = frozenset(f.name for f in dataclasses.fields(RunOptions))
INTERMEDIATE_KEYS = frozenset({"curriculum", "parameter_randomization"})
FLAT_MARKERS = frozenset({"trainer", "batch_size", "buffer_size", "max_steps", "use_recurrent", "hidden_units"})
OLD_CURRICULUM_KEYS = ("measure", "thresholds", "min_lesson_length", "signal_smoothing", "parameters")


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
        return {"behaviors": legacy_flat.upgrade_flat_behaviors(raw, source)}
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


def _error(source: str, key: str, expected: str, found: str, suggestion: str | None = None) -> ConfigError:
    return ConfigError.invalid(source, key, expected, found, suggestion)


def flat_key_origins(raw: Any) -> dict[str, str]:
    """For a 0.x flat file: the current-format dotted key of each value the upgrade reads,
    mapped to the key as the file writes it (`default.max_steps`, `3DBall.batch_size`), so an
    error can name both. Empty for a file in another format."""
    return legacy_flat.key_origins(raw) if detect_format(raw) == "flat" else {}


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
    for i, (low, high) in enumerate(itertools.pairwise(thresholds)):
        numbers = all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in (low, high))
        if not numbers or high < low or (high == low and curriculum.get("measure", "reward") == "progress"):
            raise _error(source, f"{where}.thresholds[{i + 1}]", f"increasing thresholds (above {low!r})", show(high))
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
