"""`make(name, ...)`: every environment mlagents-fast can run, by name.

- the built-in native environments (`Basic`, `3DBall`, `CartPole`, ...);
- `gym:<id>` for a gymnasium environment (through the shared-memory stepper or in-process);
- ML-Agents' test environments (`SimpleEnvironment`, `MemoryEnvironment`,
  `MultiAgentEnvironment`), native, with the Python classes' arguments (`brain_names`, ...);
- names registered with `register(name, maker)` (numba examples, users').
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from mlagents_fast.envs.vector import VectorEnv

Maker = Callable[..., VectorEnv]
_makers: dict[str, Maker] = {}


class UnknownEnvironmentError(ValueError):
    """A name that no registered environment answers to."""


def register(name: str, maker: Maker) -> None:
    """Make `name` available to `make`; `maker(num_envs=..., seed=..., **kwargs)` returns a VectorEnv."""
    _makers[name] = maker


def _native_test_maker(function: str) -> Maker:
    """A maker that imports the native test environments when first called, not when this module is."""

    def make_test_environment(**kwargs: Any) -> VectorEnv:
        native_testing = importlib.import_module("mlagents_fast.envs.testing.native")
        env: VectorEnv = getattr(native_testing, function)(**kwargs)
        return env

    return make_test_environment


def _register_test_environments() -> None:
    """ML-Agents' own test environments, native (one behavior named after the environment by default)."""
    register("SimpleEnvironment", _native_test_maker("make_simple"))
    register("MemoryEnvironment", _native_test_maker("make_memory"))
    register("MultiAgentEnvironment", _native_test_maker("make_multi_agent"))


def native_names() -> list[str]:
    """The built-in native environments (the compiled module is loaded on first use, not at import:
    `mlagents-learn --help` and a configuration error need none of it)."""
    from mlagents_fast.envs.native.env import native_names as names

    return names()


def registered_names() -> list[str]:
    """All names `make` accepts (gymnasium ids go through the `gym:` prefix)."""
    return sorted({*native_names(), *_makers})


def make(
    name: str,
    num_envs: int = 1,
    *,
    seed: int = 0,
    parameters: Mapping[str, Any] | None = None,
    num_areas: int = 1,
    **kwargs: Any,
) -> VectorEnv:
    """`num_envs * num_areas` copies of the environment `name`, reset with `seed`.

    `num_areas` is ML-Agents' training areas per environment instance (`--num-areas`): here an
    area is one more copy, so the environment has `num_areas` times the agents.
    `parameters` are environment parameters (constants or samplers, as in the YAML's
    `environment_parameters`); other keyword arguments go to the environment's maker
    (for native ones: `num_threads` and construction options such as GridWorld's `resolution`;
    for gymnasium ones: the process stepper's options such as `timeout_s` and the restart limits).
    """
    for what, count in (("num_envs", num_envs), ("num_areas", num_areas)):
        if count < 1:
            raise ValueError(f"{what} must be at least 1; got {count}.")
    copies = num_envs * num_areas
    if name.startswith("gym:"):
        # gymnasium is optional: its adapter is imported only when asked for.
        gym_env = importlib.import_module("mlagents_fast.envs.gym.adapter")
        env: VectorEnv = gym_env.make_gym(name[len("gym:") :], copies, seed=seed, **kwargs)
    elif name in _makers:
        env = _makers[name](num_envs=copies, seed=seed, **kwargs)
    elif name in native_names():
        from mlagents_fast.envs.native.env import NativeVectorEnv

        env = NativeVectorEnv(name, copies, seed=seed, **kwargs)
    else:
        raise UnknownEnvironmentError(
            f"There is no environment named {name!r}. Built-in and registered environments: "
            f"{', '.join(registered_names())}; gymnasium environments as 'gym:<id>' (for example 'gym:CartPole-v1')."
        )
    if parameters:
        env.set_parameters(parameters)
        env.reset(seed)
    return env


_register_test_environments()
