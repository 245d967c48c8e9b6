"""SAC with memory: transitions reach the replay ring as whole sequences, as ML-Agents' SAC adds
each trajectory to its update buffer cut into sequences of `sequence_length` and padded at the
end (the padding's `mask` False, as is a step the agent sat out: it asked for no decision), and
samples sequences whose first step is a multiple of `sequence_length` of the buffer.

Each agent's trajectory in progress waits here (one row per step, per field) until its episode
ends or it reaches `time_horizon` steps; then its steps and the padding are written into the
ring in one call. The ring holds a whole number of sequences, so every sequence lies in it
unbroken.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlagents_fast import _native
from mlagents_fast.buffer.replay import ReplayBuffer


class SequenceAssembler:
    def __init__(self, buffer: ReplayBuffer, agents: int, sequence_length: int, time_horizon: int) -> None:
        self.buffer, self.length, self.horizon = buffer, sequence_length, time_horizon
        self.pending = [np.zeros((agents, time_horizon, *array.shape[1:]), array.dtype)
                        for array in (buffer.arrays[name] for name in buffer.names)]  # fmt: skip
        self.steps = np.zeros(agents, np.int64)  # steps waiting, per agent
        self._mask = buffer.names.index("step_mask")  # False: padding, or a step the agent sat out

    def add(self, transition: list[NDArray[Any]], done: NDArray[np.bool_]) -> None:
        """This step's transition of every agent (one array per replay field, in its order); the
        trajectories of the agents whose episode ended, or that reached time_horizon, go to the ring."""
        agents = np.arange(len(self.steps))
        for waiting, values in zip(self.pending, transition, strict=True):
            waiting[agents, self.steps] = values
        self.steps += 1
        finished = np.flatnonzero(done | (self.steps >= self.horizon))
        for agent in finished.tolist():  # (once per trajectory, not per step)
            self._write(agent)

    def _write(self, agent: int) -> None:
        count = int(self.steps[agent])
        self.steps[agent] = 0
        if not self.pending[self._mask][agent, :count].any():
            return  # (the agent sat out the whole trajectory: nothing in it would train)
        padded = -(-count // self.length) * self.length
        rows = []
        for waiting in self.pending:
            block = np.zeros((padded, *waiting.shape[2:]), waiting.dtype)
            block[:count] = waiting[agent, :count]
            rows.append(block)
        self.buffer.add(rows)

    def forget(self) -> None:
        """Drop the trajectories in progress (episodes reset mid-way)."""
        self.steps[...] = 0


def sequence_capacity(buffer_size: int, sequence_length: int) -> int:
    """The ring's rows: `buffer_size` rounded down to whole sequences (one sequence at least)."""
    return max(buffer_size // sequence_length, 1) * sequence_length


def sample_sequences(buffer: ReplayBuffer, sequences: int, sequence_length: int, rng: _native.Rng) -> NDArray[np.int64]:
    """The rows of `sequences` stored sequences drawn uniformly with replacement, each in time order."""
    stored = buffer.size // sequence_length
    if stored == 0:
        raise ValueError("sample_sequences(): the replay buffer holds no whole sequence yet.")
    starts = _native.uniform_indices(rng, stored, sequences) * sequence_length
    return (starts[:, None] + np.arange(sequence_length)).reshape(-1)
