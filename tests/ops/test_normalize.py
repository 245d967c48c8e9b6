"""Native running normalizer against numpy statistics and ML-Agents' update rule."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlagents_fast.ops.normalize import ReferenceNormalizer, RunningNormalizer


def batches(seed: int, sizes: list[int], dim: int, scale: float = 3.0, offset: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(n, dim)) * scale + offset).astype(np.float32) for n in sizes]


@settings(max_examples=50, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 70), min_size=1, max_size=6),
    dim=st.integers(1, 12),
    seed=st.integers(0, 2**31),
    offset=st.sampled_from([0.0, 10.0, -1e4, 1e6]),
)
def test_merged_statistics_equal_numpy_over_concatenated_data(
    sizes: list[int], dim: int, seed: int, offset: float
) -> None:
    data = batches(seed, sizes, dim, offset=offset)
    normalizer = RunningNormalizer(dim, initial_count=0)
    for batch in data:
        normalizer.update(batch)
    everything = np.concatenate(data).astype(np.float64)
    assert normalizer.count == len(everything)
    if len(everything):
        np.testing.assert_allclose(normalizer.mean, everything.mean(axis=0), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(normalizer.variance, everything.var(axis=0), rtol=1e-9, atol=1e-9)


def ml_agents_update(state: dict[str, np.ndarray], batch: np.ndarray) -> None:
    """ML-Agents' Normalizer.update, written out in float64 numpy."""
    x = batch.astype(np.float64)
    total = state["steps"] + len(x)
    to_old_mean = x - state["mean"]
    new_mean = state["mean"] + (to_old_mean / total).sum(axis=0)
    state["variance"] = state["variance"] + ((x - new_mean) * to_old_mean).sum(axis=0)
    state["mean"], state["steps"] = new_mean, total


def test_default_prior_matches_ml_agents_update_and_forward() -> None:
    normalizer = RunningNormalizer(5)
    ml_agents = {"steps": np.float64(1), "mean": np.zeros(5), "variance": np.ones(5)}
    for batch in batches(1, [3, 64, 1, 17], 5):
        normalizer.update(batch)
        ml_agents_update(ml_agents, batch)
    np.testing.assert_allclose(normalizer.mean, ml_agents["mean"], rtol=1e-12)
    np.testing.assert_allclose(normalizer.state_dict()["m2"], ml_agents["variance"], rtol=1e-10)
    x = batches(2, [32], 5, scale=20.0)[0]
    expected = np.clip((x - ml_agents["mean"]) / np.sqrt(ml_agents["variance"] / ml_agents["steps"]), -5, 5)
    np.testing.assert_allclose(normalizer.normalize(x), expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(0, 50), dim=st.integers(1, 10), seed=st.integers(0, 2**31))
def test_normalize_matches_reference(rows: int, dim: int, seed: int) -> None:
    normalizer, reference = RunningNormalizer(dim), ReferenceNormalizer(dim)
    for batch in batches(seed, [40, 7], dim):
        normalizer.update(batch)
        reference.update(batch)
    x = batches(seed + 1, [rows], dim, scale=30.0)[0]
    np.testing.assert_allclose(normalizer.normalize(x), reference.normalize(x), rtol=1e-6, atol=1e-6)


def test_normalize_clips_and_works_in_place() -> None:
    normalizer = RunningNormalizer(2, initial_count=0, clip=5.0)
    normalizer.update(np.float32([[0, 0], [2, 2]]))
    x = np.float32([[1, 100], [-100, 1.5]])
    normalizer.normalize(x, out=x)
    np.testing.assert_allclose(x, [[0, 5], [-5, 0.5]])


def test_nan_in_normalize_propagates_and_constant_feature_maps_to_zero() -> None:
    normalizer = RunningNormalizer(2, initial_count=0)
    normalizer.update(np.float32([[3, 1], [3, 2]]))
    out = normalizer.normalize(np.float32([[np.nan, 1.5], [3, 1.5]]))
    assert np.isnan(out[0, 0])
    np.testing.assert_array_equal(out[1], [0, 0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_update_is_rejected_and_state_untouched(bad: float) -> None:
    normalizer = RunningNormalizer(3)
    normalizer.update(batches(0, [10], 3)[0])
    before = normalizer.state_dict()
    batch = batches(1, [10], 3)[0]
    batch[4, 2] = bad
    with pytest.raises(ValueError, match="column 2 holds NaN or inf; the statistics were left unchanged"):
        normalizer.update(batch)
    after = normalizer.state_dict()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


def test_state_round_trips_bit_exactly() -> None:
    first = RunningNormalizer(4)
    for batch in batches(3, [30, 5, 64], 4):
        first.update(batch)
    second = RunningNormalizer(4)
    second.load_state_dict(first.state_dict())
    follow_up = batches(4, [9], 4)[0]
    first.update(follow_up)
    second.update(follow_up)
    for key, value in first.state_dict().items():
        assert value.tobytes() == second.state_dict()[key].tobytes()
    assert first.normalize(follow_up).tobytes() == second.normalize(follow_up).tobytes()


def test_merge_equals_one_normalizer_over_all_data() -> None:
    parts = batches(5, [20, 33, 8, 1], 6)
    left, right, whole = (RunningNormalizer(6, initial_count=0) for _ in range(3))
    for i, batch in enumerate(parts):
        (left if i % 2 else right).update(batch)
        whole.update(batch)
    left.merge(right)
    assert left.count == whole.count
    np.testing.assert_allclose(left.mean, whole.mean, rtol=1e-12)
    np.testing.assert_allclose(left.variance, whole.variance, rtol=1e-10)


def test_empty_batch_changes_nothing() -> None:
    normalizer = RunningNormalizer(3)
    normalizer.update(np.zeros((0, 3), np.float32))
    assert normalizer.count == 1.0
    np.testing.assert_array_equal(normalizer.variance, [1, 1, 1])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda n: n.update(np.zeros((4, 2), np.float32)), r"'batch' must be .* shape \(B, size\) = \(any, 3\)"),
        (lambda n: n.update(np.zeros((4, 3), np.float64)), "'batch' must be a C-contiguous float32"),
        (lambda n: n.update(np.zeros((3, 4), np.float32).T), "not C-contiguous"),
        (lambda n: n.normalize(np.zeros((4, 3), np.float32), out=np.zeros((5, 3), np.float32)), "'out'"),
        (lambda n: n.load_state_dict({"count": 2.0, "mean": np.zeros(3), "m2": -np.ones(3)}), "m2 >= 0"),
        (lambda n: n.load_state_dict({"count": -1.0, "mean": np.zeros(3), "m2": np.ones(3)}), "count must be"),
    ],
)
def test_bad_input_is_a_clear_error(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call(RunningNormalizer(3))


def test_constructor_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="size must be > 0"):
        RunningNormalizer(0)
    with pytest.raises(ValueError, match="clip must be > 0"):
        RunningNormalizer(3, clip=0.0)


def test_one_normalizer_shared_by_threads_loses_no_update() -> None:
    """Kernels run without the GIL; each normalizer serializes its own updates."""
    parts = batches(9, [257] * 48, 16)
    shared = RunningNormalizer(16, initial_count=0)

    def feed(chunk: list[np.ndarray]) -> None:
        for batch in chunk:
            shared.update(batch)
            shared.normalize(batch)

    threads = [threading.Thread(target=feed, args=(parts[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = np.concatenate(parts).astype(np.float64)
    assert shared.count == len(everything)
    np.testing.assert_allclose(shared.mean, everything.mean(axis=0), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(shared.variance, everything.var(axis=0), rtol=1e-9)
