"""GAE over a [T, N] rollout, one reward signal, float32.

Ours: `mlagents_fast.ops.advantages.gae` writing into preallocated outputs.
References, on the same data:

* `numpy_time_loop`: the CleanRL / Stable-Baselines3 loop, numpy over agents and
  Python over time steps. Truncation is folded into the rewards beforehand as SB3
  does (`reward += gamma * value of the final observation`), outside the timing, so
  it computes the same advantages as ours (checked once before timing).
* `python_per_element`: ML-Agents' way, `get_gae` / `discount_rewards` with a pure
  Python loop over elements, called once per agent column. It does not split
  episodes; it is a throughput reference.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray
from pytest_benchmark.fixture import BenchmarkFixture

from mlagents_fast.ops.advantages import gae, gae_trajectory_reference

# The `timed` fixture (conftest.py): timed(group, extra_info, function, *args).
Timed = Callable[..., object]

GAMMA, LAMBD = 0.99, 0.95
SHAPES = [(1000, 64), (128, 2048)]
# Ratio ours must reach against each reference, per shape.
TARGETS = {
    (1000, 64): {"numpy_time_loop": 100, "python_per_element": 300},
    (128, 2048): {"numpy_time_loop": 10, "python_per_element": 300},
}

F32 = NDArray[np.float32]


def make_rollout(steps: int, agents: int) -> dict[str, NDArray[np.generic]]:
    rng = np.random.default_rng(0)
    return {
        "rewards": rng.normal(size=(steps, agents)).astype(np.float32),
        "values": rng.normal(size=(steps, agents)).astype(np.float32),
        "terminated": rng.random((steps, agents)) < 0.01,
        "truncated": rng.random((steps, agents)) < 0.01,
        "bootstrap_values": rng.normal(size=agents).astype(np.float32),
        "truncated_values": rng.normal(size=(steps, agents)).astype(np.float32),
    }


def numpy_time_loop(
    rewards: F32, values: F32, dones: F32, last_values: F32, gamma: float, lambd: float
) -> tuple[F32, F32]:
    """CleanRL / SB3 GAE; `dones[t]` is 1 where step t ended its episode."""
    steps = rewards.shape[0]
    advantages = np.zeros_like(rewards)
    lastgaelam = np.zeros_like(last_values)
    for t in reversed(range(steps)):
        nextnonterminal = 1.0 - dones[t]
        nextvalues = last_values if t == steps - 1 else values[t + 1]
        delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
        lastgaelam = delta + gamma * lambd * nextnonterminal * lastgaelam
        advantages[t] = lastgaelam
    returns = advantages + values
    return advantages, returns


def sb3_inputs(rollout: dict[str, NDArray[np.generic]]) -> tuple[F32, F32, F32, F32]:
    """The rollout as SB3 stores it: one `dones` flag, truncation bootstrapped into the reward."""
    terminated, truncated = rollout["terminated"], rollout["truncated"]
    interrupted = truncated & ~terminated
    rewards = np.where(
        interrupted, rollout["rewards"] + np.float32(GAMMA) * rollout["truncated_values"], rollout["rewards"]
    )
    dones = (terminated | truncated).astype(np.float32)
    return rewards.astype(np.float32), rollout["values"], dones, rollout["bootstrap_values"]


def per_agent_columns(rollout: dict[str, NDArray[np.generic]]) -> list[tuple[F32, F32, float]]:
    rewards, values, bootstrap = rollout["rewards"], rollout["values"], rollout["bootstrap_values"]
    return [
        (np.ascontiguousarray(rewards[:, n]), np.ascontiguousarray(values[:, n]), float(bootstrap[n]))
        for n in range(rewards.shape[1])
    ]


def label(steps: int, agents: int) -> str:
    return f"gae T={steps} N={agents}"


@pytest.mark.parametrize(("steps", "agents"), SHAPES)
def test_gae_native(timed: Timed, steps: int, agents: int) -> None:
    rollout = make_rollout(steps, agents)
    advantages, returns = np.empty_like(rollout["rewards"]), np.empty_like(rollout["rewards"])

    def run() -> None:
        gae(**rollout, gammas=GAMMA, lambd=LAMBD, advantages=advantages, returns=returns)

    timed(label(steps, agents), dict(role="native", elements=steps * agents), run)


@pytest.mark.parametrize(("steps", "agents"), SHAPES)
def test_gae_numpy_time_loop(timed: Timed, steps: int, agents: int) -> None:
    rollout = make_rollout(steps, agents)
    inputs = sb3_inputs(rollout)
    ours, _ = gae(**rollout, gammas=GAMMA, lambd=LAMBD)
    np.testing.assert_allclose(numpy_time_loop(*inputs, GAMMA, LAMBD)[0], ours, rtol=1e-4, atol=1e-4)

    timed(
        label(steps, agents),
        dict(
            role="reference:numpy_time_loop", elements=steps * agents, target=TARGETS[steps, agents]["numpy_time_loop"]
        ),
        numpy_time_loop,
        *inputs,
        GAMMA,
        LAMBD,
    )


@pytest.mark.parametrize(("steps", "agents"), SHAPES)
def test_gae_python_per_element(benchmark: BenchmarkFixture, steps: int, agents: int) -> None:
    columns = per_agent_columns(make_rollout(steps, agents))

    def run() -> None:
        for rewards, values, value_next in columns:
            gae_trajectory_reference(rewards, values, value_next, GAMMA, LAMBD)

    benchmark.group = label(steps, agents)
    benchmark.extra_info.update(
        role="reference:python_per_element",
        elements=steps * agents,
        target=TARGETS[steps, agents]["python_per_element"],
    )
    # Tens of milliseconds per call: a fixed, small number of rounds.
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
