"""Which environments a run trains on, from `--env` (or `env_settings.env_path`) and the behaviors.

- no `--env`: every behavior named after a built-in environment, or one of its behaviors
  (WallJump's SmallWallJump and BigWallJump), trains on a copy of it, one per environment
  (so `mlagents-learn config/ppo/3DBall.yaml` just works);
- a built-in or registered name, `gym:<id>`: that environment;
- `module:factory`: a Python callable returning a VectorEnv, or a PythonEnv class/factory
  (then run in-process or in worker processes, whichever is faster for it);
- a Unity build (a path) or `editor`: Unity processes over ML-Agents' protocol (envs/unity/),
  `--num-envs` players, or the Editor on port 5004; with no `--env` and no behavior named after
  a built-in environment, the Editor too, as mlagents-learn does.

Each environment is made with `num_envs * num_areas` copies (ML-Agents' `--num-envs` instances
of `--num-areas` training areas each: here every area is one copy). Python and gymnasium
environments run in worker processes take ML-Agents' restart limits and `timeout_wait` as the
process stepper's options (`stepper_options`); the built-in environments step in this process.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlagents_fast.envs import registry
from mlagents_fast.envs.python.env import PythonEnv
from mlagents_fast.envs.teams import TeamsVectorEnv
from mlagents_fast.envs.vector import VectorEnv

if TYPE_CHECKING:  # (the Unity bridge, with gRPC, is imported only when a run uses it)
    from mlagents_fast.envs.unity.launch import UnityLaunch

UNITY_SUFFIXES = (".x86_64", ".x86", ".exe", ".app")
EDITOR = "editor"
logger = logging.getLogger(__name__)


class EnvironmentSetupError(ValueError):
    """The run's environment cannot be made (one-paragraph message)."""


def stepper_options(
    timeout_wait: float = 60,
    max_lifetime_restarts: int = 10,
    restarts_rate_limit_n: int = 1,
    restarts_rate_limit_period_s: float = 60,
) -> dict[str, Any]:
    """ML-Agents' env_settings for crashed and hung environments as the process stepper's options:
    `timeout_wait` is how long the parent waits for a worker to start, reset or step before it
    treats the worker as hung (restarted within the limits, else an error)."""
    return {
        "timeout_s": float(timeout_wait),
        "max_lifetime_restarts": int(max_lifetime_restarts),
        "restarts_rate_limit_n": int(restarts_rate_limit_n),
        "restarts_rate_limit_period_s": float(restarts_rate_limit_period_s),
    }


def _from_module(spec: str, num_envs: int, seed: int, process_options: Mapping[str, Any]) -> VectorEnv:
    module_name, _, attribute = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise EnvironmentSetupError(
            f"--env {spec!r}: could not load {attribute!r} from module {module_name!r} ({error}). "
            "Give a Python environment as module:factory, importable from the current directory."
        ) from None
    if not (isinstance(factory, type) and issubclass(factory, PythonEnv)):
        made = factory()
        if isinstance(made, VectorEnv):  # the factory builds the batched environment itself
            if num_envs > 1:
                logger.warning(f"--env {spec!r} builds its own VectorEnv, so it is not copied {num_envs} times for "
                               "--num-envs / --num-areas; it trains with the copies it made.")  # fmt: skip
            made.reset(seed)
            return made
        if not isinstance(made, PythonEnv):
            raise EnvironmentSetupError(
                f"--env {spec!r}: {attribute} returned {type(made).__name__}; expected a VectorEnv, or one copy "
                "of a PythonEnv (mlagents_fast.envs.python.env)."
            )
        made.close()  # it built one copy; the stepper builds its own
    from mlagents_fast.envs.python.auto import make_stepper  # Python environments: in-process or processes

    env: VectorEnv = make_stepper(factory, num_envs, **process_options)
    try:
        env.reset(seed)
    except BaseException:
        env.close()
        raise
    return env


def _from_gymnasium(name: str, num_envs: int, seed: int, **options: Any) -> VectorEnv:
    try:
        import gymnasium

        from mlagents_fast.envs.gym.adapter import UnsupportedSpaceError
    except ImportError:
        raise EnvironmentSetupError(
            f"--env {name!r}: gymnasium is not installed; `pip install gymnasium` to train on its environments."
        ) from None
    try:
        return registry.make(name, num_envs, seed=seed, **options)
    except UnsupportedSpaceError as error:
        raise EnvironmentSetupError(f"--env {name!r}: {error}") from None
    except gymnasium.error.Error as error:  # unknown or malformed id, a missing extra, ...
        raise EnvironmentSetupError(
            f"--env {name!r}: gymnasium could not make {name[len('gym:') :]!r} ({error}). Give a registered "
            "gymnasium id after 'gym:', for example 'gym:CartPole-v1'."
        ) from None


def make_environment(
    name: str,
    num_envs: int,
    seed: int,
    *,
    num_areas: int = 1,
    process_options: Mapping[str, Any] | None = None,
    unity: UnityLaunch | None = None,
    **options: Any,
) -> VectorEnv:
    """One environment by the name given to --env, with `num_envs * num_areas` copies.

    `process_options` (see `stepper_options`) go to the process stepper of Python and gymnasium
    environments; `unity` says how to start Unity players or reach the Editor; other keyword
    arguments go to the environment's maker."""
    process_options = dict(process_options or {})
    if name == EDITOR or _names_a_build(name):
        return _unity(name, num_envs, seed, num_areas, unity)
    if name.startswith("gym:"):
        return _from_gymnasium(name, num_envs, seed, num_areas=num_areas, **process_options, **options)
    if name in registry.registered_names():
        return registry.make(name, num_envs, seed=seed, num_areas=num_areas, **options)
    if ":" in name:
        return _from_module(name, num_envs * num_areas, seed, process_options)
    raise EnvironmentSetupError(
        f"--env {name!r} is not a built-in environment, 'gym:<id>', 'module:factory', 'editor' or the path of a "
        f"Unity build. Built-in environments: {', '.join(registry.registered_names())}."
    )


def trains_unity(env_path: str | None, behaviors: list[str]) -> bool:
    """Whether a run with this --env and these behaviors trains on Unity (a build or the Editor)."""
    if env_path is None:
        return bool(behaviors) and not any(registry.environment_of(b) is not None for b in behaviors)
    return env_path == EDITOR or _names_a_build(env_path)


def _names_a_build(name: str) -> bool:
    """A path (a separator, an existing file, or a player's extension) rather than a registered name."""
    if name in registry.registered_names() or name.startswith("gym:"):
        return False
    return name.endswith(UNITY_SUFFIXES) or Path(name).exists() or "/" in name or "\\" in name


def _unity(name: str, num_envs: int, seed: int, num_areas: int, unity: UnityLaunch | None) -> VectorEnv:
    from mlagents_fast.envs.unity.connection import UnityCommunicationError
    from mlagents_fast.envs.unity.launch import LaunchedUnityEnv, UnityLaunch

    launch = dataclasses.replace(unity or UnityLaunch(name), env_path=name, num_envs=1 if name == EDITOR else num_envs,
                                 seed=seed, num_areas=num_areas)  # fmt: skip
    try:
        return LaunchedUnityEnv(launch)
    except UnityCommunicationError as error:
        raise EnvironmentSetupError(str(error)) from None


def environments_for(
    env_path: str | None,
    behaviors: list[str],
    num_envs: int,
    seed: int,
    parameters: Mapping[str, Any],
    *,
    num_areas: int = 1,
    process_options: Mapping[str, Any] | None = None,
    unity: UnityLaunch | None = None,
) -> dict[str, VectorEnv]:
    """Behavior name -> the environment it trains on (several behaviors may share one), each made
    with `num_envs * num_areas` copies; `process_options` and `unity` as for `make_environment`."""
    made: dict[str, Any] = {"num_areas": num_areas, "process_options": process_options, "unity": unity}
    if env_path is None and trains_unity(env_path, behaviors):
        env_path = EDITOR  # no behavior names a built-in environment: the Editor, as mlagents-learn waits for it
    if env_path is not None:
        env = TeamsVectorEnv.wrap(make_environment(env_path, num_envs, seed, **made))
        envs = {name: env for name in env.behavior_specs}
    else:
        known = [b for b in behaviors if registry.environment_of(b) is not None]
        unknown = [b for b in behaviors if b not in known]
        if not known:
            which = (f"{', '.join(map(repr, unknown))} {'matches' if len(unknown) == 1 else 'match'} none"
                     if unknown else "the configuration lists no behavior")  # fmt: skip
            raise EnvironmentSetupError(
                f"No --env was given, so each behavior trains on the built-in environment of the same name (or "
                f"whose agents have it, as WallJump's SmallWallJump and BigWallJump); "
                f"{which}. Built-in environments: {', '.join(registry.registered_names())}. Pass --env to "
                "choose one."
            )
        if unknown:  # as in ML-Agents, settings for behaviors no agent has are simply unused
            untrained = "that behavior is" if len(unknown) == 1 else "those behaviors are"
            logger.warning(f"No built-in environment is named {', '.join(map(repr, unknown))}; without --env "
                           f"{untrained} not trained.")  # fmt: skip
        envs = {}
        environments = dict.fromkeys(registry.environment_of(b) for b in known)  # each once, in order
        logger.info(f"No --env given: {', '.join(known)} {'trains' if len(known) == 1 else 'train'} on the built-in "
                    f"environment{'s' if len(environments) > 1 else ''} {', '.join(map(str, environments))}; to train "
                    "in the Unity Editor instead, pass --env=editor and press Play.")  # fmt: skip
        for offset, name in enumerate(environments):
            assert name is not None
            env = TeamsVectorEnv.wrap(make_environment(name, num_envs, seed + offset, **made))
            envs.update({behavior: env for behavior in env.behavior_specs})
    if parameters:
        for env in {id(e): e for e in envs.values()}.values():
            env.set_parameters(parameters)
            env.reset(seed)
    return envs
