"""GAE: native kernel vs the numpy loop over time steps (CleanRL / SB3 form) and
ML-Agents' pure-Python per-element loop (`get_gae` / `discount_rewards` per agent)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlagents_fast.ops.advantages import gae, gae_trajectory_reference

GAMMA, LAMBD = 0.99, 0.95
SHAPES = [(1000, 64), (128, 2048)]


def make_rollout(steps: int, agents: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "rewards": rng.normal(size=(steps, agents)).astype(np.float32),
        "values": rng.normal(size=(steps, agents)).astype(np.float32),
        "terminated": rng.random((steps, agents)) < 0.01,
        "truncated": rng.random((steps, agents)) < 0.01,
        "bootstrap_values": rng.normal(size=agents).astype(np.float32),
        "truncated_values": rng.normal(size=(steps, agents)).astype(np.float32),
    }


def numpy_time_loop(rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, next_value: np.ndarray,
                    next_done: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The usual CleanRL / Stable-Baselines3 loop: numpy over agents, Python over time."""
    steps = rewards.shape[0]
    advantages = np.zeros_like(rewards)
    last_gae = 0.0
    for t in reversed(range(steps)):
        if t == steps - 1:
            next_non_terminal, next_values = 1.0 - next_done, next_value
        else:
            next_non_terminal, next_values = 1.0 - dones[t + 1], values[t + 1]
        delta = rewards[t] + GAMMA * next_values * next_non_terminal - values[t]
        advantages[t] = last_gae = delta + GAMMA * LAMBD * next_non_terminal * last_gae
    return advantages, advantages + values


@pytest.mark.parametrize("steps, agents", SHAPES)
def test_gae_native(measure: Any, steps: int, agents: int) -> None:
    ro = make_rollout(steps, agents)
    outputs = {"advantages": np.empty_like(ro["rewards"]), "returns": np.empty_like(ro["rewards"])}
    measure(f"gae T={steps} N={agents}", "native", lambda: gae(**ro, gammas=GAMMA, lambd=LAMBD, **outputs),
            steps * agents)  # fmt: skip


@pytest.mark.parametrize("steps, agents", SHAPES)
def test_gae_numpy_time_loop(measure: Any, steps: int, agents: int) -> None:
    ro = make_rollout(steps, agents)
    dones = (ro["terminated"] | ro["truncated"]).astype(np.float32)
    next_done = np.zeros(agents, np.float32)
    measure(f"gae T={steps} N={agents}", "numpy_time_loop",
            lambda: numpy_time_loop(ro["rewards"], ro["values"], dones, ro["bootstrap_values"], next_done),
            steps * agents)  # fmt: skip


@pytest.mark.parametrize("steps, agents", SHAPES)
def test_gae_python_per_element(measure: Any, steps: int, agents: int) -> None:
    ro = make_rollout(steps, agents)
    columns = [(np.ascontiguousarray(ro["rewards"][:, n]), np.ascontiguousarray(ro["values"][:, n]))
               for n in range(agents)]  # fmt: skip

    def per_agent() -> None:
        for n, (rewards, values) in enumerate(columns):
            gae_trajectory_reference(rewards, values, float(ro["bootstrap_values"][n]), GAMMA, LAMBD)

    measure(f"gae T={steps} N={agents}", "python_per_element", per_agent, steps * agents, rounds=3)
