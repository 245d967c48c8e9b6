"""ML-Agents' test environments, native, made with the Python classes' constructor arguments.

`make("SimpleEnvironment", num_envs, seed=..., brain_names=["A", "B"], action_sizes=(1, 1))`
(and likewise `MemoryEnvironment`, `MultiAgentEnvironment`) takes the arguments of the
classes in `simple.py` and `multi_agent.py`, which are the plain-Python reference of these
rules (native/include/mlaf/envs/simple.h, multi_agent.h). Each brain name is one behavior:
one native VecEnv of `num_envs` copies; several brains step together as a
`CompositeVectorEnv` (behavior i reset with `behavior_seed(seed, i)`). The behavior specs
are the Python classes' own, so demonstrations recorded from either are alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mlagents_fast.envs.composite import CompositeVectorEnv
from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.testing.game import OBS_SIZE, STEP_SIZE, VAR_LEN_SIZE, VIS_OBS_SIZE, make_observation_specs
from mlagents_fast.envs.vector import VectorEnv
from mlagents_fast.spec import ActionSpec, BehaviorSpec


def simple_options(
    action_sizes: tuple[int, int] = (1, 0),
    step_size: float = STEP_SIZE,
    num_visual: int = 0,
    num_vector: int = 1,
    num_var_len: int = 0,
    vis_obs_size: tuple[int, int, int] = VIS_OBS_SIZE,
    vec_obs_size: int = OBS_SIZE,
    var_len_obs_size: tuple[int, int] = VAR_LEN_SIZE,
    goal_indices: Iterable[int] | None = None,
) -> dict[str, Any]:
    """The native options of SimpleEnvironment / MultiAgentEnvironment for the Python arguments."""
    continuous, discrete = action_sizes
    channels, height, width = vis_obs_size
    entities, features = var_len_obs_size
    return {
        "continuous_size": continuous,
        "discrete_size": discrete,
        "step_size": step_size,
        "num_vector": num_vector,
        "num_visual": num_visual,
        "num_var_len": num_var_len,
        "vec_obs_size": vec_obs_size,
        "vis_channels": channels,
        "vis_height": height,
        "vis_width": width,
        "var_len_entities": entities,
        "var_len_features": features,
        "goal_mask": sum(1 << i for i in set(goal_indices or ())),
    }


def _spec(
    action_sizes: tuple[int, int],
    num_visual: int,
    num_vector: int,
    num_var_len: int,
    vis_obs_size: tuple[int, int, int],
    vec_obs_size: int,
    var_len_obs_size: tuple[int, int],
    goal_indices: Iterable[int] | None,
) -> BehaviorSpec:
    """The behavior spec the Python class declares for the same arguments."""
    observations = make_observation_specs(
        num_vector, num_visual, num_var_len, vec_obs_size, vis_obs_size, var_len_obs_size, goal_indices
    )
    return BehaviorSpec(observations, ActionSpec(action_sizes[0], (2,) * action_sizes[1]))


def _compose(
    env_name: str,
    brain_names: Sequence[str] | None,
    spec: BehaviorSpec,
    num_envs: int,
    seed: int,
    num_threads: int,
    options: dict[str, Any],
) -> VectorEnv:
    names = list(brain_names) if brain_names is not None else [env_name]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"Environment {env_name!r}: brain_names must be distinct and not empty; got {names}.")
    envs = {
        name: NativeVectorEnv(env_name, num_envs, num_threads=num_threads, behavior=name, spec=spec, **options)
        for name in names
    }
    env: VectorEnv = envs[names[0]] if len(names) == 1 else CompositeVectorEnv(env_name, envs)
    env.reset(seed)
    return env


def make_simple(
    num_envs: int = 1,
    seed: int = 0,
    brain_names: Sequence[str] | None = None,
    step_size: float = STEP_SIZE,
    num_visual: int = 0,
    num_vector: int = 1,
    num_var_len: int = 0,
    vis_obs_size: tuple[int, int, int] = VIS_OBS_SIZE,
    vec_obs_size: int = OBS_SIZE,
    var_len_obs_size: tuple[int, int] = VAR_LEN_SIZE,
    action_sizes: tuple[int, int] = (1, 0),
    goal_indices: Iterable[int] | None = None,
    *,
    num_threads: int = 1,
) -> VectorEnv:
    """SimpleEnvironment: one agent per copy and brain name."""
    observations = (num_visual, num_vector, num_var_len, vis_obs_size, vec_obs_size, var_len_obs_size)
    goals = list(goal_indices or ())
    options = simple_options(action_sizes, step_size, *observations, goals)
    return _compose("SimpleEnvironment", brain_names, _spec(action_sizes, *observations, goals), num_envs, seed,
                    num_threads, options)  # fmt: skip


def make_memory(
    num_envs: int = 1,
    seed: int = 0,
    brain_names: Sequence[str] | None = None,
    action_sizes: tuple[int, int] = (1, 0),
    step_size: float = STEP_SIZE,
    *,
    num_show_steps: int = 2,
    num_threads: int = 1,
) -> VectorEnv:
    """MemoryEnvironment: the goal is shown for the first `num_show_steps` position updates only."""
    continuous, discrete = action_sizes
    options = {
        "continuous_size": continuous,
        "discrete_size": discrete,
        "step_size": step_size,
        "num_show_steps": num_show_steps,
    }
    spec = BehaviorSpec(make_observation_specs(), ActionSpec(continuous, (2,) * discrete))
    return _compose("MemoryEnvironment", brain_names, spec, num_envs, seed, num_threads, options)


def make_multi_agent(
    num_envs: int = 1,
    seed: int = 0,
    brain_names: Sequence[str] | None = None,
    step_size: float = STEP_SIZE,
    num_visual: int = 0,
    num_vector: int = 1,
    num_var_len: int = 0,
    vis_obs_size: tuple[int, int, int] = VIS_OBS_SIZE,
    vec_obs_size: int = OBS_SIZE,
    var_len_obs_size: tuple[int, int] = VAR_LEN_SIZE,
    action_sizes: tuple[int, int] = (1, 0),
    num_agents: int = 2,
    goal_indices: Iterable[int] | None = None,
    *,
    num_threads: int = 1,
) -> VectorEnv:
    """MultiAgentEnvironment: `num_agents` agents per copy and brain name, in one group per copy."""
    observations = (num_visual, num_vector, num_var_len, vis_obs_size, vec_obs_size, var_len_obs_size)
    goals = list(goal_indices or ())
    options = {**simple_options(action_sizes, step_size, *observations, goals), "num_agents": num_agents}
    return _compose("MultiAgentEnvironment", brain_names, _spec(action_sizes, *observations, goals), num_envs, seed,
                    num_threads, options)  # fmt: skip
