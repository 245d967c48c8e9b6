"""Which steps of a PPO rollout ring hold whole trajectories that are ready to train.

ML-Agents hands a trainer an agent's trajectory when its episode ends or when it reaches
`time_horizon` steps (bootstrapped from the next observation's value), and updates once
more than `buffer_size` experiences of such trajectories wait. An agent's unfinished
trajectory is never cut at an update: it waits and is trained, whole, in a later one.

Here the steps of all agents are written into a ring of `ring_steps` rows, one row per
step, and per agent we keep two step numbers: where its untrained steps start and where
its last finished trajectory stops. An update takes each agent's steps in between, and
the rest stay where they lie for the next update. Step numbers count from the start of
training; step `g` lives in ring row `g % ring_steps`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


def ring_steps_needed(buffer_size: int, agents: int, time_horizon: int, *, threaded: bool) -> int:
    """Rows a ring needs so that no step is overwritten before it is trained.

    At an update check every agent's open trajectory is shorter than `time_horizon`, so
    updates come at most `buffer_size // agents + time_horizon` steps apart, and the oldest
    untrained step is at most `time_horizon - 1` steps older than the previous update. A
    threaded trainer also keeps the rows of the update in flight, one interval more.
    """
    between_updates = buffer_size // agents + time_horizon
    return (2 if threaded else 1) * between_updates + time_horizon + 1


@dataclass(frozen=True)
class Segments:
    """Per agent, the steps `[start, stop)` of whole trajectories to train on."""

    start: NDArray[np.int64]
    stop: NDArray[np.int64]
    ring_steps: int

    @property
    def rows(self) -> int:
        return int((self.stop - self.start).sum())

    @property
    def first(self) -> int:
        """The earliest step of any segment: the window's first step."""
        return int(self.start.min())

    @property
    def steps(self) -> int:
        """Steps in the window that covers every segment."""
        return int(self.stop.max()) - self.first if len(self.start) else 0

    def window_rows(self) -> NDArray[np.int64]:
        """Ring rows of the window's steps, in time order."""
        return (self.first + np.arange(self.steps, dtype=np.int64)) % self.ring_steps

    def selected(self) -> NDArray[np.bool_]:
        """`[window steps, agents]`: True where the step belongs to the agent's segment."""
        step = self.first + np.arange(self.steps, dtype=np.int64)[:, None]
        return (step >= self.start) & (step < self.stop)

    def flat_rows(
        self, selected: NDArray[np.bool_] | None = None, window: NDArray[np.int64] | None = None
    ) -> NDArray[np.int64]:
        """Flat ring row (`ring row * agents + agent`) of every selected step, agent by agent in
        time order, the order of `selected().T[selected().T]` (`selected()` and `window_rows()`
        may be passed in when already computed). Each agent's trajectories lie one after another."""
        mask = self.selected() if selected is None else selected
        rows = self.window_rows() if window is None else window
        agents, steps = np.nonzero(mask.T)
        return rows[steps] * len(self.start) + agents


class TrajectoryRing:
    """Step bookkeeping of a ring of `ring_steps` rows shared by `agents` agents."""

    def __init__(self, ring_steps: int, agents: int, sequence_length: int = 1) -> None:
        """`sequence_length` > 1 (memory): `ready_rows` counts each trajectory padded to whole
        sequences, as ML-Agents' update buffer holds it (and so decides when to update)."""
        self.ring_steps, self.agents, self.sequence_length = ring_steps, agents, sequence_length
        self.written = 0  # steps written so far; the next one goes to row `written % ring_steps`
        self.start = np.zeros(agents, np.int64)  # first untrained step of each agent
        self.stop = np.zeros(agents, np.int64)  # one past the last step of its finished trajectories
        self._in_flight: int | None = None  # first step of an update still reading the ring
        # Kept up to date where start, stop or _in_flight change, so a step costs no reduction.
        self._ready = 0  # sum(stop - start), less the steps agents sat out
        self._oldest = 0  # the oldest step still needed: min(start), or _in_flight if older
        self._absent_open = np.zeros(agents, np.int64)  # steps each agent sat out since its last stop

    @property
    def row(self) -> int:
        """The ring row of the step being written."""
        return self.written % self.ring_steps

    @property
    def ready_rows(self) -> int:
        """Steps of finished trajectories not trained yet (padded to whole sequences, with memory),
        not counting the steps agents sat out (ML-Agents' update buffer never holds them)."""
        return self._ready

    @property
    def crowded(self) -> bool:
        """Whether advancing past the step being written would overwrite an untrained step: the
        steps agents sat out count for no update, so with many of them an update must come early."""
        return self.written + 1 - self._oldest >= self.ring_steps

    def sat_out(self, agents: NDArray[np.bool_]) -> None:
        """These agents asked for no decision at the step being written (it trains nothing)."""
        self._absent_open += agents

    def advance(self) -> None:
        """The step in `row` is written; the next step goes to the next row."""
        following = self.written + 1
        if following - self._oldest >= self.ring_steps:  # it would overwrite an untrained step
            raise RuntimeError(
                f"TrajectoryRing: step {following} would overwrite step {self._oldest}, not trained yet; "
                f"the ring's {self.ring_steps} rows are too few (see ring_steps_needed)."
            )
        self.written = following

    def finish(self, agents: NDArray[np.bool_]) -> None:
        """These agents' trajectories end with the last step written."""
        lengths = self.written - self.stop[agents]
        if self.sequence_length > 1:
            lengths = -(-lengths // self.sequence_length) * self.sequence_length
        self._ready += int(lengths.sum()) - int(self._absent_open[agents].sum())
        self._absent_open[agents] = 0
        self.stop[agents] = self.written

    def take(self) -> Segments:
        """The finished, untrained steps of every agent; they count as in flight until `release()`."""
        segments = Segments(self.start.copy(), self.stop.copy(), self.ring_steps)
        self._in_flight = segments.first
        self.start[...] = self.stop
        self._ready = 0
        self._oldest = min(self._in_flight, int(self.start.min()))
        return segments

    def release(self) -> None:
        """The update that took the last segments no longer reads the ring."""
        self._in_flight = None
        self._oldest = int(self.start.min())

    def drop_unfinished(self) -> None:
        """Forget every untrained step (a loaded checkpoint starts new trajectories)."""
        self.start[...] = self.written
        self.stop[...] = self.written
        self._ready = 0
        self._absent_open[...] = 0
        self._oldest = self.written if self._in_flight is None else self._in_flight
