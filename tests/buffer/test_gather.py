"""Native gather, row writes and index generators against numpy."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlagents_fast import _native


@settings(max_examples=50, deadline=None)
@given(
    rows=st.integers(1, 200),
    row_shape=st.sampled_from([(), (1,), (3,), (2, 4), (8,), (5, 7)]),
    dtype=st.sampled_from([np.float32, np.int32, np.bool_, np.float64, np.uint8, np.int16]),
    count=st.integers(0, 300),
    seed=st.integers(0, 2**31),
)
def test_gather_matches_numpy_take(rows: int, row_shape: tuple[int, ...], dtype: type, count: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    source = rng.integers(0, 100, (rows, *row_shape)).astype(dtype)
    indices = rng.integers(-1, rows, count).astype(np.int64)
    destination = np.full((count + 3, *row_shape), 7, dtype)
    untouched = destination[count:].copy()
    _native.GatherPlan([source], [destination]).gather(indices)
    expected = np.where((indices >= 0).reshape(-1, *[1] * len(row_shape)), source[np.maximum(indices, 0)], 0)
    np.testing.assert_array_equal(destination[:count], expected.astype(dtype))
    np.testing.assert_array_equal(destination[count:], untouched, err_msg="rows past the batch are left alone")


def test_gather_checks_indices_and_layouts() -> None:
    source, destination = np.zeros((10, 3), np.float32), np.zeros((4, 3), np.float32)
    plan = _native.GatherPlan([source], [destination])
    with pytest.raises(ValueError, match=r"index 10 is out of range; indices must lie in \[0, 10\)"):
        plan.gather(np.array([0, 10], np.int64))
    with pytest.raises(ValueError, match="index -2 is out of range"):
        plan.gather(np.array([-2], np.int64))
    with pytest.raises(ValueError, match="got 5 indices but the destinations hold 4 rows"):
        plan.gather(np.zeros(5, np.int64))
    with pytest.raises(ValueError, match="'indices' must be a C-contiguous int64"):
        plan.gather(np.zeros(2, np.int32))
    with pytest.raises(ValueError, match=r"destinations\[0\] .* must have the dtype and row shape of sources\[0\]"):
        _native.GatherPlan([source], [np.zeros((4, 2), np.float32)])
    with pytest.raises(ValueError, match="not C-contiguous"):
        _native.GatherPlan([np.zeros((3, 10), np.float32).T], [destination])


def test_row_writer_wraps_around_the_ring() -> None:
    ring = np.zeros((5, 2), np.int64)
    writer = _native.RowWriter([ring])
    writer.write(3, [np.array([[1, 1], [2, 2], [3, 3]], np.int64)])
    np.testing.assert_array_equal(ring[:, 0], [3, 0, 0, 1, 2])
    with pytest.raises(ValueError, match="6 rows do not fit in destinations of 5 rows"):
        writer.write(0, [np.zeros((6, 2), np.int64)])


def test_shuffled_indices_is_a_seeded_permutation() -> None:
    first = _native.shuffled_indices(_native.Rng(1), 1000)
    assert sorted(first) == list(range(1000))
    np.testing.assert_array_equal(first, _native.shuffled_indices(_native.Rng(1), 1000))
    assert not np.array_equal(first, _native.shuffled_indices(_native.Rng(2), 1000))
    assert len(_native.shuffled_indices(_native.Rng(1), 0)) == 0


def test_uniform_indices_are_in_range_and_roughly_uniform() -> None:
    draws = _native.uniform_indices(_native.Rng(5), 10, 100_000)
    assert draws.min() == 0 and draws.max() == 9
    counts = np.bincount(draws, minlength=10)
    chi_square = ((counts - 10_000) ** 2 / 10_000).sum()
    assert chi_square < 30, counts  # 9 degrees of freedom: p < 0.001 beyond 27.9


def test_sequence_indices_layout() -> None:
    out = _native.sequence_indices(_native.Rng(0), 5, 2, 3)  # 2 chunks per agent, the second padded
    chunks = out.reshape(-1, 3)
    expected = {(0, 2, 4), (6, 8, -1), (1, 3, 5), (7, 9, -1)}
    assert {tuple(c) for c in chunks} == expected


def test_rng_state_round_trip() -> None:
    rng = _native.Rng(42)
    rng.next_u64()
    state = rng.state()
    draws = [rng.next_u64() for _ in range(5)]
    rng.set_state(state)
    assert [rng.next_u64() for _ in range(5)] == draws


def test_one_rng_shared_by_threads_hands_out_whole_chunks_of_its_stream() -> None:
    """Each call locks the generator, so threads split the sequential stream into whole chunks."""
    shared, draws = _native.Rng(3), []

    def draw() -> None:
        for _ in range(200):
            draws.append(tuple(_native.uniform_indices(shared, 1 << 40, 64)))

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sequential = _native.Rng(3)
    expected = [tuple(_native.uniform_indices(sequential, 1 << 40, 64)) for _ in range(800)]
    assert sorted(draws) == sorted(expected)
