"""Running observation normalizer: update the statistics with a [B, D] batch, then normalize it.

Ours: `RunningNormalizer.update(batch)` then `normalize(batch, out=preallocated)`.
Reference: `numpy_running_mean_std`, Stable-Baselines3's `RunningMeanStd` (float64 mean
and variance, parallel update from the batch moments) and `VecNormalize`'s
normalize-and-clip, with ML-Agents' clip of 5.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from mlagents_fast.ops.normalize import RunningNormalizer

# The `timed` fixture (conftest.py): timed(group, extra_info, function, *args).
Timed = Callable[..., object]

SHAPES = [(64, 8), (4096, 64)]
TARGETS = {(64, 8): 5, (4096, 64): 3}
CLIP, EPSILON = 5.0, 1e-8


class RunningMeanStd:
    """Stable-Baselines3's `RunningMeanStd` with `VecNormalize.normalize_obs`."""

    def __init__(self, size: int, epsilon: float = 1e-4) -> None:
        self.mean = np.zeros(size, np.float64)
        self.var = np.ones(size, np.float64)
        self.count = epsilon

    def update(self, arr: NDArray[np.float32]) -> None:
        batch_mean = np.mean(arr, axis=0)
        batch_var = np.var(arr, axis=0)
        batch_count = arr.shape[0]
        self.update_from_moments(batch_mean, batch_var, batch_count)

    def update_from_moments(
        self, batch_mean: NDArray[np.floating], batch_var: NDArray[np.floating], batch_count: int
    ) -> None:
        delta = batch_mean - self.mean
        tot_count = self.count + batch_count
        new_mean = self.mean + delta * batch_count / tot_count
        m_a = self.var * self.count
        m_b = batch_var * batch_count
        m_2 = m_a + m_b + np.square(delta) * self.count * batch_count / tot_count
        self.mean, self.var, self.count = new_mean, m_2 / tot_count, tot_count

    def normalize(self, obs: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.clip((obs - self.mean) / np.sqrt(self.var + EPSILON), -CLIP, CLIP).astype(np.float32)


def make_batch(rows: int, size: int) -> NDArray[np.float32]:
    return (np.random.default_rng(0).normal(size=(rows, size)) * 3 + 1).astype(np.float32)


def label(rows: int, size: int) -> str:
    return f"normalizer B={rows} D={size}"


@pytest.mark.parametrize(("rows", "size"), SHAPES)
def test_normalizer_native(timed: Timed, rows: int, size: int) -> None:
    batch, normalizer = make_batch(rows, size), RunningNormalizer(size)
    out = np.empty_like(batch)

    def run() -> None:
        normalizer.update(batch)
        normalizer.normalize(batch, out=out)

    timed(label(rows, size), dict(role="native", elements=rows * size), run)


@pytest.mark.parametrize(("rows", "size"), SHAPES)
def test_normalizer_numpy_running_mean_std(timed: Timed, rows: int, size: int) -> None:
    batch, reference = make_batch(rows, size), RunningMeanStd(size)
    # Same computation: without ML-Agents' prior pseudo-observation ours gives SB3's output.
    check, ours = RunningMeanStd(size), RunningNormalizer(size, initial_count=0)
    check.update(batch)
    ours.update(batch)
    np.testing.assert_allclose(ours.normalize(batch), check.normalize(batch), rtol=1e-4, atol=1e-4)

    def run() -> None:
        reference.update(batch)
        reference.normalize(batch)

    timed(
        label(rows, size),
        dict(role="reference:numpy_running_mean_std", elements=rows * size, target=TARGETS[rows, size]),
        run,
    )
