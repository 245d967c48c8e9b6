"""Running normalizer update + normalize: native vs a numpy RunningMeanStd (the
Stable-Baselines3 form, float64 statistics)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlagents_fast.ops.normalize import RunningNormalizer

SHAPES = [(64, 8), (4096, 64)]


class NumpyRunningMeanStd:
    def __init__(self, size: int) -> None:
        self.mean, self.var, self.count = np.zeros(size), np.ones(size), 1e-4

    def update(self, batch: np.ndarray) -> None:
        batch_mean, batch_var, batch_count = np.mean(batch, axis=0), np.var(batch, axis=0), batch.shape[0]
        delta, total = batch_mean - self.mean, self.count + batch_count
        m2 = self.var * self.count + batch_var * batch_count + np.square(delta) * self.count * batch_count / total
        self.mean, self.var, self.count = self.mean + delta * batch_count / total, m2 / total, total

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return np.clip((x - self.mean) / np.sqrt(self.var + 1e-8), -5.0, 5.0)


def batch(rows: int, size: int) -> np.ndarray:
    return (np.random.default_rng(0).normal(size=(rows, size)) * 3 + 1).astype(np.float32)


@pytest.mark.parametrize("rows, size", SHAPES)
def test_normalizer_native(measure: Any, rows: int, size: int) -> None:
    x, normalizer = batch(rows, size), RunningNormalizer(size)
    out = np.empty_like(x)

    def update_and_normalize() -> None:
        normalizer.update(x)
        normalizer.normalize(x, out)

    measure(f"normalizer B={rows} D={size}", "native", update_and_normalize, rows * size)


@pytest.mark.parametrize("rows, size", SHAPES)
def test_normalizer_numpy_running_mean_std(measure: Any, rows: int, size: int) -> None:
    x, reference = batch(rows, size), NumpyRunningMeanStd(size)

    def update_and_normalize() -> None:
        reference.update(x)
        reference.normalize(x)

    measure(f"normalizer B={rows} D={size}", "numpy_running_mean_std", update_and_normalize, rows * size)
