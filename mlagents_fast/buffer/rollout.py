"""On-policy rollout storage: `[T, N, ...]` arrays written one step at a time, in place.

Every field is one preallocated array (per-signal fields are `[S, T, N, ...]`),
so the GAE kernel reads rewards and values where they lie, and minibatches are
gathered by one native call into preallocated, contiguous arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.buffer.fields import Allocator, FieldSpec, default_allocator, zeros_arena
from mlagents_fast.buffer.gather import Gatherer


class RolloutBuffer:
    """Struct-of-arrays storage for `steps` x `agents` transitions.

    Field arrays are reachable as `buffer[name]`; a per-signal field is indexed
    by signal as `buffer[name][s]`. Plane names (for `flat` and `gatherer`) are `name`
    for plain fields and `name.signal` for one signal of a per-signal field.
    """

    def __init__(
        self,
        steps: int,
        agents: int,
        fields: Mapping[str, FieldSpec],
        signals: Sequence[str] = ("extrinsic",),
    ) -> None:
        if steps <= 0 or agents <= 0:
            raise ValueError(f"RolloutBuffer: steps and agents must be > 0; got steps={steps}, agents={agents}.")
        self.steps, self.agents, self.signals = steps, agents, tuple(signals)
        self.fields = dict(fields)
        per_signal, plain = (len(self.signals), steps, agents), (steps, agents)
        shapes = {n: ((per_signal if f.per_signal else plain) + f.shape, f.dtype) for n, f in fields.items()}
        self.arrays: dict[str, NDArray[np.generic]] = zeros_arena(shapes)
        self._planes = self._plane_views()

    def __getitem__(self, name: str) -> NDArray[np.generic]:
        return self.arrays[name]

    @property
    def rows(self) -> int:
        return self.steps * self.agents

    def _plane_views(self) -> dict[str, NDArray[np.generic]]:
        """Each field, or signal plane, seen as `[T, N, *shape]`."""
        planes: dict[str, NDArray[np.generic]] = {}
        for name, spec in self.fields.items():
            if spec.per_signal:
                for s, signal in enumerate(self.signals):
                    planes[f"{name}.{signal}"] = self.arrays[name][s]
            else:
                planes[name] = self.arrays[name]
        return planes

    @property
    def planes(self) -> list[str]:
        """Names of every plain field and every `field.signal` plane, in storage order."""
        return list(self._planes)

    def flat(self, plane: str) -> NDArray[np.generic]:
        """A field (or signal plane) as a `[T * N, *shape]` view; row t * N + n is agent n at step t."""
        try:
            array = self._planes[plane]
        except KeyError:
            raise KeyError(
                f"RolloutBuffer has no field or signal plane {plane!r}; it has {sorted(self._planes)}."
            ) from None
        return array.reshape((self.rows, *array.shape[2:]))

    def gatherer(
        self, rows: int, planes: Sequence[str] | None = None, allocator: Allocator = default_allocator
    ) -> Gatherer:
        """A `Gatherer` of up to `rows` rows of these planes (all by default)."""
        names = self.planes if planes is None else list(planes)
        return Gatherer({p: self.flat(p) for p in names}, rows, allocator)
