"""gymnasium environments as Python environments: one copy = one gymnasium env = one agent.

Spaces map to ML-Agents' specs:
- observation `Box` -> one vector observation (flattened, float32); a 3-D `uint8` Box
  (height, width, channels) -> one visual observation (channels, height, width), kept as uint8
  (its pixels stand for [0, 1]; the network scales them on the device);
- action `Box` -> continuous actions (flattened), passed through unchanged unless
  `rescale_actions` maps [-1, 1] onto the Box bounds; `Discrete(n)` -> one branch of n;
  `MultiDiscrete` -> one branch per entry.
Other spaces raise UnsupportedSpaceError (a ValueError) naming the environment and the space.

The behavior is named after the env id ("CartPole-v1"). An episode that ends is followed at
once by the next (`env.reset()` without a seed, as gymnasium's vector envs do), with the
final observation in `terminal_obs`; `terminated` wins when gymnasium reports both flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.python.env import PythonEnv
from mlagents_fast.envs.vector import StepBatch, VectorEnv
from mlagents_fast.spec import ActionSpec, ActionTuple, BehaviorSpec, ObservationSpec


class UnsupportedSpaceError(ValueError):
    """A gymnasium observation or action space with no ML-Agents counterpart."""


def observation_spec(env_id: str, space: Any) -> tuple[ObservationSpec, bool]:
    """The observation spec for a gymnasium space, and whether it is an image (HWC uint8 -> CHW uint8,
    its pixels standing for [0, 1])."""
    if isinstance(space, gymnasium.spaces.Box):
        if len(space.shape) == 3 and space.dtype == np.uint8:
            height, width, channels = space.shape
            return ObservationSpec.visual(channels, height, width, name="image", dtype="uint8"), True
        return ObservationSpec.vector(int(np.prod(space.shape, dtype=np.int64)), name="obs"), False
    raise UnsupportedSpaceError(
        f"Environment {env_id!r}: observation space {space} is not supported; use a Box "
        "(a vector of any shape, or an image of shape (height, width, channels) and dtype uint8)."
    )


def action_spec(env_id: str, space: Any) -> ActionSpec:
    if isinstance(space, gymnasium.spaces.Box):
        return ActionSpec.create_continuous(int(np.prod(space.shape, dtype=np.int64)))
    if isinstance(space, gymnasium.spaces.Discrete):
        return ActionSpec.create_discrete((int(space.n),))
    if isinstance(space, gymnasium.spaces.MultiDiscrete) and space.nvec.ndim == 1:
        return ActionSpec.create_discrete(tuple(int(n) for n in space.nvec))
    raise UnsupportedSpaceError(
        f"Environment {env_id!r}: action space {space} is not supported; use a Box, a Discrete "
        "or a one-dimensional MultiDiscrete."
    )


class GymEnv(PythonEnv):
    """One gymnasium environment (made from `env` if it is an id, else used as given)."""

    def __init__(self, env: str | gymnasium.Env[Any, Any], rescale_actions: bool = False, **make_kwargs: Any) -> None:
        self.env: gymnasium.Env[Any, Any] = gymnasium.make(env, **make_kwargs) if isinstance(env, str) else env
        spec = self.env.spec
        self.name = env if isinstance(env, str) else (spec.id if spec is not None else type(env).__name__)
        obs_spec, self._image = observation_spec(self.name, self.env.observation_space)
        # A one-dimensional Box is copied as it comes; other shapes are flattened first.
        self._flat = not self._image and len(self.env.observation_space.shape or ()) == 1
        space: Any = self.env.action_space
        self._specs = {self.name: BehaviorSpec((obs_spec,), action_spec(self.name, space))}
        self._space = space
        self._box_action = isinstance(space, gymnasium.spaces.Box)
        self._discrete = isinstance(space, gymnasium.spaces.Discrete)
        self._start: Any = int(space.start) if self._discrete else getattr(space, "start", None)
        self._scale: tuple[NDArray[Any], NDArray[Any]] | None = None
        if rescale_actions and self._box_action:
            low, high = np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)
            if not (np.isfinite(low).all() and np.isfinite(high).all()):
                raise ValueError(f"Environment {self.name!r}: rescale_actions needs finite Box bounds; got {space}.")
            self._scale = ((high - low) / 2.0, (high + low) / 2.0)
        self._return = 0.0
        self._length = 0
        self._ended = False
        self._bound_actions: Any = None
        self._bound_out: Any = None

    @property
    def behavior_specs(self) -> Mapping[str, BehaviorSpec]:
        return self._specs

    @property
    def agents_per_env(self) -> Mapping[str, int]:
        return {self.name: 1}

    def _bind(self, actions: Mapping[str, ActionTuple] | None, out: Mapping[str, StepBatch]) -> None:
        # The stepper passes the same view objects on every call: look the rows up once.
        batch = out[self.name]
        self._obs, self._terminal = batch.obs[0][0], batch.terminal_obs[0][0]
        self._reward, self._terminated, self._truncated = batch.reward, batch.terminated, batch.truncated
        self._episode_return, self._episode_length = batch.episode_return, batch.episode_length
        if actions is not None:
            self._continuous = actions[self.name].continuous[0]
            self._discrete_row = actions[self.name].discrete[0]
            self._bound_actions, self._bound_out = actions, out

    def _write_obs(self, obs: Any, row: NDArray[Any]) -> None:
        if self._image:  # the bytes as they are, channel-first
            np.copyto(row, np.transpose(obs, (2, 0, 1)))
        elif self._flat:
            row[...] = obs
        else:
            row[:] = np.reshape(obs, -1)

    def _action(self) -> Any:
        if self._discrete:
            return self._discrete_row.item(0) + self._start
        if self._box_action:
            action = self._continuous.astype(np.float64 if self._scale else self._space.dtype)
            if self._scale is not None:
                action = (action * self._scale[0] + self._scale[1]).astype(self._space.dtype)
            return action.reshape(self._space.shape)
        return self._discrete_row.astype(self._space.dtype) + self._start

    def reset(self, out: Mapping[str, StepBatch], seed: int | None = None) -> None:
        self._bind(None, out)
        obs, _ = self.env.reset(seed=seed)
        self._write_obs(obs, self._obs)
        self._reward[0] = 0.0
        self._terminated[0] = self._truncated[0] = False
        self._ended = False
        self._return, self._length = 0.0, 0

    def step(self, actions: Mapping[str, ActionTuple], out: Mapping[str, StepBatch]) -> None:
        # The hot path of every Python stepper running gymnasium: keep it to a few attribute reads.
        if actions is not self._bound_actions or out is not self._bound_out:
            self._bind(actions, out)
        action = self._discrete_row.item(0) + self._start if self._discrete else self._action()
        obs, reward, terminated, truncated, _ = self.env.step(action)
        self._reward[0] = reward
        self._return += float(reward)
        self._length += 1
        if terminated or truncated:
            self._end_episode(obs, bool(terminated))
            obs, _ = self.env.reset()
        elif self._ended:
            self._terminated[0] = self._truncated[0] = self._ended = False
        if self._flat:
            self._obs[...] = obs  # an Ellipsis index is the cheapest numpy assignment
        else:
            self._write_obs(obs, self._obs)

    def _end_episode(self, final_obs: Any, terminated: bool) -> None:
        self._write_obs(final_obs, self._terminal)
        self._terminated[0] = terminated
        self._truncated[0] = not terminated
        self._ended = True
        self._episode_return[0] = self._return
        self._episode_length[0] = self._length
        self._return, self._length = 0.0, 0

    def close(self) -> None:
        self.env.close()


@dataclass(frozen=True)
class GymFactory:
    """Builds a GymEnv for `env_id`; picklable, so worker processes can build their own copies."""

    env_id: str
    rescale_actions: bool = False
    make_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.env_id

    def __call__(self) -> GymEnv:
        return GymEnv(self.env_id, rescale_actions=self.rescale_actions, **self.make_kwargs)


def make_gym(env_id: str, num_envs: int, seed: int | None = None, mode: str = "auto", **kwargs: Any) -> VectorEnv:
    """`num_envs` copies of gymnasium's `env_id`, reset with `seed` (copy i gets seed + i).

    `mode`: "inprocess", "process" (worker processes over shared memory), or "auto" (time one
    copy's step and pick the faster; see `mlagents_fast.envs.python.auto`). `rescale_actions` and the
    process stepper's options (`num_workers`, `timeout_s`, restart limits, `start_method`) pass
    through; other keyword arguments go to `gymnasium.make`.
    """
    from mlagents_fast.envs.python.auto import make_stepper
    from mlagents_fast.envs.python.process import ProcessVectorEnv

    stepper_options = {key: kwargs.pop(key) for key in ProcessVectorEnv.OPTIONS if key in kwargs}
    factory = GymFactory(env_id, bool(kwargs.pop("rescale_actions", False)), kwargs)
    env = make_stepper(factory, num_envs, mode, name=env_id, **stepper_options)
    try:
        env.reset(seed)
    except BaseException:
        env.close()
        raise
    return env
