"""What a buffer stores: one `FieldSpec` per named field, struct-of-arrays."""

from __future__ import annotations

import mmap
from collections.abc import Callable, Mapping, Sequence
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
    obs_dtypes: Sequence[DTypeLike] | None = None,
) -> dict[str, FieldSpec]:
    """The fields of an on-policy rollout, named after ML-Agents' buffer keys; observations in
    `obs_dtypes` (float32 unless given: a uint8 image stays bytes)."""
    dtypes = list(obs_dtypes) if obs_dtypes is not None else [np.float32] * len(obs_shapes)
    fields = {f"obs_{i}": FieldSpec.of(shape, dtypes[i]) for i, shape in enumerate(obs_shapes)}
    if continuous_size:
        fields["continuous_action"] = FieldSpec.of((continuous_size,), np.float32)
        fields["continuous_log_probs"] = FieldSpec.of((continuous_size,), np.float32)
    if discrete_branches:
        fields["discrete_action"] = FieldSpec.of((len(discrete_branches),), np.int32)
        fields["discrete_log_probs"] = FieldSpec.of((len(discrete_branches),), np.float32)
        fields["action_mask"] = FieldSpec.of((sum(discrete_branches),), np.bool_)
    if memory_size:  # the actor's and the critic's memories before each step
        fields["memory"] = FieldSpec.of((memory_size,), np.float32)
        fields["critic_memory"] = FieldSpec.of((memory_size,), np.float32)
    fields["terminated"] = FieldSpec.of((), np.bool_)
    fields["truncated"] = FieldSpec.of((), np.bool_)
    fields["advantages"] = FieldSpec.of((), np.float32)
    for name in ("rewards", "value_estimates", "truncated_values", "returns"):
        fields[name] = FieldSpec.of((), np.float32, per_signal=True)
    return fields


# Every field starts on a cache line, so a row of 16, 32, 64... bytes never straddles
# two lines and a gather of random rows reads as few lines as the rows need.
CACHE_LINE = 64
# Storage of at least this size lies on 2 MiB-aligned memory marked for transparent
# huge pages: a gather reads rows from all over the buffer, and with 4 KiB pages most
# of those reads also miss the TLB (measured: 10-20% of a 1024-row gather).
HUGE_PAGE = 2 << 20


def zeros_arena(shapes: Mapping[str, tuple[tuple[int, ...], np.dtype[np.generic]]]) -> dict[str, NDArray[np.generic]]:
    """Zero-filled arrays of the given shapes and dtypes, carved from one allocation.

    Each array starts on a 64-byte boundary. An arena of 2 MiB or more is an anonymous
    mapping aligned to 2 MiB and advised for huge pages (where the kernel offers them);
    a smaller one comes from numpy. The arrays keep the allocation alive.
    """
    offsets: dict[str, int] = {}
    total = 0
    for name, (shape, dtype) in shapes.items():
        offsets[name] = total
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        total += -(-nbytes // CACHE_LINE) * CACHE_LINE
    if total >= HUGE_PAGE:
        region = mmap.mmap(-1, total + HUGE_PAGE, flags=mmap.MAP_PRIVATE)  # anonymous: zero-filled
        raw = np.frombuffer(region, np.uint8)
        start = -raw.ctypes.data % HUGE_PAGE
        if hasattr(mmap, "MADV_HUGEPAGE"):
            region.madvise(mmap.MADV_HUGEPAGE, start, total)
    else:
        raw = np.zeros(total + CACHE_LINE, np.uint8)
        start = -raw.ctypes.data % CACHE_LINE
    arrays: dict[str, NDArray[np.generic]] = {}
    for name, (shape, dtype) in shapes.items():
        dt = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        begin = start + offsets[name]
        arrays[name] = raw[begin : begin + count * dt.itemsize].view(dt).reshape(shape)
    return arrays


def default_allocator(shape: tuple[int, ...], dtype: np.dtype[np.generic]) -> NDArray[np.generic]:
    return np.zeros(shape, dtype)
