"""Row gathers into preallocated arrays: how both buffers build minibatches."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mlagents_fast import _native
from mlagents_fast.buffer.fields import Allocator

Batch = dict[str, NDArray[np.generic]]


class Gatherer:
    """Gathers chosen rows of fixed planes into preallocated arrays, one native call per batch."""

    def __init__(self, sources: dict[str, NDArray[np.generic]], rows: int, allocator: Allocator) -> None:
        self.batch: Batch = {name: allocator((rows, *src.shape[1:]), src.dtype) for name, src in sources.items()}
        self._plan = _native.GatherPlan(list(sources.values()), list(self.batch.values()))

    def gather(self, indices: NDArray[np.int64]) -> Batch:
        """Row i of every output = source row `indices[i]` (-1: zeros).

        A full batch is `self.batch` itself, the allocated arrays (pinned memory stays
        pinned); a shorter one is views of their first rows. Both are overwritten by the
        next call.
        """
        self._plan.gather(indices)
        count = len(indices)
        if count == self._plan.capacity:
            return self.batch
        return {name: array[:count] for name, array in self.batch.items()}
