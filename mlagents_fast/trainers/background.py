"""`threaded: true`: an update runs on its own thread while collection goes on.

As ML-Agents' threaded trainers, the policy that acts is one update behind: it takes the new
weights when the update is done. At most one update is in flight.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class BackgroundUpdate(Generic[T]):
    """One worker thread for one behavior's updates."""

    def __init__(self, behavior: str) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"update-{behavior}")
        self.pending: Future[T] | None = None

    def start(self, update: Callable[[], T]) -> None:
        assert self.pending is None, "one update at a time: wait for the last one first"
        self.pending = self._executor.submit(update)

    @property
    def finished(self) -> bool:
        """An update was started and is done (its result can be taken without waiting)."""
        return self.pending is not None and self.pending.done()

    def take(self) -> T:
        """Wait for the update in flight and return what it returned (raising what it raised)."""
        assert self.pending is not None
        pending, self.pending = self.pending, None
        return pending.result()

    def close(self) -> None:
        self._executor.shutdown()
