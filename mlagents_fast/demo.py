"""A short tour of the native kernels on a synthetic rollout, timed against plain numpy.

Run with `python -m mlagents_fast.demo` (or `mlagents-fast-demo`). The trainer
replaces this as the main job; real measurements live in `benchmarks/`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import cast

import numpy as np
from numpy.typing import NDArray

from mlagents_fast import _native
from mlagents_fast.buffer import RolloutBuffer, rollout_fields
from mlagents_fast.ops.advantages import gae, gae_reference
from mlagents_fast.ops.normalize import ReferenceNormalizer, RunningNormalizer


def best_time(function: Callable[[], object], repeats: int) -> float:
    """Fastest of `repeats` calls, in seconds, after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=256, help="rollout length T")
    parser.add_argument("--agents", type=int, default=256, help="number of agents N")
    parser.add_argument("--obs-size", type=int, default=32, help="vector observation size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    steps, agents, obs_size = args.steps, args.agents, args.obs_size
    rng = np.random.default_rng(args.seed)

    buffer = RolloutBuffer(steps, agents, rollout_fields([(obs_size,)], continuous_size=2))
    writer = buffer.step_writer(["obs_0", "rewards.extrinsic", "value_estimates.extrinsic", "terminated"])
    for t in range(steps):
        obs = rng.normal(2.0, 3.0, (agents, obs_size)).astype(np.float32)
        rewards = rng.normal(size=agents).astype(np.float32)
        values = rng.normal(size=agents).astype(np.float32)
        writer.write(t, [obs, rewards, values, rng.random(agents) < 0.01])
    print(f"rollout: {steps} steps x {agents} agents written in place, {obs_size} observation features")

    rewards, values = (cast(NDArray[np.float32], buffer[name]) for name in ("rewards", "value_estimates"))
    terminated, truncated = (cast(NDArray[np.bool_], buffer[name]) for name in ("terminated", "truncated"))
    inputs = (rewards, values, terminated, truncated, buffer.bootstrap_values)
    advantages, returns = np.empty_like(rewards), np.empty_like(rewards)
    gae(*inputs, gammas=0.99, lambd=0.95, advantages=advantages, returns=returns)
    native = best_time(lambda: gae(*inputs, gammas=0.99, lambd=0.95, advantages=advantages, returns=returns), 20)
    reference = best_time(lambda: gae_reference(*inputs, gammas=0.99, lambd=0.95), 3)
    print(f"GAE: mean advantage {advantages.mean():+.4f}, mean return {returns.mean():+.4f}")
    print(f"  native {native * 1e6:.0f} us, numpy loop {reference * 1e6:.0f} us ({reference / native:.0f}x)")

    observations = cast(NDArray[np.float32], buffer["obs_0"]).reshape(-1, obs_size)
    normalizer, numpy_normalizer = RunningNormalizer(obs_size), ReferenceNormalizer(obs_size)
    normalizer.update(observations)
    out = np.empty_like(observations)
    native = best_time(lambda: normalizer.normalize(observations, out), 20)
    reference = best_time(lambda: numpy_normalizer.normalize(observations), 5)
    print(f"normalizer: mean {normalizer.mean.mean():.3f}, std {np.sqrt(normalizer.variance).mean():.3f}")
    print(f"  normalize native {native * 1e6:.0f} us, numpy {reference * 1e6:.0f} us ({reference / native:.1f}x)")

    batches = sum(1 for _ in buffer.minibatches(1024, _native.Rng(args.seed)))
    print(f"minibatches: {batches} shuffled batches of 1024 rows gathered natively")


if __name__ == "__main__":
    main()
