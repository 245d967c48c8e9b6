"""The compiled loops that run every copy of a numba environment (used by `numba_env`).

`compile_drivers` closes over one environment's `reset`, `step` and `mask` functions,
so numba inlines them into a loop over copies. The loops return how many copies
failed and leave a per-copy error code (below) for Python to turn into a message;
they never raise, so a failure in one copy does not leave others half written.

The drivers are deliberately not cached on disk: numba keys a closure's cache on its
bytecode and captured values, which would not tell the serial loop from the
`parallel=True` one built from the same source.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from numba import njit, prange

# Per-copy error codes (int8).
ERROR_REWARD = 1  # step returned a NaN or infinite reward
ERROR_OBS_AFTER_STEP = 2  # step wrote a NaN or infinite observation
ERROR_OBS_AFTER_RESET = 3  # reset wrote a NaN or infinite observation
ERROR_MASKED_ACTION = 4  # a discrete choice its action mask forbids


class Drivers(NamedTuple):
    reset_all: Callable[..., int]
    step_all: Callable[..., int]


@njit(cache=True, nogil=True)
def _no_mask(state: Any, mask_out: Any) -> None:
    pass


@njit(cache=True, nogil=True)
def all_finite(values: Any) -> bool:
    for value in values:
        if not math.isfinite(value):
            return False
    return True


@njit(cache=True, nogil=True)
def masked_choices(discrete: Any, mask: Any, branch_offsets: Any, errors: Any) -> int:
    """Flag the copies whose discrete choice is masked, before any copy is stepped."""
    failed = 0
    for i in range(discrete.shape[0]):
        bad = False
        for b in range(branch_offsets.shape[0]):
            bad = bad or mask[i, branch_offsets[b] + discrete[i, b]]
        errors[i] = ERROR_MASKED_ACTION if bad else 0
        failed += 1 if bad else 0
    return failed


@njit(cache=True, nogil=True)
def scatter(flat: Any, offsets: Any, arrays: Any, row: int) -> None:
    """Copy one copy's observation vector into the row of each observation's array."""
    for k in range(len(arrays)):
        start = offsets[k]
        target = arrays[k][row]
        for j in range(target.shape[0]):
            target[j] = flat[start + j]


def compile_drivers(
    reset_fn: Callable[..., Any], step_fn: Callable[..., Any], mask_fn: Callable[..., Any] | None, parallel: bool
) -> Drivers:
    """Build the reset and step loops of one environment; `parallel` runs copies with `prange`."""
    mask_fn = _no_mask if mask_fn is None else mask_fn
    begin_episode = _compile_begin_episode(reset_fn, mask_fn)
    return Drivers(
        reset_all=_compile_reset_all(begin_episode, parallel),
        step_all=_compile_step_all(step_fn, mask_fn, begin_episode, parallel),
    )


def _compile_begin_episode(reset_fn: Callable[..., Any], mask_fn: Callable[..., Any]) -> Callable[..., bool]:
    @njit(nogil=True)
    def begin_episode(i: int, state: Any, rng: Any, flat: Any, offsets: Any, obs: Any, mask: Any) -> bool:
        """Zero the copy's state, run `reset` and publish its first observation and mask."""
        state[i, :] = 0.0
        reset_fn(state[i], rng[i], flat[i])
        if not all_finite(flat[i]):
            return False
        scatter(flat[i], offsets, obs, i)
        mask_fn(state[i], mask[i])
        return True

    return begin_episode


def _compile_reset_all(begin_episode: Callable[..., bool], parallel: bool) -> Callable[..., int]:
    @njit(nogil=True, parallel=parallel)
    def reset_all(
        state: Any, rng: Any, flat: Any, offsets: Any, obs: Any, mask: Any,
        reward: Any, terminated: Any, truncated: Any, episode_return: Any, episode_length: Any,
        return_sum: Any, steps: Any, errors: Any,
    ) -> int:  # fmt: skip
        failed = 0
        for i in prange(state.shape[0]):
            reward[i] = 0.0
            terminated[i] = False
            truncated[i] = False
            episode_return[i] = 0.0
            episode_length[i] = 0
            return_sum[i] = 0.0
            steps[i] = 0
            ok = begin_episode(i, state, rng, flat, offsets, obs, mask)
            errors[i] = 0 if ok else ERROR_OBS_AFTER_RESET
            failed += 0 if ok else 1
        return failed

    return reset_all


def _compile_step_all(
    step_fn: Callable[..., Any], mask_fn: Callable[..., Any], begin_episode: Callable[..., bool], parallel: bool
) -> Callable[..., int]:
    @njit(nogil=True)
    def step_copy(
        i: int, state: Any, rng: Any, continuous: Any, discrete: Any, flat: Any, offsets: Any, obs: Any,
        terminal_obs: Any, mask: Any, reward: Any, terminated: Any, truncated: Any,
        episode_return: Any, episode_length: Any, return_sum: Any, steps: Any, max_step: int,
    ) -> int:  # fmt: skip
        """Step copy `i`, end its episode if it is over (terminated wins) and return its error code."""
        r, term = step_fn(state[i], rng[i], continuous[i], discrete[i], flat[i])
        if not math.isfinite(r):
            return ERROR_REWARD
        if not all_finite(flat[i]):
            return ERROR_OBS_AFTER_STEP
        steps[i] += 1
        return_sum[i] += r
        reward[i] = r
        trunc = (not term) and max_step > 0 and steps[i] >= max_step
        terminated[i] = term
        truncated[i] = trunc
        if not (term or trunc):
            episode_return[i] = 0.0
            episode_length[i] = 0
            scatter(flat[i], offsets, obs, i)
            mask_fn(state[i], mask[i])
            return 0
        episode_return[i] = return_sum[i]
        episode_length[i] = steps[i]
        return_sum[i] = 0.0
        steps[i] = 0
        scatter(flat[i], offsets, terminal_obs, i)
        return 0 if begin_episode(i, state, rng, flat, offsets, obs, mask) else ERROR_OBS_AFTER_RESET

    @njit(nogil=True, parallel=parallel)
    def step_all(
        state: Any, rng: Any, continuous: Any, discrete: Any, flat: Any, offsets: Any, obs: Any, terminal_obs: Any,
        mask: Any, branch_offsets: Any, reward: Any, terminated: Any, truncated: Any,
        episode_return: Any, episode_length: Any, return_sum: Any, steps: Any, max_step: int, errors: Any,
    ) -> int:  # fmt: skip
        if mask.shape[1] > 0:
            masked = masked_choices(discrete, mask, branch_offsets, errors)
            if masked > 0:
                return int(masked)
        failed = 0
        for i in prange(state.shape[0]):
            code = step_copy(
                i, state, rng, continuous, discrete, flat, offsets, obs, terminal_obs, mask,
                reward, terminated, truncated, episode_return, episode_length, return_sum, steps, max_step,
            )  # fmt: skip
            errors[i] = code
            failed += 0 if code == 0 else 1
        return failed

    return step_all
