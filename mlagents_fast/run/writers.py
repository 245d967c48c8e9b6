"""The stats writers every run gets (ML-Agents' ``mlagents.stats_writer`` default set)."""

from __future__ import annotations

import os

from mlagents_fast.run.console_writer import ConsoleWriter
from mlagents_fast.run.gauge_writer import GaugeWriter
from mlagents_fast.run.stats import StatsWriter
from mlagents_fast.run.tensorboard_writer import HIDDEN_KEYS, TensorboardWriter

__all__ = ["ConsoleWriter", "GaugeWriter", "TensorboardWriter", "default_stats_writers"]


def default_stats_writers(run_dir: str | os.PathLike[str], resume: bool) -> list[StatsWriter]:
    """TensorBoard under ``run_dir`` (old events cleared unless resuming), gauges, console."""
    return [
        TensorboardWriter(run_dir, clear_past_data=not resume, hidden_keys=list(HIDDEN_KEYS)),
        GaugeWriter(),
        ConsoleWriter(),
    ]
