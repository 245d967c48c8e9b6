"""Camera observations an environment gives as bytes (a gymnasium uint8 image) stay uint8 from the
environment's arrays through the rollout and replay buffers to the device, where the networks
scale them to [0, 1]; PPO and SAC learn from them, and the recorder stores them as the images they
stand for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
import torch

from mlagents_fast.demonstrations.reader import read_demonstration
from mlagents_fast.demonstrations.writer import DemonstrationWriter
from mlagents_fast.envs.gym.adapter import GymEnv
from mlagents_fast.envs.python.inprocess import InProcessVectorEnv
from mlagents_fast.networks.actor_critic import NetworkBody
from mlagents_fast.networks.encoders import image_floats
from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec
from mlagents_fast.trainers.ppo import PPOTrainer
from mlagents_fast.trainers.sac.trainer import SACTrainer
from tests.trainers.test_ppo_learning import ML_AGENTS_PPO_TEST_CONFIG
from tests.trainers.test_sac_learning import ML_AGENTS_SAC_TEST_CONFIG
from tests.trainers.training import last5, train_behaviors

BEHAVIOR = "ColorEnv"


class ColorEnv(gymnasium.Env[Any, Any]):
    """One-step episodes: a 20 x 20 image, red or green (uint8, 200 in one channel); choosing the
    colour's index pays +1, the other -1."""

    observation_space = gymnasium.spaces.Box(0, 255, (20, 20, 3), np.uint8)
    action_space = gymnasium.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self._color = int(self.np_random.integers(2))
        return self._image(), {}

    def _image(self) -> np.ndarray:
        image = np.zeros((20, 20, 3), np.uint8)
        image[..., self._color] = 200
        return image

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        return self._image(), 1.0 if int(action) == self._color else -1.0, True, False, {}


def color_env() -> GymEnv:
    return GymEnv(ColorEnv())


def test_bytes_become_the_values_they_stand_for_on_the_device() -> None:
    pixels = torch.tensor([0, 51, 255], dtype=torch.uint8)
    torch.testing.assert_close(image_floats(pixels), torch.tensor([0.0, 0.2, 1.0]))
    floats = torch.tensor([0.5])
    assert image_floats(floats) is floats
    spec = BehaviorSpec([ObservationSpec.visual(3, 20, 20, dtype="uint8")], ActionSpec.create_discrete((2,)))
    body = NetworkBody(spec, normalize=False, hidden_units=16, num_layers=1, vis_encode_type="simple")
    image = torch.randint(0, 256, (2, 3, 20, 20), dtype=torch.uint8)
    torch.testing.assert_close(body([image]), body([image.float() / 255.0]))  # the same encoding either way


@pytest.mark.learning
@pytest.mark.parametrize("trainer", ["ppo", "sac"])
def test_ppo_and_sac_learn_from_byte_images_kept_as_bytes(trainer: str) -> None:
    base = ML_AGENTS_PPO_TEST_CONFIG if trainer == "ppo" else ML_AGENTS_SAC_TEST_CONFIG
    network = {**base["network_settings"], "vis_encode_type": "simple"}
    config = {**base, "network_settings": network, "max_steps": 1500 if trainer == "ppo" else 600}
    env = InProcessVectorEnv(color_env, 4)
    try:
        env.reset(1337)
        assert env.batch(BEHAVIOR).obs[0].dtype == np.uint8
        returns, trainers = train_behaviors(PPOTrainer if trainer == "ppo" else SACTrainer, env, {BEHAVIOR: config},
                                            seed=1337)  # fmt: skip
    finally:
        env.close()
    stored = trainers[BEHAVIOR].rollout.buffer.arrays if trainer == "ppo" else trainers[BEHAVIOR].replay.arrays
    assert stored["obs_0"].dtype == np.uint8 and stored["obs_0"].max() == 200
    assert last5(returns[BEHAVIOR]) > 0.9


def test_recorded_byte_images_read_back_as_their_values(tmp_path: Path) -> None:
    env = InProcessVectorEnv(color_env, 1)
    try:
        env.reset(0)
        spec = env.behavior_specs[BEHAVIOR]
        image = env.batch(BEHAVIOR).obs[0][0].copy()
        path = tmp_path / "color.demo"
        with DemonstrationWriter(path, BEHAVIOR, spec) as writer:
            writer.record([image], discrete_action=[0], reward=1.0, done=True)
    finally:
        env.close()
    demo = read_demonstration(str(path))
    np.testing.assert_allclose(demo.obs[0][0], image / 255.0, atol=1 / 510)  # (PNG: 8 bits a channel)
