"""Choosing the run's environments: --env module:factory (a factory may build a VectorEnv itself
or one copy of a PythonEnv), and the environments package standing apart from the trainers."""

from __future__ import annotations

import ast
from functools import partial
from pathlib import Path

import pytest

import mlagents_fast.envs
from mlagents_fast.envs.native import NativeVectorEnv
from mlagents_fast.envs.selection import EnvironmentSetupError, make_environment
from mlagents_fast.envs.testing import SimpleEnvironment
from mlagents_fast.envs.vector import VectorEnv


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


def test_environments_do_not_import_trainers() -> None:
    """Environments are chosen and built without the trainers (and so without torch)."""
    offenders = []
    for path in sorted(Path(mlagents_fast.envs.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            offenders += [f"{path.name}: {name}" for name in names if name.startswith("mlagents_fast.trainers")]
    assert offenders == []
