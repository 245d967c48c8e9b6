"""The native generator (xoshiro256** seeded through splitmix64), bit for bit, in Python."""

from __future__ import annotations

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def _finalize(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def mix(a: int, b: int) -> int:
    """The seed of copy `b` of an environment reset with seed `a` (mlaf::envs mix)."""
    return _finalize((a + GOLDEN * (b + 1)) & MASK)


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK


class Rng:
    def __init__(self, seed: int) -> None:
        self.state = [0, 0, 0, 0]
        for i in range(4):
            seed = (seed + GOLDEN) & MASK
            self.state[i] = _finalize(seed)

    def next(self) -> int:
        s = self.state
        result = (_rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def below(self, bound: int) -> int:
        product = self.next() * bound
        low = product & MASK
        if low < bound:
            threshold = ((1 << 64) - bound) % bound
            while low < threshold:
                product = self.next() * bound
                low = product & MASK
        return product >> 64

    def uniform01(self) -> float:
        return (self.next() >> 11) * 2.0**-53

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.uniform01()
