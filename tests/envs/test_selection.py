"""Choosing the run's environments: --env module:factory (a factory may build a VectorEnv itself
or one copy of a PythonEnv), and the environments package standing apart from the trainers."""

from __future__ import annotations

import ast
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import mlagents_fast.envs
from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.python import auto
from mlagents_fast.envs.python.process import ProcessVectorEnv
from mlagents_fast.envs.selection import EnvironmentSetupError, environments_for, make_environment, stepper_options
from mlagents_fast.envs.testing.simple import SimpleEnvironment
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


@pytest.mark.parametrize("name", ["3DBall", "Basic", "SimpleEnvironment"])
def test_num_areas_multiplies_the_copies_of_a_built_in_environment(name: str) -> None:
    """--num-areas: ML-Agents' training areas per instance; each area is one more copy here."""
    one = environments_for(None, [name], num_envs=1, seed=0, parameters={})[name]
    per_copy = one.num_agents(name)
    one.close()
    envs = environments_for(None, [name], num_envs=2, seed=0, parameters={}, num_areas=3)
    assert envs[name].num_agents(name) == 2 * 3 * per_copy
    envs[name].close()
    chosen = make_environment(name, num_envs=1, seed=0, num_areas=2)  # --env NAME
    assert chosen.num_agents(name) == 2 * per_copy
    chosen.close()


def test_num_areas_multiplies_the_copies_of_a_python_environment() -> None:
    env = make_environment(f"{__name__}:simple_copy", num_envs=2, seed=0, num_areas=2)
    assert env.num_agents("Simple") == 4
    env.close()


def test_process_options_reach_the_process_stepper(monkeypatch: pytest.MonkeyPatch) -> None:
    """ML-Agents' restart limits and timeout_wait reach the worker processes of a Python environment."""
    real = auto.make_stepper
    made: list[ProcessVectorEnv] = []

    def in_processes(factory: Any, num_envs: int, **options: Any) -> Any:
        env = real(factory, num_envs, mode="process", num_workers=1, **options)  # whatever auto would pick
        made.append(env)
        return env

    monkeypatch.setattr(auto, "make_stepper", in_processes)
    options = stepper_options(timeout_wait=7, max_lifetime_restarts=3, restarts_rate_limit_n=-1,
                              restarts_rate_limit_period_s=30)  # fmt: skip
    envs = environments_for(f"{__name__}:simple_copy", [], 2, 0, {}, num_areas=2, process_options=options)
    try:
        (env,) = made
        assert envs == {"Simple": env} and env.num_envs == 4
        limits = env._restarts
        assert (env._timeout_s, limits.max_lifetime_restarts, limits.restarts_rate_limit_n,
                limits.restarts_rate_limit_period_s) == (7.0, 3, -1, 30.0)  # fmt: skip
    finally:
        for made_env in made:
            made_env.close()


def test_process_options_reach_a_gymnasium_environment() -> None:
    pytest.importorskip("gymnasium")
    options = stepper_options(timeout_wait=9, max_lifetime_restarts=-1)
    env = make_environment("gym:CartPole-v1", 1, 0, num_areas=2, process_options=options, mode="process",
                           num_workers=1)  # fmt: skip
    try:
        assert isinstance(env, ProcessVectorEnv) and env.num_agents("CartPole-v1") == 2
        assert (env._timeout_s, env._restarts.max_lifetime_restarts) == (9.0, -1)
    finally:
        env.close()


def test_a_factory_building_its_own_vector_env_says_it_is_not_copied(caplog: pytest.LogCaptureFixture) -> None:
    env = make_environment(f"{__name__}:basic_copies", num_envs=2, seed=0, num_areas=2)
    assert env.num_agents("Basic") == 3
    assert "builds its own VectorEnv, so it is not copied 4 times" in caplog.text
