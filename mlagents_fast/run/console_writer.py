"""Console output: ML-Agents' summary line through ``logging``, plus a live progress line on terminals.

Summary line, every ``summary_freq`` steps, logged at INFO (shown as ``[INFO] ...`` by
:func:`mlagents_fast.run.log.configure_logging`)::

    3DBall. Step: 12000. Time Elapsed: 21.043 s. Mean Reward: 1.234. Std of Reward: 0.567. Training.
    3DBall. Step: 12000. Time Elapsed: 21.043 s. No episode was completed since last summary. Training.

When the progress stream is a terminal, a single self-overwriting line shows the latest step,
the step rate and, once ``max_steps`` is known from the hyperparameters, the time left. Nothing
of it is written when the stream is a pipe or a file, so logs stay clean.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from mlagents_fast.run.log import is_terminal
from mlagents_fast.run.stats import (
    StatsAggregationMethod,
    StatsPropertyType,
    StatsSummary,
    StatsWriter,
    hyperparameters_to_str,
)

__all__ = ["ConsoleWriter", "ProgressLine", "format_duration"]

logger = logging.getLogger(__name__)


def format_duration(seconds: float) -> str:
    """``H:MM:SS`` (hours unbounded), for the progress line."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class _Rate:
    """Steps per second of one behavior since its first reported step."""

    __slots__ = ("first_step", "first_time", "last_step", "last_time")

    def __init__(self, step: int, now: float) -> None:
        self.first_step = self.last_step = step
        self.first_time = self.last_time = now

    def update(self, step: int, now: float) -> None:
        self.last_step = step
        self.last_time = now

    @property
    def per_second(self) -> float | None:
        elapsed = self.last_time - self.first_time
        return (self.last_step - self.first_step) / elapsed if elapsed > 0 else None


class ProgressLine:
    """A carriage-return status line on a terminal; inert on anything else.

    The stream is looked up at every write (default: the current ``sys.stdout``) so redirection
    done after construction, as pytest's capture does, is honoured.
    """

    def __init__(
        self,
        stream: Callable[[], TextIO] = lambda: sys.stdout,
        min_interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._min_interval = min_interval  # redraws are throttled: "Step" is reported very often
        self._clock = clock
        self._rates: dict[str, _Rate] = {}
        self._max_steps: dict[str, int] = {}
        self._last_draw = float("-inf")
        self._shown = False

    def set_max_steps(self, category: str, max_steps: int) -> None:
        self._max_steps[category] = max_steps

    def update(self, category: str, step: int, force: bool = False) -> None:
        now = self._clock()
        rate = self._rates.get(category)
        if rate is None:
            rate = self._rates[category] = _Rate(step, now)
        else:
            rate.update(step, now)
        if not force and now - self._last_draw < self._min_interval:
            return
        stream = self._stream()
        if not is_terminal(stream):
            return
        self._last_draw = now
        # "\r" + text + erase-to-end-of-line: each draw overwrites the previous one in place.
        stream.write("\r" + self.render(category) + "\x1b[K")
        stream.flush()
        self._shown = True

    def render(self, category: str) -> str:
        rate = self._rates[category]
        parts = [f"{category}: step {rate.last_step}"]
        max_steps = self._max_steps.get(category)
        if max_steps and rate.last_step > max_steps:
            max_steps = None  # acting on past max_steps (--inference, or other behaviors still training)
        if max_steps:
            parts[0] += f"/{max_steps} ({100.0 * min(rate.last_step / max_steps, 1.0):.1f}%)"
        speed = rate.per_second
        if speed is not None:
            parts.append(f"{speed:,.0f} steps/s")
            if max_steps and speed > 0:
                parts.append(f"ETA {format_duration((max_steps - rate.last_step) / speed)}")
        return " | ".join(parts)

    def clear(self) -> None:
        """Erase the line, so a log record can be printed on a clean line."""
        if not self._shown:
            return
        stream = self._stream()
        stream.write("\r\x1b[K")
        stream.flush()
        self._shown = False


class ConsoleWriter(StatsWriter):
    """Logs ML-Agents' per-summary line and the hyperparameters; drives the progress line."""

    def __init__(self, progress: ProgressLine | None = None, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.training_start_time = clock()
        self.self_play = False  # when true the ELO is printed as well
        self.rank: int | None = None  # set by multi-process training, printed when present
        self.progress = progress if progress is not None else ProgressLine()

    def on_add_stat(
        self,
        category: str,
        key: str,
        value: float,
        aggregation: StatsAggregationMethod = StatsAggregationMethod.AVERAGE,
    ) -> None:
        if key == "Step":
            self.progress.update(category, int(value))

    def write_stats(self, category: str, values: dict[str, StatsSummary], step: int) -> None:
        self.progress.clear()
        logger.info(self.summary_line(category, values, step))
        self.progress.update(category, step, force=True)

    def summary_line(self, category: str, values: dict[str, StatsSummary], step: int) -> str:
        is_training = values.get("Is Training")
        training = "Training" if is_training is not None and is_training.aggregated_value > 0.0 else "Not Training"
        parts = [category, f"Step: {step}", f"Time Elapsed: {self._clock() - self.training_start_time:0.3f} s"]
        reward = values.get("Environment/Cumulative Reward")
        if reward is None:
            parts += ["No episode was completed since last summary", training]
            return ". ".join(parts) + "."
        if self.rank is not None:
            parts.append(f"Rank: {self.rank}")
        parts.append(f"Mean Reward: {reward.mean:0.3f}")
        group = values.get("Environment/Group Cumulative Reward")
        if group is not None:
            parts.append(f"Mean Group Reward: {group.mean:0.3f}")
        else:
            parts.append(f"Std of Reward: {reward.std:0.3f}")
        parts.append(training)
        elo = values.get("Self-play/ELO")
        if self.self_play and elo is not None:
            parts.append(f"ELO: {elo.mean:0.3f}")
        return ". ".join(parts) + "."

    def add_property(self, category: str, property_type: StatsPropertyType, value: Any) -> None:
        if property_type == StatsPropertyType.HYPERPARAMETERS:
            self.progress.clear()
            logger.info(f"Hyperparameters for behavior name {category}: \n{hyperparameters_to_str(value)}")
            max_steps = value.get("max_steps") if isinstance(value, dict) else None
            if isinstance(max_steps, (int, float)) and max_steps > 0:
                self.progress.set_max_steps(category, int(max_steps))
        elif property_type == StatsPropertyType.SELF_PLAY:
            self.self_play = bool(value)
