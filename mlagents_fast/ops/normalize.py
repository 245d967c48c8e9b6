"""Running observation normalizer (ML-Agents' `normalize: true`), with a numpy reference.

Statistics are float64 and merged with Chan et al.'s parallel formula. By
default the normalizer starts, as ML-Agents' does, from one pseudo-observation
with mean 0 and variance 1 (`initial_count=1`); `initial_count=0` gives plain
sample statistics. Normalized values are `clamp((x - mean) / std, -clip, clip)`
with `clip = 5` as in ML-Agents; variances are floored at `MIN_VARIANCE`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mlagents_fast import _native

MIN_VARIANCE: float = _native.NORMALIZER_MIN_VARIANCE  # the native kernel's floor, used by the reference too
ML_AGENTS_CLIP = 5.0


class RunningNormalizer:
    """Per-feature running mean and variance over float32 batches of shape `[B, size]`."""

    def __init__(self, size: int, *, initial_count: float = 1.0, clip: float = ML_AGENTS_CLIP) -> None:
        self._native = _native.RunningNormalizer(size, initial_count, clip)

    @property
    def size(self) -> int:
        return int(self._native.size)

    @property
    def count(self) -> float:
        """Number of observations seen, including the prior pseudo-count."""
        return float(self._native.count)

    @property
    def mean(self) -> NDArray[np.float64]:
        return self._native.state()[1]

    @property
    def variance(self) -> NDArray[np.float64]:
        count, _, m2 = self._native.state()
        return m2 / count if count > 0 else np.ones_like(m2)

    def update(self, batch: NDArray[np.float32]) -> None:
        """Add a batch; a NaN or inf in it raises ValueError and leaves the statistics unchanged."""
        self._native.update(batch)

    def normalize(self, x: NDArray[np.float32], out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
        """Normalize and clip in one pass; `out` may be `x` itself. NaN inputs stay NaN."""
        out = np.empty_like(x) if out is None else out
        self._native.normalize(x, out)
        return out

    def merge(self, other: RunningNormalizer) -> None:
        """Fold another normalizer's statistics (a worker's, say) into this one."""
        state = other.state_dict()
        self._native.merge(float(state["count"]), state["mean"], state["m2"])

    def state_dict(self) -> dict[str, NDArray[np.float64]]:
        """Plain arrays (no pickled objects) that `load_state_dict` restores bit-exactly."""
        count, mean, m2 = self._native.state()  # one consistent snapshot
        return {"count": np.array(count, dtype=np.float64), "mean": mean, "m2": m2}

    def load_state_dict(self, state: dict[str, NDArray[np.float64]]) -> None:
        self._native.set_state(float(state["count"]), state["mean"], state["m2"])


class ReferenceNormalizer:
    """numpy version of `RunningNormalizer` with the same semantics; for tests."""

    def __init__(self, size: int, *, initial_count: float = 1.0, clip: float = ML_AGENTS_CLIP) -> None:
        self.count = float(initial_count)
        self.mean = np.zeros(size, np.float64)
        self.m2 = np.full(size, float(initial_count), np.float64)
        self.clip = clip

    def update(self, batch: NDArray[np.float32]) -> None:
        data = batch.astype(np.float64)
        if len(data) == 0:
            return
        batch_mean = data.mean(axis=0)
        batch_m2 = ((data - batch_mean) ** 2).sum(axis=0)
        self.merge(float(len(data)), batch_mean, batch_m2)

    def merge(self, count: float, mean: NDArray[np.float64], m2: NDArray[np.float64]) -> None:
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * count / total)
        self.count = total

    def normalize(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        variance = self.m2 / self.count if self.count > 0 else np.ones_like(self.m2)
        std = np.sqrt(np.maximum(variance, MIN_VARIANCE))
        scaled = (x - self.mean.astype(np.float32)) * (1.0 / std).astype(np.float32)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)
