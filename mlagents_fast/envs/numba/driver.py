"""The compiled loops that run every copy of a numba environment (used by `env.py`).

`compile_drivers` closes over one environment's `reset`, `step` and `mask` functions and
inlines them into a loop over a range of copies. The loops return how many copies
failed and leave a per-copy error code (below) for Python to turn into a message;
they never raise.

Speed notes (CartPole, 1024 copies, one thread):
- The user's functions are inlined: a call to a separate compiled function costs
  reference-count updates on every array view passed in.
- The loops are built without numba's reference-counting runtime (`_nrt=False`), which
  roughly halves the time per copy again: each per-copy view otherwise costs atomic
  increments that numba cannot prove away across the loop's branches. Functions that
  allocate arrays need the runtime; for them `compile_drivers(..., nrt=True)` is the
  fallback (`env.py` switches on the first compile error).
- With several threads a `parallel=True` loop (which needs the runtime) hands each
  thread one contiguous range of copies and calls the lean loop on it.

The drivers are not cached on disk: numba keys a closure's cache on its bytecode and
captured values, which would not tell apart loops built with different options.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from numba import get_num_threads, njit, prange

# Per-copy error codes (int8).
ERROR_REWARD = 1  # step returned a NaN or infinite reward
ERROR_OBS_AFTER_STEP = 2  # step wrote a NaN or infinite observation
ERROR_OBS_AFTER_RESET = 3  # reset wrote a NaN or infinite observation
ERROR_MASKED_ACTION = 4  # a discrete choice its action mask forbids


F = TypeVar("F", bound=Callable[..., Any])


def jit(**options: Any) -> Callable[[F], F]:
    """`njit` taking options its type stubs leave out (`_nrt`: numba's reference-counting runtime)."""
    untyped: Any = njit
    decorator: Callable[[F], F] = untyped(**options)
    return decorator


class Drivers(NamedTuple):
    """`reset_all(...)` and `step_all(...)` over every copy; `nrt`: built with numba's runtime."""

    reset_all: Callable[..., int]
    step_all: Callable[..., int]
    nrt: bool


@njit(cache=True, nogil=True, inline="always")
def _no_mask(state: Any, mask_out: Any) -> None:
    pass


@njit(cache=True, nogil=True, inline="always")
def all_finite(values: Any, row: int) -> bool:
    finite = True
    for j in range(values.shape[1]):
        finite = finite and math.isfinite(values[row, j])
    return finite


@njit(cache=True, nogil=True, inline="always")
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


@njit(cache=True, nogil=True, inline="always")
def scatter(flat: Any, offsets: Any, arrays: Any, row: int) -> None:
    """Copy one copy's observation vector (`flat[row]`) into that row of each observation's array."""
    for k in range(len(arrays)):
        start = offsets[k]
        target = arrays[k]
        for j in range(target.shape[1]):
            target[row, j] = flat[row, start + j]


def inlined(function: Any, nrt: bool) -> Any:
    """A copy of a user's njit function that numba inlines into the driver, keeping the
    user's compile options (fastmath, error_model, ...)."""
    options = {key: value for key, value in function.targetoptions.items() if key != "nopython"}
    return jit(**{**options, "inline": "always", "_nrt": nrt})(function.py_func)


def compile_drivers(
    reset_fn: Callable[..., Any],
    step_fn: Callable[..., Any],
    mask_fn: Callable[..., Any] | None,
    parallel: bool,
    nrt: bool = False,
) -> Drivers:
    """Build the reset and step loops of one environment; `parallel` splits copies over threads."""
    reset_fn, step_fn = inlined(reset_fn, nrt), inlined(step_fn, nrt)
    mask_fn = _no_mask if mask_fn is None else inlined(mask_fn, nrt)
    begin_episode = _compile_begin_episode(reset_fn, nrt)
    reset_range = _compile_reset_range(begin_episode, mask_fn, nrt)
    step_range = _compile_step_range(begin_episode, step_fn, mask_fn, nrt)
    return Drivers(*_compile_entry_points(reset_range, step_range, parallel, nrt), nrt=nrt)


def _compile_begin_episode(reset_fn: Callable[..., Any], nrt: bool) -> Callable[..., int]:
    @jit(nogil=True, inline="always", _nrt=nrt)
    def begin_episode(i: int, state: Any, rng: Any, flat: Any) -> int:
        """Start copy i's next episode from a zeroed state; 0, or an error code for a NaN first observation."""
        for j in range(state.shape[1]):
            state[i, j] = 0.0
        reset_fn(state[i], rng[i], flat[i])
        return 0 if all_finite(flat, i) else ERROR_OBS_AFTER_RESET

    return begin_episode


def _compile_reset_range(
    begin_episode: Callable[..., int], mask_fn: Callable[..., Any], nrt: bool
) -> Callable[..., int]:
    @jit(nogil=True, _nrt=nrt)
    def reset_range(
        lo: int, hi: int, state: Any, rng: Any, flat: Any, offsets: Any, obs: Any, mask: Any,
        reward: Any, terminated: Any, truncated: Any, episode_return: Any, episode_length: Any,
        return_sum: Any, steps: Any, errors: Any,
    ) -> int:  # fmt: skip
        failed = 0
        for i in range(lo, hi):
            reward[i] = 0.0
            terminated[i] = False
            truncated[i] = False
            episode_return[i] = 0.0
            episode_length[i] = 0
            return_sum[i] = 0.0
            steps[i] = 0
            code = begin_episode(i, state, rng, flat)
            if code == 0:
                scatter(flat, offsets, obs, i)
                mask_fn(state[i], mask[i])
            errors[i] = code
            failed += 0 if code == 0 else 1
        return failed

    return reset_range


def _compile_step_range(
    begin_episode: Callable[..., int], step_fn: Callable[..., Any], mask_fn: Callable[..., Any], nrt: bool
) -> Callable[..., int]:
    @jit(nogil=True, _nrt=nrt)
    def step_range(
        lo: int, hi: int, state: Any, rng: Any, continuous: Any, discrete: Any, flat: Any, offsets: Any, obs: Any,
        terminal_obs: Any, mask: Any, reward: Any, terminated: Any, truncated: Any,
        episode_return: Any, episode_length: Any, return_sum: Any, steps: Any, max_step: int, errors: Any,
    ) -> int:  # fmt: skip
        """Step copies [lo, hi); an ended episode is followed at once by the next (terminated wins)."""
        failed = 0
        for i in range(lo, hi):
            r, term = step_fn(state[i], rng[i], continuous[i], discrete[i], flat[i])
            code = 0
            if not math.isfinite(r):
                code = ERROR_REWARD
            elif not all_finite(flat, i):
                code = ERROR_OBS_AFTER_STEP
            else:
                steps[i] += 1
                return_sum[i] += r
                reward[i] = r
                trunc = (not term) and max_step > 0 and steps[i] >= max_step
                terminated[i] = term
                truncated[i] = trunc
                done = term or trunc
                episode_return[i] = return_sum[i] if done else 0.0
                episode_length[i] = steps[i] if done else 0
                if done:
                    return_sum[i] = 0.0
                    steps[i] = 0
                    scatter(flat, offsets, terminal_obs, i)
                    code = begin_episode(i, state, rng, flat)
                if code == 0:
                    scatter(flat, offsets, obs, i)
                    mask_fn(state[i], mask[i])
            errors[i] = code
            failed += 0 if code == 0 else 1
        return failed

    return step_range


def _compile_entry_points(
    reset_range: Callable[..., int], step_range: Callable[..., int], parallel: bool, nrt: bool
) -> tuple[Callable[..., int], Callable[..., int]]:
    """`reset_all` / `step_all`: check masks first, then run the range loops on one or all threads."""
    # A parallel=True loop needs numba's runtime; it only splits the copies into ranges.
    options: dict[str, Any] = {"nogil": True, "parallel": True} if parallel else {"nogil": True, "_nrt": nrt}

    @jit(**options)
    def reset_all(
        state: Any, rng: Any, flat: Any, offsets: Any, obs: Any, mask: Any,
        reward: Any, terminated: Any, truncated: Any, episode_return: Any, episode_length: Any,
        return_sum: Any, steps: Any, errors: Any,
    ) -> int:  # fmt: skip
        n = state.shape[0]
        chunks = min(get_num_threads(), n) if parallel else 1
        failed = 0
        for c in prange(chunks):
            failed += reset_range(
                c * n // chunks, (c + 1) * n // chunks, state, rng, flat, offsets, obs, mask,
                reward, terminated, truncated, episode_return, episode_length, return_sum, steps, errors,
            )  # fmt: skip
        return failed

    @jit(**options)
    def step_all(
        state: Any, rng: Any, continuous: Any, discrete: Any, flat: Any, offsets: Any, obs: Any, terminal_obs: Any,
        mask: Any, branch_offsets: Any, reward: Any, terminated: Any, truncated: Any,
        episode_return: Any, episode_length: Any, return_sum: Any, steps: Any, max_step: int, errors: Any,
    ) -> int:  # fmt: skip
        if mask.shape[1] > 0:
            masked = masked_choices(discrete, mask, branch_offsets, errors)
            if masked > 0:
                return int(masked)
        n = state.shape[0]
        chunks = min(get_num_threads(), n) if parallel else 1
        failed = 0
        for c in prange(chunks):
            failed += step_range(
                c * n // chunks, (c + 1) * n // chunks, state, rng, continuous, discrete, flat, offsets, obs,
                terminal_obs, mask, reward, terminated, truncated, episode_return, episode_length,
                return_sum, steps, max_step, errors,
            )  # fmt: skip
        return failed

    return reset_all, step_all
