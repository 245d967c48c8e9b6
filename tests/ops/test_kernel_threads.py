"""Large GAE and gather calls split over the kernel threads: same bytes as on one thread."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

import numpy as np
import pytest

from mlagents_fast import _native
from mlagents_fast.ops.advantages import gae, gae_reference


@pytest.fixture
def restore_threads() -> Iterator[None]:
    before = _native.kernel_threads()
    yield
    _native.set_kernel_threads(before)


def rollout(signals: int, steps: int, agents: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ro = {
        "rewards": rng.normal(size=(signals, steps, agents)).astype(np.float32),
        "values": rng.normal(size=(signals, steps, agents)).astype(np.float32),
        "terminated": rng.random((steps, agents)) < 0.05,
        "truncated": rng.random((steps, agents)) < 0.05,
        "bootstrap_values": rng.normal(size=(signals, agents)).astype(np.float32),
        "truncated_values": rng.normal(size=(signals, steps, agents)).astype(np.float32),
    }
    ro["values"][0, steps // 2, agents - 1] = np.nan  # stays inside its episode on every thread count
    return ro


def gae_with(threads: int, ro: dict[str, np.ndarray], gammas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _native.set_kernel_threads(threads)
    return gae(**ro, gammas=gammas, lambd=0.95)


@pytest.mark.usefixtures("restore_threads")
@pytest.mark.parametrize(("signals", "steps", "agents"), [(1, 128, 2048), (2, 37, 1000), (3, 64, 1531), (1, 1, 70000)])
def test_split_gae_is_bit_identical_to_one_thread(signals: int, steps: int, agents: int) -> None:
    assert _native.gae_chunks(signals, steps, agents, 2) > 1, "the shape must be one that is split"
    ro = rollout(signals, steps, agents, seed=agents)
    gammas = np.linspace(0.9, 0.99, signals).astype(np.float32)
    one = gae_with(1, ro, gammas)
    for threads in (2, 3, 8):
        for _ in range(3):  # helpers join at different times on every call
            split = gae_with(threads, ro, gammas)
            for a, b in zip(one, split, strict=True):
                np.testing.assert_array_equal(a, b)
    if steps <= 64:
        expected = gae_reference(**ro, gammas=gammas, lambd=0.95)
        np.testing.assert_allclose(one[0], expected[0], rtol=1e-5, atol=1e-5)


def test_small_or_narrow_gae_stays_on_one_thread() -> None:
    assert _native.gae_chunks(1, 1000, 64, 2) == 1
    assert _native.gae_chunks(1, 16, 2048, 2) == 1
    assert _native.gae_chunks(1, 128, 2048, 1) == 1


def gather_fields(rows: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(rows, 64)).astype(np.float32),
        rng.normal(size=(rows, 3)).astype(np.float32),  # 12-byte rows: the generic path
        rng.normal(size=rows).astype(np.float32),
        rng.random(rows) < 0.5,
        rng.integers(0, 1000, (rows, 2)).astype(np.int64),
    ]


@pytest.mark.usefixtures("restore_threads")
@pytest.mark.parametrize("count", [1024, 1000, 4099])
def test_split_gather_is_bit_identical_to_one_thread(count: int) -> None:
    rows = 5000
    sources = gather_fields(rows, seed=count)
    indices = np.random.default_rng(count).integers(-1, rows, count).astype(np.int64)
    outputs = {t: [np.full((count + 5, *s.shape[1:]), 3, s.dtype) for s in sources] for t in (1, 2, 4)}
    plans = {t: _native.GatherPlan(sources, outputs[t]) for t in outputs}
    assert plans[2].chunks(count, 2) > 1, "the gather must be one that is split"
    for threads, plan in plans.items():
        _native.set_kernel_threads(threads)
        for _ in range(3):
            plan.gather(indices)
    for threads in (2, 4):
        for a, b in zip(outputs[1], outputs[threads], strict=True):
            np.testing.assert_array_equal(a, b)
    for source, out in zip(sources, outputs[1], strict=True):
        shape = (-1, *[1] * (source.ndim - 1))
        expected = np.where((indices >= 0).reshape(shape), source[np.maximum(indices, 0)], 0)
        np.testing.assert_array_equal(out[:count], expected.astype(source.dtype))
        untouched = np.full_like(out[count:], 3)
        np.testing.assert_array_equal(out[count:], untouched, err_msg="rows past the batch are left alone")


def test_small_gather_stays_on_one_thread() -> None:
    sources = gather_fields(100, seed=0)
    plan = _native.GatherPlan(sources, [np.empty((64, *s.shape[1:]), s.dtype) for s in sources])
    assert plan.chunks(64, 2) == 1


@pytest.mark.usefixtures("restore_threads")
def test_thread_count_is_checked() -> None:
    assert 1 <= _native.kernel_threads() <= _native.MAX_KERNEL_THREADS
    for bad in (0, -1, _native.MAX_KERNEL_THREADS + 1):
        with pytest.raises(ValueError, match="set_kernel_threads"):
            _native.set_kernel_threads(bad)
    _native.set_kernel_threads(3)
    assert _native.kernel_threads() == 3


def _split_gae_in_child(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ro = rollout(1, 128, 2048, seed=5)
    queue.put(gae_with(2, ro, np.array([0.99], np.float32))[0].tobytes())


@pytest.mark.usefixtures("restore_threads")
def test_a_forked_child_splits_calls_too() -> None:
    ro = rollout(1, 128, 2048, seed=5)
    expected = gae_with(2, ro, np.array([0.99], np.float32))[0]  # the parent's helpers are running
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_split_gae_in_child, args=(queue,))
    child.start()
    result = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert result == expected.tobytes()
