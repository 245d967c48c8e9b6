"""Replay ring: capacity, overwrite order and uniform sampling of the filled part."""

from __future__ import annotations

import numpy as np
import pytest

from mlagents_fast import _native
from mlagents_fast.buffer import FieldSpec, ReplayBuffer


def make_buffer(capacity: int) -> ReplayBuffer:
    return ReplayBuffer(capacity, {"obs": FieldSpec.of((2,), np.float32), "done": FieldSpec.of((), np.bool_)})


def test_ring_keeps_the_newest_transitions() -> None:
    buffer = make_buffer(7)
    for block in range(4):
        ids = np.arange(block * 3, block * 3 + 3, dtype=np.float32)
        buffer.add([np.stack([ids, ids], axis=1), ids % 2 == 0])
    assert buffer.size == 7
    assert sorted(buffer.arrays["obs"][:, 0]) == list(range(5, 12))


def test_samples_come_only_from_filled_rows_and_keep_fields_aligned() -> None:
    buffer = make_buffer(100)
    ids = np.arange(10, dtype=np.float32)
    buffer.add([np.stack([ids, -ids], axis=1), ids % 3 == 0])
    batch = buffer.sample(500, _native.Rng(0))
    assert batch["obs"].shape == (500, 2)
    assert set(batch["obs"][:, 0]) == set(range(10))
    np.testing.assert_array_equal(batch["obs"][:, 1], -batch["obs"][:, 0])
    np.testing.assert_array_equal(batch["done"], batch["obs"][:, 0] % 3 == 0)


def test_bad_use_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="the buffer is empty"):
        make_buffer(4).sample(2, _native.Rng(0))
    with pytest.raises(ValueError, match="capacity must be > 0"):
        make_buffer(0)
    with pytest.raises(ValueError, match=r"sources\[1\]"):
        make_buffer(4).add([np.zeros((2, 2), np.float32), np.zeros(3, bool)])


def test_samples_reuse_their_arrays_per_batch_size() -> None:
    buffer = make_buffer(50)
    ids = np.arange(50, dtype=np.float32)
    buffer.add([np.stack([ids, ids], axis=1), ids > 25])
    rng = _native.Rng(4)
    first = buffer.sample(16, rng)
    kept = first["obs"].copy()
    second = buffer.sample(16, rng)
    assert second["obs"] is first["obs"], "same batch size: the same arrays, overwritten"
    assert not np.array_equal(second["obs"], kept)
    assert buffer.sample(8, rng)["obs"].shape == (8, 2)
