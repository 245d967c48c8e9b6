"""Ring replay buffer for off-policy trainers (SAC), sampled uniformly with replacement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from mlagents_fast import _native
from mlagents_fast.buffer.fields import Allocator, FieldSpec, default_allocator, zeros_arena
from mlagents_fast.buffer.gather import Batch, Gatherer


class ReplayBuffer:
    """`capacity` transitions in struct-of-arrays rings; the oldest are overwritten first."""

    def __init__(
        self, capacity: int, fields: Mapping[str, FieldSpec], allocator: Allocator = default_allocator
    ) -> None:
        """`allocator` makes the arrays that sampled batches are gathered into (pinned memory, say)."""
        if capacity <= 0:
            raise ValueError(f"ReplayBuffer: capacity must be > 0; got {capacity}.")
        if any(spec.per_signal for spec in fields.values()):
            raise ValueError("ReplayBuffer: per-signal fields are stored one field per signal; use plain fields.")
        self.capacity = capacity
        self.names = list(fields)
        self.arrays = zeros_arena({name: ((capacity, *spec.shape), spec.dtype) for name, spec in fields.items()})
        self._writer = _native.RowWriter([self.arrays[n] for n in self.names])
        self._allocator = allocator
        self._gatherers: dict[int, Gatherer] = {}
        self._head = 0
        self.size = 0

    def add(self, values: Sequence[NDArray[np.generic]]) -> None:
        """Append `n` transitions: `values[i]` is `[n, *shape]` for field `names[i]`."""
        self._writer.write(self._head, list(values))
        count = len(values[0]) if values else 0
        self._head = (self._head + count) % self.capacity
        self.size = min(self.size + count, self.capacity)

    def state(self) -> dict[str, NDArray[np.generic]]:
        """The stored transitions, oldest first, by field name (copies), for saving."""
        order = (np.arange(self.size) + (self._head - self.size)) % self.capacity
        return {name: self.arrays[name][order] for name in self.names}

    def load_state(self, state: dict[str, NDArray[np.generic]]) -> None:
        """Refill from what `state` returned (the newest `capacity` transitions if it held more).
        A state of other fields, shapes or dtypes is a ValueError naming what differs; the buffer
        is unchanged then."""
        if sorted(state) != sorted(self.names):
            raise ValueError(f"it holds the fields {sorted(state)}; this buffer has {sorted(self.names)}")
        sizes = {len(values) for values in state.values()}
        if len(sizes) != 1:
            raise ValueError(f"its fields hold different numbers of transitions ({sorted(sizes)})")
        for name in self.names:
            mine, theirs = self.arrays[name], state[name]
            if theirs.shape[1:] != mine.shape[1:] or theirs.dtype != mine.dtype:
                raise ValueError(f"field {name!r} is {theirs.dtype}{list(theirs.shape[1:])}; "
                                 f"expected {mine.dtype}{list(mine.shape[1:])}")  # fmt: skip
        count = min(sizes.pop(), self.capacity)
        for name in self.names:
            self.arrays[name][:count] = state[name][len(state[name]) - count :]
        self.size, self._head = count, count % self.capacity

    def sample_rows(self, count: int, rng: _native.Rng) -> NDArray[np.int64]:
        """`count` stored rows drawn uniformly with replacement (what `sample` gathers)."""
        if self.size == 0:
            raise ValueError("ReplayBuffer.sample(): the buffer is empty; add transitions first.")
        return _native.uniform_indices(rng, self.size, count)

    def gatherer(self, rows: int, allocator: Allocator | None = None) -> Gatherer:
        """A gatherer of up to `rows` rows of every field, into memory from `allocator`."""
        return Gatherer(self.arrays, rows, allocator or self._allocator)

    def sample(self, batch_size: int, rng: _native.Rng) -> Batch:
        """`batch_size` transitions drawn uniformly with replacement.

        The arrays are reused: a batch is valid until the next `sample` of the same size.
        """
        gatherer = self._gatherers.get(batch_size)
        if gatherer is None:
            gatherer = self._gatherers[batch_size] = Gatherer(self.arrays, batch_size, self._allocator)
        return gatherer.gather(self.sample_rows(batch_size, rng))
