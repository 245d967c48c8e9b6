"""GAE and discounted returns over time-major rollouts, with numpy references.

A rollout holds S reward signals over T steps for N agents. Per-signal arrays
are `[S, T, N]` (or `[T, N]` for a single signal), episode flags `[T, N]`.
Bootstrapping follows ML-Agents:

* a terminated step never bootstraps (the next value is 0);
* a truncated (interrupted, max-step) step bootstraps from `truncated_values`,
  the value of the episode's final observation;
* the last step of the rollout bootstraps from `bootstrap_values`;
* a step that is both terminated and truncated counts as terminated.

NaN or inf in an input propagates to the outputs of the same agent and signal,
at that step and the earlier steps of the same episode, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, overload

import numpy as np
from numpy.typing import NDArray

from mlagents_fast import _native

Float32Array = NDArray[np.float32]
ScalarT = TypeVar("ScalarT", bound=np.generic)
FlagArray = NDArray[np.bool_] | NDArray[np.uint8]


def _as_gammas(gammas: float | Sequence[float] | NDArray[np.floating], signals: int) -> Float32Array:
    array = np.atleast_1d(np.asarray(gammas, dtype=np.float32))
    if array.shape == (1,) and signals != 1:
        array = np.repeat(array, signals)
    return array


def _native_gammas(
    gammas: float | Sequence[float] | NDArray[np.floating], rewards: Float32Array
) -> float | Float32Array:
    """Gammas as the native call takes them: a float as it is for one signal, else float32 `[S]`."""
    if rewards.ndim == 2 and type(gammas) is float:
        return gammas
    return _as_gammas(gammas, 1 if rewards.ndim == 2 else rewards.shape[0])


@overload
def _lift(array: NDArray[ScalarT], single: bool) -> NDArray[ScalarT]: ...
@overload
def _lift(array: None, single: bool) -> None: ...
def _lift(array: NDArray[ScalarT] | None, single: bool) -> NDArray[ScalarT] | None:
    """For a single-signal call, view a `[T, N]` array as `[1, T, N]` (an `[N]` one as `[1, N]`)."""
    return array[np.newaxis] if single and array is not None else array


def gae(
    rewards: Float32Array,
    values: Float32Array,
    terminated: FlagArray,
    truncated: FlagArray,
    bootstrap_values: Float32Array,
    gammas: float | Sequence[float] | Float32Array,
    lambd: float,
    truncated_values: Float32Array | None = None,
    *,
    advantages: Float32Array | None = None,
    returns: Float32Array | None = None,
) -> tuple[Float32Array, Float32Array]:
    """Generalized advantage estimates and returns (advantages + values), in native code.

    Args:
        rewards, values: float32 `[S, T, N]`, or `[T, N]` for one signal.
        terminated, truncated: bool or uint8 `[T, N]`.
        bootstrap_values: float32 `[S, N]` (or `[N]`): value of the observation after the last step.
        gammas: one discount per signal (a single float applies to all).
        lambd: the GAE lambda, shared by all signals as in ML-Agents.
        truncated_values: float32 like `values`; required when any step is truncated.
        advantages, returns: optional preallocated outputs shaped like `rewards`.

    Returns:
        `(advantages, returns)`, shaped like `rewards`.
    """
    advantages = np.empty_like(rewards) if advantages is None else advantages
    returns = np.empty_like(rewards) if returns is None else returns
    # The native call takes [T, N] arrays as one signal, and a float gamma for it, as they are.
    _native.gae(
        rewards, values, terminated, truncated, bootstrap_values, truncated_values,
        _native_gammas(gammas, rewards), lambd, advantages, returns,
    )  # fmt: skip
    return advantages, returns


def discounted_returns(
    rewards: Float32Array,
    terminated: FlagArray,
    truncated: FlagArray,
    bootstrap_values: Float32Array,
    gammas: float | Sequence[float] | Float32Array,
    truncated_values: Float32Array | None = None,
    *,
    returns: Float32Array | None = None,
) -> Float32Array:
    """Discounted sums of rewards with the bootstrapping rules of `gae`, in native code."""
    returns = np.empty_like(rewards) if returns is None else returns
    _native.discounted_returns(
        rewards, terminated, truncated, bootstrap_values, truncated_values, _native_gammas(gammas, rewards), returns
    )
    return returns


def gae_trajectory(
    rewards: Float32Array, values: Float32Array, value_next: float, gamma: float, lambd: float
) -> Float32Array:
    """ML-Agents' per-trajectory `get_gae`: one agent, T steps, bootstrapped by `value_next`."""
    advantages = np.empty_like(rewards)
    _native.gae_trajectory(rewards, values, value_next, gamma, lambd, advantages)
    return advantages


def discount_rewards(rewards: Float32Array, gamma: float, value_next: float = 0.0) -> Float32Array:
    """ML-Agents' per-trajectory `discount_rewards`, bootstrapped by `value_next`."""
    returns = np.empty_like(rewards)
    _native.discount_rewards(rewards, gamma, value_next, returns)
    return returns


def _next_values_reference(
    t: int,
    following: NDArray[np.float32],
    bootstrap: NDArray[np.float32],
    terminated: NDArray[np.bool_],
    truncated: NDArray[np.bool_],
    truncated_values: NDArray[np.float32] | None,
) -> NDArray[np.float32]:
    """Value to bootstrap step t from: `following` is row t+1's value (or return)."""
    next_values = bootstrap if t == terminated.shape[0] - 1 else following
    if truncated_values is not None:
        next_values = np.where(truncated[t], truncated_values[t], next_values)
    return np.where(terminated[t], np.float32(0), next_values).astype(np.float32)


def gae_reference(
    rewards: Float32Array,
    values: Float32Array,
    terminated: FlagArray,
    truncated: FlagArray,
    bootstrap_values: Float32Array,
    gammas: float | Sequence[float] | Float32Array,
    lambd: float,
    truncated_values: Float32Array | None = None,
) -> tuple[Float32Array, Float32Array]:
    """Plain numpy loop over time steps with the semantics of `gae`; for tests."""
    single = rewards.ndim == 2
    r3, v3, b2, tv3 = (
        _lift(rewards, single),
        _lift(values, single),
        _lift(bootstrap_values, single),
        _lift(truncated_values, single),
    )
    term, trunc = terminated.astype(bool), truncated.astype(bool)
    gamma_array = _as_gammas(gammas, r3.shape[0])
    advantages = np.zeros_like(r3)
    for s in range(r3.shape[0]):
        gamma, carry = gamma_array[s], np.zeros(r3.shape[2], np.float32)
        for t in reversed(range(r3.shape[1])):
            following = v3[s, t + 1] if t + 1 < r3.shape[1] else b2[s]
            tv = None if tv3 is None else tv3[s]
            next_values = _next_values_reference(t, following, b2[s], term, trunc, tv)
            delta = r3[s, t] + gamma * next_values - v3[s, t]
            carry = np.where(term[t] | trunc[t], delta, delta + gamma * np.float32(lambd) * carry)
            advantages[s, t] = carry
    returns = advantages + v3
    return (advantages[0], returns[0]) if single else (advantages, returns)


def discounted_returns_reference(
    rewards: Float32Array,
    terminated: FlagArray,
    truncated: FlagArray,
    bootstrap_values: Float32Array,
    gammas: float | Sequence[float] | Float32Array,
    truncated_values: Float32Array | None = None,
) -> Float32Array:
    """Plain numpy loop with the semantics of `discounted_returns`; for tests."""
    single = rewards.ndim == 2
    r3, b2, tv3 = _lift(rewards, single), _lift(bootstrap_values, single), _lift(truncated_values, single)
    term, trunc = terminated.astype(bool), truncated.astype(bool)
    gamma_array = _as_gammas(gammas, r3.shape[0])
    returns = np.zeros_like(r3)
    for s in range(r3.shape[0]):
        for t in reversed(range(r3.shape[1])):
            following = returns[s, t + 1] if t + 1 < r3.shape[1] else b2[s]
            tv = None if tv3 is None else tv3[s]
            next_values = _next_values_reference(t, following, b2[s], term, trunc, tv)
            returns[s, t] = r3[s, t] + gamma_array[s] * next_values
    return returns[0] if single else returns


def discount_rewards_reference(rewards: Float32Array, gamma: float, value_next: float = 0.0) -> Float32Array:
    """ML-Agents' pure-Python per-element loop (`trainer_utils.discount_rewards`)."""
    discounted = np.zeros_like(rewards)
    running = np.float32(value_next)
    for t in reversed(range(rewards.size)):
        running = running * np.float32(gamma) + rewards[t]
        discounted[t] = running
    return discounted


def gae_trajectory_reference(
    rewards: Float32Array, values: Float32Array, value_next: float, gamma: float, lambd: float
) -> Float32Array:
    """ML-Agents' `get_gae`: TD errors discounted by gamma * lambd."""
    following = np.append(values[1:], np.float32(value_next)).astype(np.float32)
    deltas = (rewards + np.float32(gamma) * following - values).astype(np.float32)
    return discount_rewards_reference(deltas, float(np.float32(gamma) * np.float32(lambd)))
