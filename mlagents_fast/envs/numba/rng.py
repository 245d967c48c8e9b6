"""Per-copy random numbers for numba environments (splitmix64 on a one-word uint64 state).

Each environment copy owns a `uint64[1]` state that the engine seeds from the
environment's seed, so a run repeats exactly for a given seed and copies draw
different streams, however many threads step them. Numba's own `np.random` keeps
one state per thread, so draws would depend on thread scheduling: use these instead.

Call them from `@njit` code only; `rng` is the copy's state array passed to `reset` / `step`.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

# splitmix64's constants (Steele, Lea and Flood, 2014); typed as uint64 so numba keeps
# the arithmetic in wrapping 64-bit integers rather than promoting to float64.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53: 53 random bits -> [0, 1)


@njit(cache=True, nogil=True, inline="always")
def random_u64(rng: NDArray[np.uint64]) -> np.uint64:
    """The next 64 random bits of this copy's stream."""
    rng[0] += _GAMMA
    z: np.uint64 = rng[0]
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    bits: np.uint64 = z ^ (z >> _S31)
    return bits


@njit(cache=True, nogil=True, inline="always")
def random_uniform(rng: NDArray[np.uint64], low: float, high: float) -> float:
    """A float64 uniform in [low, high)."""
    unit = float(random_u64(rng) >> _S11) * _TO_UNIT
    return low + (high - low) * unit


@njit(cache=True, nogil=True, inline="always")
def random_integer(rng: NDArray[np.uint64], n: int) -> int:
    """An integer uniform in [0, n) (n >= 1; the modulo bias is below 2**-40 for n < 2**24)."""
    return int(random_u64(rng) % np.uint64(n))


def seed_states(seed: int | None, num_envs: int) -> NDArray[np.uint64]:
    """One independent stream state per copy, shape (num_envs, 1); fresh entropy when seed is None."""
    states = np.random.SeedSequence(seed).generate_state(num_envs, np.uint64)
    return np.ascontiguousarray(states.reshape(num_envs, 1))
