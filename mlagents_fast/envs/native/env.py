"""Built-in native environments as a VectorEnv: C++ copies stepped on a thread pool.

The arrays of `batch()` and `actions()` are numpy views of memory the native VecEnv
owns; `step()` releases the GIL, validates the actions and advances every copy.
`send()` / `recv()` step copies asynchronously (EnvPool-style) for trainers that
overlap inference with simulation.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlagents_fast._native import NativeVecEnv, native_env_names
from mlagents_fast.envs.parameters import parse_parameters
from mlagents_fast.envs.vector import SingleBehaviorVectorEnv, StepBatch
from mlagents_fast.spec import (
    ActionError,
    ActionSpec,
    ActionTuple,
    BehaviorSpec,
    DimensionProperty,
    ObservationSpec,
    ObservationType,
)

# Sampler kinds as the native side numbers them (mlaf::envs::SamplerKind).
_SAMPLER_KIND = {"constant": 0, "uniform": 1, "gaussian": 2, "multirangeuniform": 3}


def native_names() -> list[str]:
    return list(native_env_names())


def _observation_spec(shape: list[int], name: str, goal: bool) -> ObservationSpec:
    if len(shape) == 3:
        return ObservationSpec.visual(shape[0], shape[1], shape[2], name=name)
    kind = ObservationType.GOAL_SIGNAL if goal else ObservationType.DEFAULT
    if len(shape) == 2:  # variable length: (entities, features)
        dims = (DimensionProperty.VARIABLE_SIZE, DimensionProperty.NONE)
        return ObservationSpec((shape[0], shape[1]), dims, kind, name)
    return ObservationSpec.vector(shape[0], name=name, observation_type=kind)


class NativeVectorEnv(SingleBehaviorVectorEnv):
    """`num_envs` copies of the built-in environment `name`, on `num_threads` threads.

    `behavior` renames the behavior and `spec` replaces the behavior spec derived from the
    native one (same shapes and actions; names, dimension properties and observation types
    may differ), for wrappers that present a native environment under their own names.
    """

    def __init__(
        self,
        name: str,
        num_envs: int = 1,
        *,
        seed: int = 0,
        num_threads: int = 1,
        behavior: str | None = None,
        spec: BehaviorSpec | None = None,
        **options: float,
    ) -> None:
        try:
            self._native = NativeVecEnv(name, num_envs, num_threads, {k: float(v) for k, v in options.items()})
        except (ValueError, TypeError) as error:
            raise ValueError(f"Cannot make native environment {name!r}: {error}") from None
        native = self._native
        self.name = name
        self.num_envs = num_envs
        self.behavior = behavior or native.behavior
        self.agents_per_env = native.agents_per_env
        self.max_step = native.max_step
        self.decision_period = native.decision_period
        self.parameter_names = tuple(native.parameter_names)
        observations = tuple(
            _observation_spec(shape, obs_name, goal)
            for shape, obs_name, goal in zip(
                native.observation_shapes, native.observation_names, native.goal_signals, strict=True
            )
        )
        action_spec = ActionSpec(native.continuous_size, tuple(native.discrete_branches))
        native_spec = BehaviorSpec(observations, action_spec)
        if spec is not None and (
            [o.shape for o in spec.observation_specs] != [o.shape for o in observations]
            or spec.action_spec != action_spec
        ):
            raise ValueError(
                f"Cannot make native environment {name!r}: {spec} does not match its shapes {native_spec}."
            )
        self._specs = {self.behavior: spec or native_spec}
        slots = native.reward.shape[0]
        self._batch = StepBatch(
            obs=tuple(native.obs),
            terminal_obs=tuple(native.terminal_obs),
            reward=native.reward,
            terminated=native.terminated,
            truncated=native.truncated,
            action_mask=native.action_mask if action_spec.discrete_branches else None,
            agent_id=np.arange(slots, dtype=np.int32),
            group_id=native.group_id,
            group_reward=native.group_reward,
            episode_return=native.episode_return,
            episode_length=native.episode_length,
            absent=native.absent,
        )
        self._actions = ActionTuple(native.continuous_actions, native.discrete_actions)
        self._warned: set[str] = set()
        self.reset(seed)

    def teams(self, behavior: str) -> NDArray[np.int32] | None:
        self._check_behavior(behavior)
        per_copy = self._native.teams
        return np.tile(np.asarray(per_copy, np.int32), self.num_envs) if per_copy else None

    def reset(self, seed: int | None = None) -> None:
        """Start new episodes; `seed` reseeds every copy, None continues the streams seeded before."""
        self._native.reset(None if seed is None else int(seed) & 0xFFFFFFFFFFFFFFFF)

    def step(self) -> None:
        try:
            self._native.step()
        except ValueError as error:
            raise self._action_error(error) from None

    def send(self, env_ids: NDArray[np.int32]) -> None:
        """Start stepping the copies `env_ids` (their actions must already be written)."""
        try:
            self._native.send(np.ascontiguousarray(env_ids, dtype=np.int32))
        except ValueError as error:
            raise self._action_error(error) from None

    def recv(self, count: int) -> NDArray[np.int32]:
        """Wait for `count` sent copies; returns their ids in the order they finished."""
        return self._native.recv(count)

    def set_parameters(self, parameters: Mapping[str, Any]) -> None:
        unread = []
        for name, sampler in parse_parameters(parameters).items():
            known = self._native.set_sampler(name, _SAMPLER_KIND[sampler.kind], list(sampler.intervals), sampler.seed)
            if not known and name not in self._warned:
                unread.append(name)
        if unread:  # once per name, all of a call's in one message
            self._warned.update(unread)
            reads = ", ".join(self.parameter_names) or "none"
            listed = ", ".join(repr(name) for name in unread)
            warnings.warn(
                f"Environment {self.name!r} does not read the parameter{'s' if len(unread) > 1 else ''} {listed}; "
                f"{'they are' if len(unread) > 1 else 'it is'} ignored (parameters it reads: {reads}).",
                stacklevel=2,
            )

    def close(self) -> None:
        if self._native.in_flight:
            self._native.recv(self._native.in_flight)

    def _action_error(self, error: ValueError) -> ActionError:
        return ActionError(f"Environment {self.name!r}, behavior {self.behavior!r}: {error}.")
