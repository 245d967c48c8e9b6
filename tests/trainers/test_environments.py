"""--env module:factory: a factory may build a VectorEnv itself or one copy of a PythonEnv."""

from __future__ import annotations

from functools import partial

import pytest

from mlagents_fast.envs.native import NativeVectorEnv
from mlagents_fast.envs.testing import SimpleEnvironment
from mlagents_fast.envs.vector import VectorEnv
from mlagents_fast.trainers.environments import EnvironmentSetupError, make_environment


def basic_copies() -> VectorEnv:
    return NativeVectorEnv("Basic", 3)


simple_copy = partial(SimpleEnvironment, ["Simple"])


def not_an_environment() -> int:
    return 7


def test_factory_returning_a_vector_env() -> None:
    env = make_environment(f"{__name__}:basic_copies", num_envs=1, seed=0)
    assert env.num_agents("Basic") == 3


def test_factory_returning_one_python_copy() -> None:
    env = make_environment(f"{__name__}:simple_copy", num_envs=2, seed=0)
    assert env.num_agents("Simple") == 2
    env.close()


def test_factory_returning_something_else() -> None:
    with pytest.raises(EnvironmentSetupError, match="returned int; expected a VectorEnv"):
        make_environment(f"{__name__}:not_an_environment", num_envs=1, seed=0)
