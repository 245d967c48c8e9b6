"""An on-policy rollout ring: the storage of every step and the bookkeeping of whole trajectories.

The steps of all agents are written into `RolloutBuffer` arrays, one ring row per step; the
`TrajectoryRing` knows which steps belong to finished trajectories. As ML-Agents'
AgentProcessor does, a trajectory ends with its episode or after `time_horizon` steps:

- a trajectory cut at `time_horizon` is finished once the next observation is in the ring
  (its bootstrap value is that observation's, estimated when an update takes it);
- an interrupted episode's final observation waits beside its ring row for the same estimate;
- a terminated episode needs no bootstrap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.buffer.fields import FieldSpec
from mlagents_fast.buffer.rollout import RolloutBuffer
from mlagents_fast.buffer.trajectories import Segments, TrajectoryRing, ring_steps_needed

FinalObservation = list[NDArray[np.float32]]


class RolloutRing:
    """Steps of `agents` agents in a ring sized so that no untrained step is overwritten."""

    def __init__(
        self,
        agents: int,
        fields: Mapping[str, FieldSpec],
        signals: Sequence[str],
        *,
        buffer_size: int,
        time_horizon: int,
        threaded: bool,
        sequence_length: int = 1,
    ) -> None:
        steps = ring_steps_needed(buffer_size, agents, time_horizon, threaded=threaded)
        self.agents, self.time_horizon = agents, time_horizon
        self.buffer = RolloutBuffer(steps, agents, fields, signals)
        self.ring = TrajectoryRing(steps, agents, sequence_length)
        # The number of recorded steps at which each agent's open trajectory reaches time_horizon,
        # and the earliest of them: a step checks one integer, the agents only when one is due.
        self._cut_due = np.full(agents, time_horizon, np.int64)
        self._next_cut = time_horizon
        # Agents cut on the last step: finished once the next observation is in the ring.
        self._cut = np.zeros(agents, np.bool_)
        self._cut_pending = False
        self.cut_at = np.zeros((steps, agents), np.bool_)  # where the ring's trajectories were cut
        # Final observations of interrupted episodes, by flat ring row, until an update estimates them.
        self.final_obs: dict[int, FinalObservation] = {}
        self._terminated = cast(NDArray[np.bool_], self.buffer.flat("terminated"))
        self._truncated = cast(NDArray[np.bool_], self.buffer.flat("truncated"))

    @property
    def row(self) -> int:
        """The ring row of the step being written."""
        return self.ring.row

    @property
    def ready_rows(self) -> int:
        """Steps of finished trajectories not trained yet (not counting those agents sat out)."""
        return self.ring.ready_rows

    @property
    def crowded(self) -> bool:
        """An update must take the finished steps now, however few train (see TrajectoryRing.crowded)."""
        return self.ring.crowded

    def finish_cut_trajectories(self) -> None:
        """The observations of this step are in the ring: the trajectories cut on the last step are finished."""
        if self._cut_pending:
            self.ring.finish(self._cut)
            self._cut[...] = False
            self._cut_pending = False

    def keep_final_observations(self, ended: NDArray[np.bool_], terminal_obs: Sequence[NDArray[np.float32]]) -> None:
        """Keep the final observations of the episodes that ended on this step (copies): those
        interrupted (`truncated`), or every ended one when a signal needs the next observations."""
        agents = np.flatnonzero(ended)
        final = [o[agents] for o in terminal_obs]
        base = self.ring.row * self.agents
        for j, agent in enumerate(agents.tolist()):
            self.final_obs[base + agent] = [f[j] for f in final]

    def end_step(self, done: NDArray[np.bool_], any_done: bool, absent: NDArray[np.bool_] | None = None) -> None:
        """Close the step in the current row (its ends of episodes are written; `absent`: the agents
        that sat it out, if any): cut trajectories that reached `time_horizon`, then advance;
        episodes ending here finish their trajectories."""
        t = self.ring.row
        if absent is not None:
            self.ring.sat_out(absent)
        recorded, cut = self.ring.written + 1, self._cut
        if any_done:  # a new trajectory starts with the next step
            self._cut_due[done] = recorded + self.time_horizon
        if recorded >= self._next_cut:
            np.greater_equal(recorded, self._cut_due, out=cut)
            self._cut_pending = bool(np.count_nonzero(cut))
            if self._cut_pending:
                self.buffer.arrays["truncated"][t] |= cut
                self._cut_due[cut] = recorded + self.time_horizon
        if any_done or self._cut_pending:
            self._next_cut = int(self._cut_due.min())
        self.cut_at[t] = cut
        self.ring.advance()
        if any_done:
            self.ring.finish(done)

    def take(self) -> Segments:
        """The finished, untrained trajectories; their rows stay guarded until `release()`."""
        return self.ring.take()

    def release(self) -> None:
        self.ring.release()

    def trajectory_ends(self, rows: NDArray[np.int64]) -> NDArray[np.bool_]:
        """True at flat ring `rows` where a trajectory ends (an episode end or a cut)."""
        return self._terminated[rows] | self._truncated[rows]

    def drop_unfinished(self) -> None:
        """Forget every untrained step: trajectories start afresh (after a checkpoint is loaded)."""
        self.ring.drop_unfinished()
        self.final_obs.clear()
        self._cut_due[...] = self.ring.written + self.time_horizon
        self._next_cut = self.ring.written + self.time_horizon
        self._cut[...] = False
        self._cut_pending = False
