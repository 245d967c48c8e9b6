"""What a buffer stores: one `FieldSpec` per named field, struct-of-arrays."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike, NDArray

# Allocates an array of the given shape and dtype: np.empty by default, or a
# pinned-memory allocator so minibatches go to the GPU without another copy.
Allocator = Callable[[tuple[int, ...], np.dtype[np.generic]], NDArray[np.generic]]


@dataclass(frozen=True)
class FieldSpec:
    """One stored quantity per agent and step.

    Attributes:
        shape: shape of one agent's value at one step (`()` for a scalar).
        dtype: numpy dtype of the stored values.
        per_signal: one value per reward signal (value estimates, returns...);
            such fields are stored signal-major, `[S, rows, *shape]`, the layout
            the GAE kernel reads.
    """

    shape: tuple[int, ...]
    dtype: np.dtype[np.generic]
    per_signal: bool = False

    def zeros(self, leading: tuple[int, ...]) -> NDArray[np.generic]:
        """Storage for this field: `[*leading, *shape]`, zero-filled."""
        return np.zeros(leading + self.shape, self.dtype)

    @staticmethod
    def of(shape: Sequence[int], dtype: DTypeLike, per_signal: bool = False) -> FieldSpec:
        return FieldSpec(tuple(int(d) for d in shape), np.dtype(dtype), per_signal)


def rollout_fields(
    obs_shapes: Sequence[Sequence[int]],
    continuous_size: int = 0,
    discrete_branches: Sequence[int] = (),
    memory_size: int = 0,
) -> dict[str, FieldSpec]:
    """The fields of an on-policy rollout, named after ML-Agents' buffer keys."""
    fields = {f"obs_{i}": FieldSpec.of(shape, np.float32) for i, shape in enumerate(obs_shapes)}
    if continuous_size:
        fields["continuous_action"] = FieldSpec.of((continuous_size,), np.float32)
        fields["continuous_log_probs"] = FieldSpec.of((continuous_size,), np.float32)
    if discrete_branches:
        fields["discrete_action"] = FieldSpec.of((len(discrete_branches),), np.int32)
        fields["discrete_log_probs"] = FieldSpec.of((len(discrete_branches),), np.float32)
        fields["action_mask"] = FieldSpec.of((sum(discrete_branches),), np.bool_)
    if memory_size:
        fields["memory"] = FieldSpec.of((memory_size,), np.float32)
    fields["terminated"] = FieldSpec.of((), np.bool_)
    fields["truncated"] = FieldSpec.of((), np.bool_)
    fields["advantages"] = FieldSpec.of((), np.float32)
    for name in ("rewards", "value_estimates", "truncated_values", "returns"):
        fields[name] = FieldSpec.of((), np.float32, per_signal=True)
    return fields


def default_allocator(shape: tuple[int, ...], dtype: np.dtype[np.generic]) -> NDArray[np.generic]:
    return np.zeros(shape, dtype)
