"""Environment parameters: constants and samplers, read by environments at each episode reset.

Matches ML-Agents' `environment_parameters` entries: a number (constant) or
`{sampler_type: uniform|gaussian|multirangeuniform|constant, sampler_parameters: {...}}`.
As in Unity, an environment reads a parameter when an episode begins and every read of
a sampled parameter draws a new value (`EnvironmentParameters.get_with_default`).
"""

from __future__ import annotations

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
    """An environment parameter that is not a number or a valid sampler."""


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


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"Environment parameter {where} must be a finite number; got {value!r}.")
    return float(value)


def parse_sampler(name: str, setting: Any) -> Sampler:
    """A number or a `{sampler_type, sampler_parameters}` mapping -> Sampler (raises ParameterError).

    A Sampler (as the configuration holds them) is taken as it is."""
    if isinstance(setting, Sampler):
        return setting
    if not isinstance(setting, Mapping):
        return Sampler("constant", ((_number(setting, repr(name)),) * 2,))
    unknown = set(setting) - {"sampler_type", "sampler_parameters"}
    kind = str(setting.get("sampler_type", "")).lower().replace("_", "").replace("-", "")
    if unknown or kind not in SAMPLER_ARGUMENTS:
        raise ParameterError(
            f"Environment parameter {name!r} must be a number or a mapping with 'sampler_type' (one of "
            f"{', '.join(SAMPLER_ARGUMENTS)}) and 'sampler_parameters'; got {dict(setting)!r}."
        )
    arguments = dict(setting.get("sampler_parameters") or {})
    seed = arguments.pop("seed", -1)
    extra = set(arguments) - set(SAMPLER_ARGUMENTS[kind])
    if extra:
        raise ParameterError(
            f"Environment parameter {name!r}: sampler {kind!r} takes {', '.join(SAMPLER_ARGUMENTS[kind])} "
            f"and seed; got unknown {', '.join(sorted(extra))}."
        )
    values = {**SAMPLER_DEFAULTS[kind], **arguments}
    where = f"{name!r} ({kind})"
    if kind == "multirangeuniform":
        intervals = values["intervals"]
        if not isinstance(intervals, list) or not intervals:
            raise ParameterError(f"Environment parameter {where}: intervals must be a list of [min, max] pairs.")
        pairs = []
        for pair in intervals:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ParameterError(f"Environment parameter {where}: interval {pair!r} is not a [min, max] pair.")
            pairs.append((_number(pair[0], where), _number(pair[1], where)))
    else:
        first, second = SAMPLER_ARGUMENTS[kind][0], SAMPLER_ARGUMENTS[kind][-1]
        pairs = [(_number(values[first], where), _number(values[second], where))]
    if kind in ("uniform", "multirangeuniform") and any(low > high for low, high in pairs):
        raise ParameterError(f"Environment parameter {where}: min_value must not exceed max_value; got {pairs}.")
    if kind == "gaussian" and pairs[0][1] < 0:
        raise ParameterError(f"Environment parameter {where}: st_dev must be >= 0; got {pairs[0][1]}.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ParameterError(f"Environment parameter {where}: seed must be an integer; got {seed!r}.")
    return Sampler(kind, tuple(pairs), seed)


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
