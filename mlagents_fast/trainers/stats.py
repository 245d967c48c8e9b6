"""What a trainer reports between two summaries, handed to the run loop already reduced."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from mlagents_fast.run.stats import StatsAggregationMethod

REWARD_WINDOW = 100  # episodes behind the reward recorded with a checkpoint
EPISODE_RETURN = "Environment/Cumulative Reward"


class NetworkClock:
    """Seconds a trainer spends in its networks' forward and backward passes (the benchmarks'
    share of wall time outside them is 1 - seconds / wall)."""

    def __init__(self) -> None:
        self.seconds = 0.0


@dataclass(frozen=True)
class Stat:
    """Values of one stat, by ML-Agents' name, and how a summary combines them."""

    key: str
    values: list[float]
    aggregation: StatsAggregationMethod = StatsAggregationMethod.AVERAGE


class TrainerStats:
    """Collects a trainer's stats; `drain` reduces them (per-step values to one mean)."""

    def __init__(self) -> None:
        self._values: defaultdict[str, list[float]] = defaultdict(list)
        self._per_step: defaultdict[str, list[float]] = defaultdict(list)
        self._recent_returns: deque[float] = deque(maxlen=REWARD_WINDOW)

    def add(self, key: str, values: Iterable[float]) -> None:
        self._values[key].extend(values)

    def add_all(self, stats: dict[str, list[float]]) -> None:
        for key, values in stats.items():
            self._values[key].extend(values)

    def per_step(self, key: str) -> list[float]:
        """The list to append a value to every step (the policy's entropy; kept across drains,
        so a trainer looks it up once): one mean per drain is reported."""
        return self._per_step[key]

    def add_episode_returns(self, returns: list[float]) -> None:
        self._values[EPISODE_RETURN].extend(returns)
        self._recent_returns.extend(returns)

    def mean_recent_return(self) -> float | None:
        """Mean return of the last episodes (at most REWARD_WINDOW), or None before any ended."""
        return float(np.mean(self._recent_returns)) if self._recent_returns else None

    def drain(self) -> list[Stat]:
        """Everything gathered since the last call, reduced."""
        stats = [Stat(key, values, StatsAggregationMethod.HISTOGRAM if key == EPISODE_RETURN else
                      StatsAggregationMethod.AVERAGE) for key, values in self._values.items()]  # fmt: skip
        stats += [Stat(key, [float(np.mean(values))]) for key, values in self._per_step.items() if values]
        self._values.clear()
        for values in self._per_step.values():
            values.clear()
        return stats


class TrajectoryMeans:
    """Per agent, the mean of a per-step quantity over each trajectory (an episode, or the
    `horizon` steps ML-Agents cuts one at), as ML-Agents adds one value per processed trajectory
    (SAC's `Policy/<Signal> Value`)."""

    def __init__(self, rows: int, agents: int, horizon: int) -> None:
        self.sums = np.zeros((rows, agents))
        self.counts = np.zeros(agents, np.int64)
        self.horizon = horizon

    def add(self, values: np.ndarray) -> None:
        """This step's values, [rows, agents]."""
        self.sums += values
        self.counts += 1

    def finish(self, ended: np.ndarray) -> np.ndarray | None:
        """The means [rows, k] of the trajectories that end now (the agents whose episode ended,
        and those `horizon` steps long), or None; those agents start new ones."""
        ended = ended | (self.counts >= self.horizon)
        if not np.count_nonzero(ended):
            return None
        means = self.sums[:, ended] / self.counts[ended]
        self.sums[:, ended] = 0.0
        self.counts[ended] = 0
        return means

    def forget(self) -> None:
        """Every agent starts a new trajectory, unreported (the environments were reset)."""
        self.sums[...] = 0.0
        self.counts[...] = 0
