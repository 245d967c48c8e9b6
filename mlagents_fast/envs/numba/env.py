"""Environments written as numba functions: every copy stepped by one compiled loop.

A user writes an environment's `reset` and `step` over arrays, as `@njit` functions, and
`NumbaVectorEnv` runs `num_envs` copies of it. One `step()` is one Python call for the
whole batch: it validates the actions, then a compiled loop over copies (no GIL held,
optionally split over threads with `prange`) applies each copy's action, counts steps,
ends episodes, writes rewards, flags and episode totals, keeps the final observation
in `terminal_obs` and starts the next episode in the same step (the rules of
`mlagents_fast.envs.python.env`).

Writing one
-----------
Each copy has one agent and a float64 state vector of `state_size` entries that the
engine owns (zeroed before every `reset`). The functions see one copy at a time:

- `reset(state, rng, obs)`: start an episode, fill `state` and the first observation;
- `step(state, rng, continuous, discrete, obs) -> (reward, terminated)`: apply one
  decision (`continuous` float32 and `discrete` int32 rows of this agent), write the
  next observation and return the reward and whether the episode reached a terminal
  state. Time limits are the engine's (`max_step`): do not count steps in `state`;
- `mask(state, mask_out)` (optional, discrete actions only): set True on the choices
  *not* allowed at the next decision, one column per choice of every branch.

`obs` is a float32 vector holding every observation of the behavior one after the
other (for a single vector observation: just that vector). `rng` is this copy's
random state: draw from it with `mlagents_fast.envs.numba.rng` (deterministic per
seed, different per copy); numba's `np.random` is per thread, so avoid it here.

    from numba import njit
    from mlagents_fast.envs.numba.env import NumbaEnvDefinition, NumbaVectorEnv
    from mlagents_fast.envs.numba.rng import random_uniform
    from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec

    @njit(cache=True)
    def reset(state, rng, obs):
        state[0] = random_uniform(rng, -1.0, 1.0)      # where the walker starts
        obs[0] = state[0]

    @njit(cache=True)
    def step(state, rng, continuous, discrete, obs):
        state[0] += 0.1 * continuous[0]
        obs[0] = state[0]
        reached = abs(state[0]) > 2.0
        return (1.0 if reached else -0.01), reached

    walker = NumbaEnvDefinition(
        behavior_name="Walker",
        behavior_spec=BehaviorSpec((ObservationSpec.vector(1),), ActionSpec.create_continuous(1)),
        state_size=1, reset=reset, step=step, max_step=200,
    )
    env = NumbaVectorEnv(walker, num_envs=1024, seed=0)
    env.reset()
    env.actions("Walker").continuous[:] = 1.0
    env.step()
    batch = env.batch("Walker")  # batch.obs[0], batch.reward, batch.terminated, ...

Plain Python functions are accepted and compiled with `njit`. The engine inlines the
functions into the loop that drives the copies, compiled once per definition and
process (one to two seconds), so keep them free of array allocation where you can:
such functions need numba's reference-counting runtime, which the loop then uses
at about half the speed (see `driver.py`).

Actions are checked before anything is stepped: shape, dtype, range, NaN and masked
choices raise `ActionError` (`set_actions` checks and copies a whole `ActionTuple`).
A copy that returns a NaN or infinite reward or observation raises `EnvError` naming
the copy and the field; the batch is then half stepped, so call `reset()` first.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import njit
from numba.core.errors import NumbaError
from numpy.typing import NDArray

from mlagents_fast.envs.numba.driver import (
    ERROR_MASKED_ACTION,
    ERROR_OBS_AFTER_RESET,
    ERROR_OBS_AFTER_STEP,
    ERROR_REWARD,
    Drivers,
    compile_drivers,
)
from mlagents_fast.envs.numba.rng import seed_states
from mlagents_fast.envs.vector import EnvError, SingleBehaviorVectorEnv, StepBatch
from mlagents_fast.spec import ActionError, ActionTuple, BehaviorSpec


@dataclass(frozen=True, eq=False)
class NumbaEnvDefinition:
    """What `NumbaVectorEnv` needs to run copies of an environment (see the module docstring).

    Compared by identity: the compiled driver is cached per definition object, so build a
    definition once (at module level) and reuse it.
    """

    behavior_name: str
    behavior_spec: BehaviorSpec
    state_size: int
    reset: Callable[..., Any]
    step: Callable[..., Any]
    max_step: int = 0  # decisions before the engine truncates an episode; 0: never
    mask: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        where = f"Numba environment {self.behavior_name!r}"
        if self.state_size < 1:
            raise ValueError(f"{where}: state_size must be >= 1; got {self.state_size}.")
        if self.max_step < 0:
            raise ValueError(f"{where}: max_step must be >= 0 (0: no time limit); got {self.max_step}.")
        if not self.behavior_spec.observation_specs:
            raise ValueError(f"{where}: the behavior needs at least one observation.")
        for spec in self.behavior_spec.observation_specs:
            if len(spec.shape) != 1:
                raise ValueError(f"{where}: only vector observations are supported; got shape {spec.shape}.")
        if self.mask is not None and not self.behavior_spec.action_spec.is_discrete():
            raise ValueError(f"{where}: a mask function needs discrete actions.")
        # Plain Python functions are compiled here, so a definition always holds numba dispatchers.
        for field in ("reset", "step", "mask"):
            function = getattr(self, field)
            if function is not None and not isinstance(function, numba.core.registry.CPUDispatcher):
                object.__setattr__(self, field, njit(nogil=True)(function))

    @property
    def obs_size(self) -> int:
        """Length of the `obs` vector the functions write: every observation, one after the other."""
        return sum(spec.shape[0] for spec in self.behavior_spec.observation_specs)


# The most threads numba may use in this process (its NUMBA_NUM_THREADS setting).
MAX_THREADS: int = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]

_DRIVERS: weakref.WeakKeyDictionary[NumbaEnvDefinition, dict[bool, Drivers]] = weakref.WeakKeyDictionary()
_DRIVERS_LOCK = threading.Lock()


def drivers_for(definition: NumbaEnvDefinition, parallel: bool, nrt: bool = False) -> Drivers:
    """The compiled reset and step loops of `definition`, shared by its environments.

    Lean loops (no numba runtime) are tried first; once `nrt=True` is asked for (the lean
    ones failed to compile), those replace them for every later environment.
    """
    with _DRIVERS_LOCK:
        per_definition = _DRIVERS.setdefault(definition, {})
        cached = per_definition.get(parallel)
        if cached is None or (nrt and not cached.nrt):
            cached = compile_drivers(definition.reset, definition.step, definition.mask, parallel, nrt)
            per_definition[parallel] = cached
        return cached


class NumbaVectorEnv(SingleBehaviorVectorEnv):
    """`num_envs` copies of a `NumbaEnvDefinition`, one agent each, stepped by one compiled call.

    `num_threads` > 1 splits the copies over that many numba threads (`prange`); it pays
    for large batches only. `seed` seeds every copy's random stream at construction;
    `reset(seed)` re-seeds, `reset()` continues the streams.
    """

    def __init__(
        self, definition: NumbaEnvDefinition, num_envs: int, seed: int | None = None, num_threads: int = 1
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1; got {num_envs}.")
        if not 1 <= num_threads <= MAX_THREADS:
            raise ValueError(f"num_threads must be in [1, {MAX_THREADS}] (NUMBA_NUM_THREADS); got {num_threads}.")
        self.definition = definition
        self.name = definition.behavior_name
        self.num_envs = num_envs
        self.num_threads = num_threads
        spec = definition.behavior_spec
        self._specs = {definition.behavior_name: spec}
        self._batch = StepBatch.allocate(spec, num_envs)
        self._actions = spec.action_spec.empty_action(num_envs)
        self._drivers = drivers_for(definition, parallel=num_threads > 1)
        # Engine-owned per-copy arrays: the environment's state, its random stream, the
        # observation vector the functions write, and the running episode totals.
        self._state = np.zeros((num_envs, definition.state_size), np.float64)
        self._rng = seed_states(seed, num_envs)
        self._obs_flat = np.zeros((num_envs, definition.obs_size), np.float32)
        self._obs_offsets = np.cumsum([0, *(o.shape[0] for o in spec.observation_specs)]).astype(np.int64)
        self._return_sum = np.zeros(num_envs, np.float64)
        self._steps = np.zeros(num_envs, np.int32)
        self._errors = np.zeros(num_envs, np.int8)
        widths = spec.action_spec.discrete_branches
        self._branch_offsets = np.cumsum([0, *widths[:-1]]).astype(np.int64) if widths else np.zeros(0, np.int64)
        batch = self._batch
        self._mask = batch.action_mask if batch.action_mask is not None else np.zeros((num_envs, 0), np.bool_)
        self._started = False
        self._closed = False

    @property
    def state(self) -> NDArray[np.float64]:
        """Every copy's state vector, shape (num_envs, state_size); a writable view, for tests and tools."""
        return self._state

    def set_actions(self, behavior: str, actions: ActionTuple) -> None:
        """Check `actions` against the behavior's spec and copy them into `actions(behavior)`."""
        self._check_behavior(behavior)
        self._specs[behavior].action_spec.validate(actions, self.num_envs, behavior)
        np.copyto(self._actions.continuous, actions.continuous)
        np.copyto(self._actions.discrete, actions.discrete)

    def reset(self, seed: int | None = None) -> None:
        self._check_open()
        if seed is not None:
            self._rng[:] = seed_states(seed, self.num_envs)
        self._set_threads()
        b = self._batch
        failed = self._run(
            "reset_all", self._state, self._rng, self._obs_flat, self._obs_offsets, b.obs, self._mask,
            b.reward, b.terminated, b.truncated, b.episode_return, b.episode_length,
            self._return_sum, self._steps, self._errors,
        )  # fmt: skip
        self._started = failed == 0
        if failed:
            self._raise_env_error()

    def step(self) -> None:
        self._check_open()
        if not self._started:
            raise EnvError(f"Environment {self.name!r}: call reset() before step() (and after an EnvError).")
        self.definition.behavior_spec.action_spec.validate(self._actions, self.num_envs, self.name)
        self._set_threads()
        b = self._batch
        failed = self._run(
            "step_all", self._state, self._rng, self._actions.continuous, self._actions.discrete,
            self._obs_flat, self._obs_offsets, b.obs, b.terminal_obs, self._mask, self._branch_offsets,
            b.reward, b.terminated, b.truncated, b.episode_return, b.episode_length,
            self._return_sum, self._steps, self.definition.max_step, self._errors,
        )  # fmt: skip
        if failed:
            self._raise_step_error()

    def close(self) -> None:
        self._closed = True

    def _run(self, driver: str, *args: Any) -> int:
        try:
            return int(getattr(self._drivers, driver)(*args))
        except NumbaError:
            # Numba compiles on the first call, before any copy is touched, so retrying is safe.
            # The lean loops fail to compile when the functions allocate arrays: use the runtime.
            if self._drivers.nrt:
                raise
            self._drivers = drivers_for(self.definition, self.num_threads > 1, nrt=True)
            return int(getattr(self._drivers, driver)(*args))

    def _check_open(self) -> None:
        if self._closed:
            raise EnvError(f"Environment {self.name!r} is closed.")

    def _set_threads(self) -> None:
        # numba's thread count is a per-calling-thread setting, so it is set where the call is made.
        if self.num_threads > 1 and numba.get_num_threads() != self.num_threads:
            numba.set_num_threads(self.num_threads)

    def _raise_step_error(self) -> None:
        copy = int(np.flatnonzero(self._errors)[0])
        if self._errors[copy] == ERROR_MASKED_ACTION:
            branch, choice = self._masked_choice(copy)
            raise ActionError(
                f"Behavior {self.name!r}: agent index {copy} chose {choice} on discrete branch {branch}, "
                "which its action mask does not allow."
            )
        self._started = False
        self._raise_env_error()

    def _masked_choice(self, copy: int) -> tuple[int, int]:
        for branch, offset in enumerate(self._branch_offsets):
            choice = int(self._actions.discrete[copy, branch])
            if self._mask[copy, offset + choice]:
                return branch, choice
        return -1, -1  # the mask changed since the check; not expected

    def _raise_env_error(self) -> None:
        copy = int(np.flatnonzero(self._errors)[0])
        code = int(self._errors[copy])
        where = f"Environment {self.name!r}, behavior {self.name!r}, copy {copy}"
        if code == ERROR_REWARD:
            raise EnvError(f"{where}: step() returned a NaN or infinite reward.")
        # The bad values are still in the copy's observation vector: name the observation holding one.
        column = int(np.flatnonzero(~np.isfinite(self._obs_flat[copy]))[0])
        index = int(np.searchsorted(self._obs_offsets, column, side="right")) - 1
        spec = self.definition.behavior_spec.observation_specs[index]
        label = f"observation {index}" + (f" ({spec.name!r})" if spec.name else "")
        stage = {ERROR_OBS_AFTER_STEP: "step()", ERROR_OBS_AFTER_RESET: "reset()"}.get(code, f"code {code}")
        raise EnvError(f"{where}: {stage} wrote NaN or inf into {label}, entry {column - self._obs_offsets[index]}.")
