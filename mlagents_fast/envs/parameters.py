"""Environment parameters: constants and samplers, read by environments at each episode reset.

Matches ML-Agents' `environment_parameters` entries: a number (constant) or
`{sampler_type: uniform|gaussian|multirangeuniform|constant, sampler_parameters: {...}}`.
As in Unity, an environment reads a parameter when an episode begins and every read of
a sampled parameter draws a new value (`EnvironmentParameters.get_with_default`).
"""

from __future__ import annotations

import difflib
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SAMPLER_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "uniform": ("min_value", "max_value"),
    "gaussian": ("mean", "st_dev"),
    "multirangeuniform": ("intervals",),
}
SAMPLER_DEFAULTS: dict[str, dict[str, Any]] = {
    "constant": {"value": 0.0},
    "uniform": {"min_value": 0.0, "max_value": 1.0},
    "gaussian": {"mean": 1.0, "st_dev": 1.0},
    "multirangeuniform": {"intervals": [[0.0, 1.0]]},
}


class ParameterError(ValueError):
    """An environment parameter that is not a number or a valid sampler.

    `key` is where inside the parameter (`sampler_parameters.min_value`, empty for the
    parameter itself), so a configuration error can name the full dotted key."""

    def __init__(self, name: str, key: str, expected: str, found: str, suggestion: str | None = None) -> None:
        self.name, self.key, self.expected, self.found, self.suggestion = name, key, expected, found, suggestion
        where = f"{name}.{key}" if key else name
        message = f"Environment parameter {where}: expected {expected}, found {found}."
        if suggestion is not None:
            message += f" Did you mean `{suggestion}`?"
        super().__init__(message)


@dataclass(frozen=True)
class Sampler:
    """One parameter's distribution. `intervals` holds (low, high) pairs; for a constant,
    uniform or gaussian sampler it holds one pair: (value, value), (min, max), (mean, st_dev)."""

    kind: str
    intervals: tuple[tuple[float, float], ...]
    seed: int = -1

    def draw(self, rng: random.Random) -> float:
        if self.kind == "constant":
            return self.intervals[0][0]
        if self.kind == "gaussian":
            mean, st_dev = self.intervals[0]
            return rng.gauss(mean, st_dev)
        # uniform is multirange with one interval; an interval is chosen with odds by its length
        lengths = [high - low for low, high in self.intervals]
        if sum(lengths) <= 0.0:
            return self.intervals[0][0]
        low, high = rng.choices(self.intervals, weights=lengths)[0]
        return rng.uniform(low, high)


def _number(value: Any, name: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(name, key, "a finite number", repr(value))
    return float(value)


def _closest(word: str, choices: list[str]) -> str | None:
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def parse_sampler(name: str, setting: Any) -> Sampler:
    """A number or a `{sampler_type, sampler_parameters}` mapping -> Sampler (raises ParameterError).

    A Sampler (as the configuration holds them) is taken as it is."""
    if isinstance(setting, Sampler):
        return setting
    if not isinstance(setting, Mapping):
        return Sampler("constant", ((_number(setting, name, ""),) * 2,))
    kind = _sampler_kind(name, setting)
    raw_arguments = setting.get("sampler_parameters") or {}
    if not isinstance(raw_arguments, Mapping):
        raise ParameterError(name, "sampler_parameters", "a mapping of the sampler's arguments", repr(raw_arguments))
    arguments = dict(raw_arguments)
    seed = arguments.pop("seed", -1)
    valid = [*SAMPLER_ARGUMENTS[kind], "seed"]
    for key in arguments:
        if key not in valid:
            raise ParameterError(name, f"sampler_parameters.{key}", f"one of {', '.join(valid)} for a {kind} sampler",
                                 "an unknown key", _closest(str(key), valid))  # fmt: skip
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ParameterError(name, "sampler_parameters.seed", "an integer", repr(seed))
    return Sampler(kind, _intervals(name, kind, {**SAMPLER_DEFAULTS[kind], **arguments}), seed)


def _sampler_kind(name: str, setting: Mapping[str, Any]) -> str:
    """The sampler_type of a sampler mapping, normalised (`multi_range_uniform` -> multirangeuniform)."""
    for key in setting:
        if key not in ("sampler_type", "sampler_parameters"):
            raise ParameterError(name, str(key), "only sampler_type and sampler_parameters", "an unknown key",
                                 _closest(str(key), ["sampler_type", "sampler_parameters"]))  # fmt: skip
    kinds = list(SAMPLER_ARGUMENTS)
    if "sampler_type" not in setting:
        raise ParameterError(name, "sampler_type", f"one of {', '.join(kinds)}", "no sampler_type")
    given = str(setting["sampler_type"])
    kind = given.lower().replace("_", "").replace("-", "")
    if kind not in SAMPLER_ARGUMENTS:
        raise ParameterError(name, "sampler_type", f"one of {', '.join(kinds)}", repr(given), _closest(kind, kinds))
    return kind


def _intervals(name: str, kind: str, values: Mapping[str, Any]) -> tuple[tuple[float, float], ...]:
    """The sampler's arguments as (low, high) pairs, checked."""
    if kind == "multirangeuniform":
        intervals = values["intervals"]
        key = "sampler_parameters.intervals"
        if not isinstance(intervals, list) or not intervals:
            raise ParameterError(name, key, "a non-empty list of [min, max] pairs", repr(intervals))
        pairs = []
        for index, pair in enumerate(intervals):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ParameterError(name, f"{key}[{index}]", "a [min, max] pair", repr(pair))
            pairs.append((_number(pair[0], name, f"{key}[{index}]"), _number(pair[1], name, f"{key}[{index}]")))
    else:
        first, second = SAMPLER_ARGUMENTS[kind][0], SAMPLER_ARGUMENTS[kind][-1]
        pairs = [(_number(values[first], name, f"sampler_parameters.{first}"),
                  _number(values[second], name, f"sampler_parameters.{second}"))]  # fmt: skip
    for low, high in pairs:
        if kind in ("uniform", "multirangeuniform") and low > high:
            raise ParameterError(name, "sampler_parameters", "min_value not above max_value",
                                 f"min_value {low:g} > max_value {high:g}")  # fmt: skip
    if kind == "gaussian" and pairs[0][1] < 0:
        raise ParameterError(name, "sampler_parameters.st_dev", "a number >= 0", f"{pairs[0][1]:g}")
    return tuple(pairs)


def parse_parameters(parameters: Mapping[str, Any]) -> dict[str, Sampler]:
    return {str(name): parse_sampler(str(name), setting) for name, setting in parameters.items()}


class EnvironmentParameters:
    """What an environment copy reads at episode reset; each read of a sampler draws anew.

    A sampler with seed -1 is seeded from the copy's seed, so copies differ and runs repeat.
    """

    def __init__(self, samplers: Mapping[str, Sampler], copy_seed: int) -> None:
        self.samplers = dict(samplers)
        self._rngs = {
            name: random.Random(f"{name}:{copy_seed if sampler.seed == -1 else sampler.seed}:{copy_seed}")
            for name, sampler in self.samplers.items()
        }

    def get_with_default(self, name: str, default: float) -> float:
        sampler = self.samplers.get(name)
        return default if sampler is None else sampler.draw(self._rngs[name])
