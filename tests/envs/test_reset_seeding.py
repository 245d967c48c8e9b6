"""`reset()` without a seed continues the random streams seeded at construction (or by the
last `reset(seed)`), on every VectorEnv backend: it must not reseed with 0, which made runs
with different seeds see the same episodes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from mlagents_fast.envs.base_env import BaseEnv
from mlagents_fast.envs.gym.adapter import make_gym
from mlagents_fast.envs.numba.cartpole import make_numba_cartpole
from mlagents_fast.envs.parameters import EnvironmentParameters
from mlagents_fast.envs.python.auto import make_stepper
from mlagents_fast.envs.python.env import PythonEnv
from mlagents_fast.envs.registry import make
from mlagents_fast.envs.vector import StepBatch, VectorEnv
from mlagents_fast.spec import ActionSpec, ActionTuple, BehaviorSpec, ObservationSpec

Maker = Callable[[int], VectorEnv]


def _registered(name: str, num_envs: int, **kwargs: Any) -> Maker:
    def build(seed: int) -> VectorEnv:
        return make(name, num_envs, seed=seed, **kwargs)

    return build


# Every backend with random episode starts (Basic always starts in the middle: it has none).
MAKERS: dict[str, Maker] = {
    "3DBall": _registered("3DBall", 2),
    "3DBallHard": _registered("3DBallHard", 2),
    "CartPole": _registered("CartPole", 2),
    "GridWorld": _registered("GridWorld", 1),
    "SimpleEnvironment": _registered("SimpleEnvironment", 4),
    "MemoryEnvironment": _registered("MemoryEnvironment", 4),
    "MultiAgentEnvironment": _registered("MultiAgentEnvironment", 2),
    "composite": _registered("SimpleEnvironment", 4, brain_names=["A", "B"]),
    "gym-inprocess": lambda seed: make_gym("CartPole-v1", 2, seed=seed, mode="inprocess"),
    "gym-process": lambda seed: make_gym("CartPole-v1", 2, seed=seed, mode="process", num_workers=1),
    "numba": lambda seed: make_numba_cartpole(2, seed=seed),
}


def _observations(env: VectorEnv) -> NDArray[np.float32]:
    rows = [o.reshape(len(o), -1) for name in env.behavior_specs for o in env.batch(name).obs]
    return np.concatenate(rows, axis=1, dtype=np.float32)


def _episode_starts(make_env: Maker, seed: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """The observations after construction with `seed`, and after a further `reset()`."""
    env = make_env(seed)
    try:
        built = _observations(env)
        env.reset()
        return built, _observations(env)
    finally:
        env.close()


@pytest.mark.parametrize("make_env", MAKERS.values(), ids=MAKERS.keys())
def test_seedless_reset_keeps_the_seed(make_env: Maker) -> None:
    built, after = _episode_starts(make_env, 1)
    _, same = _episode_starts(make_env, 1)
    _, other = _episode_starts(make_env, 2)
    np.testing.assert_array_equal(after, same)
    assert not np.array_equal(after, other), "two seeds gave the same episodes after reset()"
    # The stream goes on: reset() starts new episodes rather than repeating the first ones.
    assert not np.array_equal(after, built)


def test_base_env_reset_keeps_the_seed() -> None:
    def starts(seed: int) -> NDArray[np.float32]:
        env = BaseEnv(make("3DBall", 1, seed=seed))
        env.reset()
        decisions, _ = env.get_steps("3DBall")
        return np.array(decisions.obs[0], np.float32)

    np.testing.assert_array_equal(starts(1), starts(1))
    assert not np.array_equal(starts(1), starts(2))


class ParameterEnv(PythonEnv):
    """Observes the value of its environment parameter "x", drawn at each episode start."""

    parameter_names = ("x",)

    def __init__(self) -> None:
        self._spec = BehaviorSpec((ObservationSpec.vector(1),), ActionSpec.create_continuous(1))
        self._parameters: EnvironmentParameters | None = None

    @property
    def behavior_specs(self) -> Mapping[str, BehaviorSpec]:
        return {"P": self._spec}

    @property
    def agents_per_env(self) -> Mapping[str, int]:
        return {"P": 1}

    def reset(self, out: Mapping[str, StepBatch], seed: int | None = None) -> None:
        x = 0.0 if self._parameters is None else self._parameters.get_with_default("x", 0.0)
        out["P"].obs[0][:] = x

    def step(self, actions: Mapping[str, ActionTuple], out: Mapping[str, StepBatch]) -> None:
        out["P"].reward[:] = 0.0

    def set_parameters(self, parameters: EnvironmentParameters) -> None:
        self._parameters = parameters


@dataclass(frozen=True)
class ParameterFactory:
    """Picklable, for the process stepper's workers."""

    name: str = "Parameters"

    def __call__(self) -> ParameterEnv:
        return ParameterEnv()


UNIFORM = {"x": {"sampler_type": "uniform", "sampler_parameters": {"min_value": 0.0, "max_value": 1.0}}}


@pytest.fixture
def closing() -> Iterator[list[VectorEnv]]:
    made: list[VectorEnv] = []
    yield made
    for env in made:
        env.close()


@pytest.mark.parametrize("mode", ["inprocess", "process"])
def test_parameters_set_after_a_seedless_reset_follow_the_seed(mode: str, closing: list[VectorEnv]) -> None:
    # Samplers without their own seed are seeded from the environment's seed: a reset()
    # between make and set_parameters must not turn it into 0.
    def drawn(seed: int) -> NDArray[np.float32]:
        env = make_stepper(ParameterFactory(), 2, mode, num_workers=1)
        closing.append(env)
        env.reset(seed)
        env.reset()
        env.set_parameters(UNIFORM)
        env.reset()
        return np.array(env.batch("P").obs[0], np.float32)

    np.testing.assert_array_equal(drawn(1), drawn(1))
    assert not np.array_equal(drawn(1), drawn(2))
