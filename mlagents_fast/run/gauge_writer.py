"""Mirror every summary into the timer gauges, so ``timers.json`` carries the training curves."""

from __future__ import annotations

from mlagents_fast.run.stats import StatsSummary, StatsWriter
from mlagents_fast.run.timers import set_gauge

__all__ = ["GaugeWriter"]


class GaugeWriter(StatsWriter):
    """Sets gauges ``<category>.<key>.mean`` and ``.sum`` ("/" becomes ".", spaces removed)."""

    @staticmethod
    def sanitize_string(name: str) -> str:
        return name.replace("/", ".").replace(" ", "")

    def write_stats(self, category: str, values: dict[str, StatsSummary], step: int) -> None:
        for key, summary in values.items():
            base = self.sanitize_string(f"{category}.{key}")
            set_gauge(f"{base}.mean", summary.mean)
            set_gauge(f"{base}.sum", summary.sum)
