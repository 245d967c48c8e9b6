"""ML-Agents' limits on restarting the process stepper's workers, and the restarts counted against them.

A worker may restart at most `max_lifetime_restarts` times (-1: unlimited) and
`restarts_rate_limit_n` times per `restarts_rate_limit_period_s` seconds (-1: unlimited),
as ML-Agents' `--max-lifetime-restarts`, `--restarts-rate-limit-n` and
`--restarts-rate-limit-period-s` allow for an environment.
"""

from __future__ import annotations

import collections
import time


class RestartLimits:
    """The restarts of each of `num_workers` workers, checked against ML-Agents' limits."""

    def __init__(
        self,
        num_workers: int,
        max_lifetime_restarts: int,
        restarts_rate_limit_n: int,
        restarts_rate_limit_period_s: float,
    ) -> None:
        if max_lifetime_restarts < -1 or restarts_rate_limit_n < -1 or restarts_rate_limit_period_s < 0:
            raise ValueError(
                "max_lifetime_restarts and restarts_rate_limit_n must be -1 (unlimited) or more, and "
                f"restarts_rate_limit_period_s at least 0; got {max_lifetime_restarts}, {restarts_rate_limit_n} and "
                f"{restarts_rate_limit_period_s}."
            )
        self.max_lifetime_restarts = max_lifetime_restarts
        self.restarts_rate_limit_n = restarts_rate_limit_n
        self.restarts_rate_limit_period_s = float(restarts_rate_limit_period_s)
        self._counts = [0] * num_workers
        self._recent: list[collections.deque[float]] = [collections.deque() for _ in range(num_workers)]
        self.total = 0  # restarts of all workers so far: restarted copies are seeded from it

    def reached(self, index: int) -> str | None:
        """Which of ML-Agents' restart limits worker `index` has reached, or None."""
        now = time.monotonic()
        recent = self._recent[index]
        while recent and now - recent[0] > self.restarts_rate_limit_period_s:
            recent.popleft()
        if self.max_lifetime_restarts != -1 and self._counts[index] >= self.max_lifetime_restarts:
            return (
                f"it has been restarted {self._counts[index]} times, the limit "
                f"(max_lifetime_restarts={self.max_lifetime_restarts})"
            )
        limit_n, period_s = self.restarts_rate_limit_n, self.restarts_rate_limit_period_s
        if limit_n != -1 and len(recent) >= limit_n:
            return (
                f"it has been restarted {len(recent)} times in the last {period_s:g} s, the limit "
                f"(restarts_rate_limit_n={limit_n} per restarts_rate_limit_period_s={period_s:g})"
            )
        return None

    def record(self, index: int) -> None:
        """Count a restart of worker `index`, now."""
        self._counts[index] += 1
        self._recent[index].append(time.monotonic())
        self.total += 1
