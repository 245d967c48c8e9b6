"""TensorBoard output: one event-file folder per behavior, ``<run dir>/<Behavior>/events.out.tfevents.*``.

Scalar tags are the stat keys unchanged ("Environment/Cumulative Reward", "Policy/Learning
Rate", ...), at the trainer step. HISTOGRAM stats also get a ``<key>_hist`` histogram. The
hyperparameters go in once as the text summary "Hyperparameters".

A fresh run deletes event files left in the behavior folder by an earlier run with the same id
(``--force``); a resumed run keeps them and its new event file continues the same curves.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlagents_fast.run.stats import (
    StatsAggregationMethod,
    StatsPropertyType,
    StatsSummary,
    StatsWriter,
    hyperparameters_to_str,
)

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

__all__ = ["HIDDEN_KEYS", "TensorboardWriter"]

logger = logging.getLogger(__name__)

# Reported by trainers for the console only ("Is Training") or for progress ("Step").
HIDDEN_KEYS = ("Is Training", "Step")


class TensorboardWriter(StatsWriter):
    def __init__(
        self, base_dir: str | os.PathLike[str], clear_past_data: bool = False, hidden_keys: list[str] | None = None
    ) -> None:
        """Write under ``base_dir/<category>``; ``clear_past_data`` is true for a non-resumed run."""
        self.base_dir = Path(base_dir)
        self.clear_past_data = clear_past_data
        self.hidden_keys = set(hidden_keys if hidden_keys is not None else [])
        self.summary_writers: dict[str, SummaryWriter] = {}

    def write_stats(self, category: str, values: dict[str, StatsSummary], step: int) -> None:
        writer = self._writer(category)
        for key, summary in values.items():
            if key in self.hidden_keys:
                continue
            writer.add_scalar(key, summary.aggregated_value, step)
            if summary.aggregation_method == StatsAggregationMethod.HISTOGRAM:
                writer.add_histogram(f"{key}_hist", np.asarray(summary.full_dist, dtype=np.float64), step)
        # One flush per summary keeps the files current for a live TensorBoard.
        writer.flush()

    def add_property(self, category: str, property_type: StatsPropertyType, value: Any) -> None:
        if property_type == StatsPropertyType.HYPERPARAMETERS:
            writer = self._writer(category)
            writer.add_text("Hyperparameters", hyperparameters_to_str(dict(value)))
            writer.flush()

    def close(self) -> None:
        for writer in self.summary_writers.values():
            writer.close()
        self.summary_writers.clear()

    def _writer(self, category: str) -> SummaryWriter:
        writer = self.summary_writers.get(category)
        if writer is None:
            # Imported here: loading TensorBoard costs about a second, only runs that write pay it.
            from torch.utils.tensorboard import SummaryWriter

            folder = self.base_dir / category
            folder.mkdir(parents=True, exist_ok=True)
            if self.clear_past_data:
                _delete_event_files(folder)
            writer = self.summary_writers[category] = SummaryWriter(str(folder))
        return writer


def _delete_event_files(folder: Path) -> None:
    for path in sorted(folder.iterdir()):
        if not path.name.startswith("events.out"):
            continue
        logger.warning(f"Deleting TensorBoard data {path.name} that was left over from a previous run.")
        try:
            path.unlink()
        except OSError:
            logger.error(f"{path} was left over from a previous run and not deleted.")
