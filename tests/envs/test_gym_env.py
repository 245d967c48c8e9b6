"""gymnasium environments through the Python steppers: spaces, parity with gymnasium, episode ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gymnasium
import numpy as np
import pytest

from mlagents_fast.envs.gym.adapter import GymEnv, GymFactory, make_gym
from mlagents_fast.envs.python.env import EnvFactory
from mlagents_fast.envs.python.inprocess import InProcessVectorEnv
from mlagents_fast.envs.python.process import ProcessVectorEnv
from mlagents_fast.envs.python.stepper import RowStepper
from mlagents_fast.envs.vector import EnvError, VectorEnv
from mlagents_fast.spec import ActionSpec, ObservationSpec

KINDS = ["inprocess", "process"]
CARTPOLE = "CartPole-v1"


class GridEnv(gymnasium.Env[Any, Any]):
    """A (2, 3) float64 observation and MultiDiscrete([3, 4]) actions; reward = 10 * a0 + a1."""

    observation_space = gymnasium.spaces.Box(-1.0, 1.0, (2, 3), np.float64)
    action_space = gymnasium.spaces.MultiDiscrete([3, 4])

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        return np.arange(6.0).reshape(2, 3) / 10, {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        return np.full((2, 3), 0.5), float(10 * action[0] + action[1]), False, False, {}


class CameraEnv(gymnasium.Env[Any, Any]):
    """An HxWxC uint8 image observation and Box(-2, 2, (2,)) actions; reward = the first action."""

    observation_space = gymnasium.spaces.Box(0, 255, (4, 5, 3), np.uint8)
    action_space = gymnasium.spaces.Box(-2.0, 2.0, (2,), np.float32)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        image = np.zeros((4, 5, 3), np.uint8)
        image[..., 1] = 255
        image[0, 0, 2] = 51
        return image, {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        return self.reset()[0], float(action[0]), False, False, {}


class NanEnv(gymnasium.Env[Any, Any]):
    """Returns a NaN observation on its second step."""

    observation_space = gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gymnasium.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self.steps = 0
        return np.zeros(2, np.float32), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self.steps += 1
        obs = np.full(2, np.nan if self.steps == 2 else 0.0, np.float32)
        return obs, 0.0, False, False, {}


class DictEnv(NanEnv):
    observation_space = gymnasium.spaces.Dict({"a": gymnasium.spaces.Discrete(2)})  # type: ignore[assignment]


class TupleActionEnv(NanEnv):
    action_space = gymnasium.spaces.Tuple((gymnasium.spaces.Discrete(2),))  # type: ignore[assignment]


def grid() -> GymEnv:
    return GymEnv(GridEnv())


def camera() -> GymEnv:
    return GymEnv(CameraEnv(), rescale_actions=True)


def nan() -> GymEnv:
    return GymEnv(NanEnv())


@pytest.fixture
def made() -> Iterator[list[VectorEnv]]:
    envs: list[VectorEnv] = []
    yield envs
    for env in envs:
        env.close()


def stepper(kind: str, factory: EnvFactory, num_envs: int, made: list[VectorEnv]) -> RowStepper:
    env: RowStepper
    if kind == "inprocess":
        env = InProcessVectorEnv(factory, num_envs)
    else:
        env = ProcessVectorEnv(factory, num_envs, num_workers=2)
    made.append(env)
    return env


def test_spaces_map_to_specs() -> None:
    cartpole = GymEnv(CARTPOLE)
    assert cartpole.behavior_specs[CARTPOLE].observation_specs == (ObservationSpec.vector(4, name="obs"),)
    assert cartpole.behavior_specs[CARTPOLE].action_spec == ActionSpec.create_discrete((2,))
    assert cartpole.agents_per_env == {CARTPOLE: 1}
    spec = grid().behavior_specs["GridEnv"]
    assert spec.observation_specs[0].shape == (6,) and spec.action_spec == ActionSpec.create_discrete((3, 4))
    spec = camera().behavior_specs["CameraEnv"]
    assert spec.observation_specs[0] == ObservationSpec.visual(3, 4, 5, name="image", dtype="uint8")
    assert spec.action_spec == ActionSpec.create_continuous(2)
    assert GymEnv("Pendulum-v1").behavior_specs["Pendulum-v1"].action_spec == ActionSpec.create_continuous(1)


@pytest.mark.parametrize(
    "env, message",
    [
        (DictEnv(), r"'DictEnv': observation space Dict\('a': Discrete\(2\)\) is not supported"),
        (TupleActionEnv(), r"'TupleActionEnv': action space Tuple\(Discrete\(2\)\) is not supported"),
    ],
)
def test_unsupported_spaces_name_the_env_and_the_space(env: gymnasium.Env[Any, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GymEnv(env)


@pytest.mark.parametrize("kind", KINDS)
def test_matches_gymnasium_across_auto_resets(kind: str, made: list[VectorEnv]) -> None:
    env = stepper(kind, GymFactory(CARTPOLE), 2, made)
    assert env.behavior_specs[CARTPOLE].action_spec == ActionSpec.create_discrete((2,))
    references = [gymnasium.make(CARTPOLE) for _ in range(2)]
    env.reset(5)
    expected_obs = [ref.reset(seed=5 + i)[0] for i, ref in enumerate(references)]
    batch, actions = env.batch(CARTPOLE), env.actions(CARTPOLE)
    np.testing.assert_array_equal(batch.obs[0], expected_obs)
    rng = np.random.default_rng(0)
    returns = [0.0, 0.0]
    episodes = 0
    for _ in range(250):
        choice = rng.integers(0, 2, 2)
        actions.discrete[:, 0] = choice
        env.step()
        for i, ref in enumerate(references):
            obs, reward, terminated, truncated, _ = ref.step(int(choice[i]))
            returns[i] += reward
            assert batch.reward[i] == reward
            assert batch.terminated[i] == terminated and batch.truncated[i] == (truncated and not terminated)
            if terminated or truncated:
                episodes += 1
                np.testing.assert_array_equal(batch.terminal_obs[0][i], obs)  # gymnasium's final observation
                assert batch.episode_return[i] == returns[i]
                returns[i] = 0.0
                obs, _ = ref.reset()
            np.testing.assert_array_equal(batch.obs[0][i], obs)
    assert episodes >= 4


@pytest.mark.parametrize("kind", KINDS)
def test_time_limit_maps_to_truncated(kind: str, made: list[VectorEnv]) -> None:
    env = make_gym(CARTPOLE, 2, seed=0, mode=kind, max_episode_steps=5, num_workers=1)
    made.append(env)
    assert isinstance(env, InProcessVectorEnv if kind == "inprocess" else ProcessVectorEnv)
    batch, actions = env.batch(CARTPOLE), env.actions(CARTPOLE)
    for step in range(5):
        actions.discrete[:, 0] = step % 2  # left, right, ...: the pole stays up for 5 steps
        env.step()
    assert batch.truncated.all() and not batch.terminated.any()
    np.testing.assert_array_equal(batch.episode_length, 5)
    np.testing.assert_array_equal(batch.episode_return, 5.0)
    env.step()
    assert not batch.done.any()


@pytest.mark.parametrize("kind", KINDS)
def test_multi_discrete_actions_and_flattened_observations(kind: str, made: list[VectorEnv]) -> None:
    env = stepper(kind, grid, 2, made)
    spec = env.behavior_specs["GridEnv"]
    assert spec.action_spec == ActionSpec.create_discrete((3, 4)) and spec.observation_specs[0].shape == (6,)
    env.reset(0)
    batch = env.batch("GridEnv")
    np.testing.assert_allclose(batch.obs[0][1], np.arange(6) / 10)
    env.actions("GridEnv").discrete[:] = [[2, 3], [1, 0]]
    env.step()
    np.testing.assert_array_equal(batch.reward, [23.0, 10.0])
    np.testing.assert_array_equal(batch.obs[0], 0.5)


@pytest.mark.parametrize("kind", KINDS)
def test_images_and_rescaled_continuous_actions(kind: str, made: list[VectorEnv]) -> None:
    env = stepper(kind, camera, 2, made)
    spec = env.behavior_specs["CameraEnv"]
    assert spec.action_spec == ActionSpec.create_continuous(2) and spec.observation_specs[0].shape == (3, 4, 5)
    env.reset(0)
    image = env.batch("CameraEnv").obs[0]
    assert image.shape == (2, 3, 4, 5) and image.dtype == np.uint8  # bytes, channel-first: scaled on the device
    np.testing.assert_array_equal(image[:, 1], 255)
    assert image[0, 2, 0, 0] == 51 and image[0, 2, 1, 1] == 0
    assert env.batch("CameraEnv").terminal_obs[0].dtype == np.uint8
    env.actions("CameraEnv").continuous[:] = [[0.5, 0.0], [-1.0, 1.0]]
    env.step()
    np.testing.assert_allclose(env.batch("CameraEnv").reward, [1.0, -2.0])  # [-1, 1] onto [-2, 2]


@pytest.mark.parametrize("kind", KINDS)
def test_nan_observation_from_gymnasium_is_an_env_error(kind: str, made: list[VectorEnv]) -> None:
    env = stepper(kind, nan, 2, made)
    env.reset(0)
    env.step()
    with pytest.raises(EnvError, match=r"'nan', copy 0: behavior 'NanEnv' wrote NaN or inf into obs\[0\]"):
        env.step()


def test_make_gym_modes() -> None:
    with make_gym(CARTPOLE, 2, seed=3) as env:
        assert isinstance(env, InProcessVectorEnv)  # CartPole steps in microseconds
        first = env.batch(CARTPOLE).obs[0].copy()
    with make_gym(CARTPOLE, 2, seed=3, mode="inprocess") as again:
        np.testing.assert_array_equal(again.batch(CARTPOLE).obs[0], first)
    with pytest.raises(ValueError, match="mode must be one of"):
        make_gym(CARTPOLE, 2, mode="threads")
