"""`make(name, ...)`: every environment mlagents-fast can run, by name.

- the built-in native environments (`Basic`, `3DBall`, `CartPole`, ...; `WallJump` with its two
  behaviors SmallWallJump and BigWallJump);
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
_provided_by: dict[str, str] = {}  # behavior -> the environment whose agents have it


class UnknownEnvironmentError(ValueError):
    """A name that no registered environment answers to."""


def register(name: str, maker: Maker, behaviors: tuple[str, ...] = ()) -> None:
    """Make `name` available to `make`; `maker(num_envs=..., seed=..., **kwargs)` returns a VectorEnv.

    `behaviors` names its behaviors when they are not `name` itself, so that a configuration
    naming them trains on it without `--env` (WallJump's SmallWallJump and BigWallJump).
    """
    _makers[name] = maker
    _provided_by.update(dict.fromkeys(behaviors, name))


def environment_of(behavior: str) -> str | None:
    """The built-in or registered environment whose agents have `behavior`, or None."""
    if behavior in _provided_by:
        return _provided_by[behavior]
    return behavior if behavior in registered_names() else None


def _lazy_maker(module: str, function: str) -> Maker:
    """A maker that imports `module` when first called, not when this module is."""

    def make_lazily(**kwargs: Any) -> VectorEnv:
        env: VectorEnv = getattr(importlib.import_module(module), function)(**kwargs)
        return env

    return make_lazily


def _register_multi_behavior_environments() -> None:
    """ML-Agents' own test environments, native (one behavior named after the environment by default),
    and the built-in environments with several behaviors."""
    testing = "mlagents_fast.envs.testing.native"
    register("SimpleEnvironment", _lazy_maker(testing, "make_simple"))
    register("MemoryEnvironment", _lazy_maker(testing, "make_memory"))
    register("MultiAgentEnvironment", _lazy_maker(testing, "make_multi_agent"))
    register("WallJump", _lazy_maker("mlagents_fast.envs.native.walljump", "make_wall_jump"),
             behaviors=("SmallWallJump", "BigWallJump"))  # fmt: skip


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


_register_multi_behavior_environments()
