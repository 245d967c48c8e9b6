"""What the in-process and process steppers share: arrays from a BatchLayout, checks, parameters."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Set
from typing import Any

import numpy as np

from mlagents_fast.envs.parameters import Sampler, parse_parameters
from mlagents_fast.envs.python.checks import ActionCheck, OutputCheck
from mlagents_fast.envs.python.layout import BatchLayout, BoundArrays
from mlagents_fast.envs.vector import EnvError, StepBatch, VectorEnv
from mlagents_fast.spec import ActionTuple, BehaviorSpec


def default_name(factory: Any) -> str:
    """A readable environment name for a factory: its `name` or `env_id`, else its class or function name."""
    for attribute in ("name", "env_id"):
        value = getattr(factory, attribute, None)
        if isinstance(value, str) and value:
            return value
    return str(getattr(factory, "__name__", type(factory).__name__))


def check_same_specs(
    name: str, first: tuple[Mapping[str, BehaviorSpec], Mapping[str, int]], other: Any, copy: int
) -> None:
    """Every copy must have the first copy's behaviors and agent counts (the arrays are shared)."""
    if (dict(first[0]), dict(first[1])) != (dict(other[0]), dict(other[1])):
        raise EnvError(
            f"Environment {name!r}: copy {copy} has behaviors {dict(other[0])} with agents {dict(other[1])}, "
            f"unlike copy 0 ({dict(first[0])} with agents {dict(first[1])}); all copies must match."
        )


class RowStepper(VectorEnv):
    """A VectorEnv whose copies write into rows of arrays laid out by a BatchLayout."""

    _layout: BatchLayout
    _arrays: BoundArrays

    def _bind(self, name: str, layout: BatchLayout, arrays: BoundArrays) -> None:
        self.name = name
        self.num_envs = layout.num_envs
        self._layout = layout
        self._arrays = arrays
        self._action_checks = [
            ActionCheck(name, behavior, layout, arrays, arrays.actions[behavior]) for behavior in layout.specs
        ]
        self._check_outputs = OutputCheck(name, layout, arrays)
        self._warned_parameters: set[str] = set()
        self._seed: int | None = None

    @property
    def behavior_specs(self) -> Mapping[str, BehaviorSpec]:
        return self._layout.specs

    @property
    def agents_per_env(self) -> Mapping[str, int]:
        return self._layout.agents_per_env

    def batch(self, behavior: str) -> StepBatch:
        self._check_behavior(behavior)
        return self._arrays.batches[behavior]

    def actions(self, behavior: str) -> ActionTuple:
        self._check_behavior(behavior)
        return self._arrays.actions[behavior]

    def set_actions(self, behavior: str, actions: ActionTuple) -> None:
        """Copy a policy's fresh action arrays into `actions(behavior)` after checking their shape and dtype."""
        self._check_behavior(behavior)
        index = list(self._layout.specs).index(behavior)
        self._action_checks[index].full(actions)
        target = self._arrays.actions[behavior]
        np.copyto(target.continuous, actions.continuous)
        np.copyto(target.discrete, actions.discrete)

    def _before_step(self) -> None:
        """Validate every behavior's actions and clear the done flags (copies set only the ended ones)."""
        for check in self._action_checks:
            check()
        self._arrays.flags.fill(False)

    def _parse_parameters(self, parameters: Mapping[str, Any], known: Set[str] | None) -> dict[str, Sampler]:
        """Samplers for `parameters`; warns once per name when the copies list the names they read."""
        samplers = parse_parameters(parameters)
        if known is not None:
            unknown = sorted(set(samplers) - set(known) - self._warned_parameters)
            if unknown:
                self._warned_parameters.update(unknown)
                warnings.warn(
                    f"Environment {self.name!r} does not read the environment parameters {unknown}; "
                    f"they are ignored (it reads {sorted(known)}).",
                    stacklevel=3,
                )
        return samplers

    def _remember_seed(self, seed: int | None) -> None:
        """Keep the last explicit seed: parameters (and restarted copies) are seeded from it, while
        a reset without a seed lets the copies continue their streams rather than reseeding them."""
        if seed is not None:
            self._seed = seed
