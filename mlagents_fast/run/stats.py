"""Training statistics: collected per category (behavior name) and handed to writers each summary.

Mirrors ML-Agents' ``mlagents.trainers.stats``: trainers call :meth:`StatsReporter.add_stat` /
:meth:`StatsReporter.set_stat` at any time and :meth:`StatsReporter.write_stats` every
``summary_freq`` steps; every registered :class:`StatsWriter` (TensorBoard, console, gauges,
plugins) then receives one :class:`StatsSummary` per key and the buffer is cleared.

Reporters share one :class:`StatsRegistry` (the process-wide default unless one is passed),
which is what lets the environment side and the trainer side report into the same category.
"""

from __future__ import annotations

import abc
import enum
import threading
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "StatsAggregationMethod",
    "StatsPropertyType",
    "StatsRegistry",
    "StatsReporter",
    "StatsSummary",
    "StatsWriter",
    "hyperparameters_to_str",
]


class StatsAggregationMethod(enum.IntEnum):
    """How values reported between two summaries are combined (the C# StatAggregationMethod codes)."""

    AVERAGE = 0  # mean of the values
    MOST_RECENT = 1  # only the last value is kept
    SUM = 2  # sum of the values
    HISTOGRAM = 3  # mean as a scalar, plus the full distribution as a TensorBoard histogram


class StatsPropertyType(enum.Enum):
    HYPERPARAMETERS = "hyperparameters"
    SELF_PLAY = "selfplay"


class StatsSummary(NamedTuple):
    """Every value reported for one key since the last summary, and how to aggregate them."""

    full_dist: Sequence[float]
    aggregation_method: StatsAggregationMethod

    @staticmethod
    def empty() -> StatsSummary:
        return StatsSummary([], StatsAggregationMethod.AVERAGE)

    @property
    def aggregated_value(self) -> float:
        """The scalar written to TensorBoard: the sum for SUM, the mean otherwise."""
        return self.sum if self.aggregation_method == StatsAggregationMethod.SUM else self.mean

    @property
    def mean(self) -> float:
        return float(np.mean(self.full_dist)) if self.full_dist else 0.0

    @property
    def std(self) -> float:
        # Population standard deviation (numpy's default), as ML-Agents prints it.
        return float(np.std(self.full_dist)) if self.full_dist else 0.0

    @property
    def num(self) -> int:
        return len(self.full_dist)

    @property
    def sum(self) -> float:
        return float(np.sum(self.full_dist)) if self.full_dist else 0.0


class StatsWriter(abc.ABC):
    """Receives summaries; subclass it for a new output (the ``mlagents.stats_writer`` plugin API)."""

    def on_add_stat(  # noqa: B027 - optional hook, a no-op unless overridden
        self,
        category: str,
        key: str,
        value: float,
        aggregation: StatsAggregationMethod = StatsAggregationMethod.AVERAGE,
    ) -> None:
        """Called for every single reported value; keep it cheap. Does nothing by default."""

    @abc.abstractmethod
    def write_stats(self, category: str, values: dict[str, StatsSummary], step: int) -> None:
        """Called every summary with all keys reported for ``category`` since the last one."""

    def add_property(self, category: str, property_type: StatsPropertyType, value: Any) -> None:  # noqa: B027
        """Called once per property (hyperparameters dict, self-play flag). Ignored by default."""


class StatsRegistry:
    """Writers and pending values shared by every reporter that uses this registry."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # env threads and trainer threads report concurrently
        self.writers: list[StatsWriter] = []
        self.values: defaultdict[str, defaultdict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.aggregation: defaultdict[str, dict[str, StatsAggregationMethod]] = defaultdict(dict)

    def add_writer(self, writer: StatsWriter) -> None:
        with self.lock:
            self.writers.append(writer)

    def clear(self) -> None:
        """Forget all writers and pending values (a new run in the same process, tests)."""
        with self.lock:
            self.writers.clear()
            self.values.clear()
            self.aggregation.clear()


DEFAULT_REGISTRY = StatsRegistry()


class StatsReporter:
    """Reports statistics for one category, usually a behavior name."""

    def __init__(self, category: str, registry: StatsRegistry | None = None) -> None:
        self.category = category
        self.registry = registry if registry is not None else DEFAULT_REGISTRY

    @staticmethod
    def add_writer(writer: StatsWriter, registry: StatsRegistry | None = None) -> None:
        (registry if registry is not None else DEFAULT_REGISTRY).add_writer(writer)

    def add_property(self, property_type: StatsPropertyType, value: Any) -> None:
        reg = self.registry
        with reg.lock:
            for writer in reg.writers:
                writer.add_property(self.category, property_type, value)

    def add_stat(
        self, key: str, value: float, aggregation: StatsAggregationMethod = StatsAggregationMethod.AVERAGE
    ) -> None:
        """Record one value of ``key``; values are combined at the next summary by ``aggregation``."""
        if aggregation == StatsAggregationMethod.MOST_RECENT:
            self.set_stat(key, value)
            return
        reg = self.registry
        with reg.lock:
            reg.values[self.category][key].append(value)
            reg.aggregation[self.category][key] = aggregation
            for writer in reg.writers:
                writer.on_add_stat(self.category, key, value, aggregation)

    def set_stat(self, key: str, value: float) -> None:
        """Replace ``key``'s pending values with ``value`` (MOST_RECENT aggregation)."""
        reg = self.registry
        with reg.lock:
            reg.values[self.category][key] = [value]
            reg.aggregation[self.category][key] = StatsAggregationMethod.MOST_RECENT
            for writer in reg.writers:
                writer.on_add_stat(self.category, key, value, StatsAggregationMethod.MOST_RECENT)

    def get_stats_summaries(self, key: str) -> StatsSummary:
        """The pending values of ``key`` (without clearing them)."""
        reg = self.registry
        with reg.lock:
            pending = reg.values[self.category].get(key) if self.category in reg.values else None
            if not pending:
                return StatsSummary.empty()
            return StatsSummary(list(pending), reg.aggregation[self.category][key])

    def write_stats(self, step: int) -> None:
        """Hand every pending key of this category to all writers at ``step``, then clear them."""
        reg = self.registry
        with reg.lock:
            pending: dict[str, list[float]] = reg.values.pop(self.category, {})
            methods = reg.aggregation[self.category]
            values = {key: StatsSummary(vals, methods[key]) for key, vals in pending.items() if vals}
            for writer in reg.writers:
                writer.write_stats(self.category, values, step)


def hyperparameters_to_str(params: Any, depth: int = 0) -> str:
    """Render a (nested) settings dict the way ML-Agents logs it and puts it in TensorBoard.

    One ``\\t<key>:\\t<value>`` line per key; a nested dict starts on a new line and its keys are
    indented by two more spaces after the tab.
    """
    if not isinstance(params, dict):
        return str(params)
    lines = [f"\t{'  ' * depth}{key}:\t{hyperparameters_to_str(value, depth + 1)}" for key, value in params.items()]
    return ("\n" if depth > 0 else "") + "\n".join(lines)
