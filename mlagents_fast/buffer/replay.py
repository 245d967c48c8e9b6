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

    def sample(self, batch_size: int, rng: _native.Rng) -> Batch:
        """`batch_size` transitions drawn uniformly with replacement.

        The arrays are reused: a batch is valid until the next `sample` of the same size.
        """
        if self.size == 0:
            raise ValueError("ReplayBuffer.sample(): the buffer is empty; add transitions first.")
        gatherer = self._gatherers.get(batch_size)
        if gatherer is None:
            gatherer = self._gatherers[batch_size] = Gatherer(self.arrays, batch_size, self._allocator)
        return gatherer.gather(_native.uniform_indices(rng, self.size, batch_size))
