"""Several single-behavior VectorEnvs stepped together as one multi-behavior environment."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.native.rng import mix
from mlagents_fast.envs.vector import StepBatch, VectorEnv
from mlagents_fast.spec import ActionTuple, BehaviorSpec


def behavior_seed(seed: int, index: int) -> int:
    """The seed of the `index`-th behavior of a composite reset with `seed` (the first one keeps it)."""
    return seed if index == 0 else mix(seed, index)


class CompositeVectorEnv(VectorEnv):
    """`envs[behavior]` holds that behavior; all have `num_envs` copies and step together.

    `reset(seed)` resets the i-th environment with `behavior_seed(seed, i)`, so behaviors
    do not repeat each other's episodes; `reset()` lets each continue its own streams.
    """

    def __init__(self, name: str, envs: Mapping[str, VectorEnv]) -> None:
        if not envs:
            raise ValueError(f"Environment {name!r} needs at least one behavior.")
        self.name = name
        self._envs = dict(envs)
        counts = {env.num_envs for env in self._envs.values()}
        if len(counts) != 1:
            raise ValueError(f"Environment {name!r}: its behaviors have different numbers of copies {sorted(counts)}.")
        self.num_envs = counts.pop()
        self._specs = {behavior: env.behavior_specs[behavior] for behavior, env in self._envs.items()}

    @property
    def behavior_specs(self) -> Mapping[str, BehaviorSpec]:
        return self._specs

    def batch(self, behavior: str) -> StepBatch:
        self._check_behavior(behavior)
        return self._envs[behavior].batch(behavior)

    def actions(self, behavior: str) -> ActionTuple:
        self._check_behavior(behavior)
        return self._envs[behavior].actions(behavior)

    def teams(self, behavior: str) -> NDArray[np.int32] | None:
        self._check_behavior(behavior)
        return self._envs[behavior].teams(behavior)

    def reset(self, seed: int | None = None) -> None:
        for i, env in enumerate(self._envs.values()):
            env.reset(None if seed is None else behavior_seed(seed, i))

    def step(self) -> None:
        for env in self._envs.values():
            env.step()

    def set_parameters(self, parameters: Mapping[str, Any]) -> None:
        envs = list(self._envs.values())
        envs[0].set_parameters(parameters)  # warns once about names it does not read
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for env in envs[1:]:
                env.set_parameters(parameters)

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
