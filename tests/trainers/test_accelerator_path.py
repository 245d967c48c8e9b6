"""The accelerator's data path, run on the CPU: it must train exactly as the CPU path does.

On an accelerator an update gathers its rows once into pinned host memory, sends them over in
one host-to-device copy, indexes each minibatch there, and acting copies its results back to
the host. On the CPU the trainer instead gathers each minibatch natively into arrays that torch
views in place. The two paths share everything else, so on the same seed they must reach the
same weights bit for bit. The trainer picks its path by its device; here it is made to take the
accelerator's on the CPU, with plain host memory standing in for pinned memory (pinning needs a
CUDA device). Threaded mode is left out: when its update's weights reach the acting networks
depends on timing, so two runs of it differ on any path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.envs import native_testing
from mlagents_fast.envs.registry import make
from mlagents_fast.envs.vector import VectorEnv
from mlagents_fast.trainers import ppo
from mlagents_fast.trainers.ppo import PPOTrainer

CONFIG = {
    "trainer_type": "ppo",
    "time_horizon": 5,
    "hyperparameters": {"batch_size": 16, "buffer_size": 40},
    "network_settings": {"hidden_units": 16, "num_layers": 1, "normalize": True},
}


def three_d_ball() -> VectorEnv:  # continuous actions, all-vector MLPs: the hand-written backward
    return make("3DBall", 1, seed=0)


def basic() -> VectorEnv:  # one discrete branch
    return make("Basic", 4, seed=0)


def visual_hybrid() -> VectorEnv:  # a visual observation (autograd) and hybrid actions
    return native_testing.make_simple(4, seed=0, num_visual=1, vis_obs_size=(1, 20, 20), action_sizes=(1, 1))


def host_memory(shape: tuple[int, ...], dtype: np.dtype[np.generic]) -> Any:
    return np.empty(shape, dtype)


def train(make_env: Any, accelerator_path: bool, steps: int, monkeypatch: pytest.MonkeyPatch) -> PPOTrainer:
    env = make_env()
    (behavior,) = env.behavior_specs
    settings: Any = run_options_from_dict({"behaviors": {behavior: CONFIG}}, "test").behaviors[behavior]
    trainer = PPOTrainer(behavior, env.behavior_specs[behavior], settings, env.num_agents(behavior), seed=5)
    if accelerator_path:
        monkeypatch.setattr(ppo, "_pinned", host_memory)
        trainer._on_cpu = False
        trainer._host = ppo._host_numpy
    for _ in range(steps):
        trainer.act(env.batch(behavior), env.actions(behavior))
        env.step()
        trainer.record(env.batch(behavior))
    return trainer


@pytest.mark.parametrize("make_env", [three_d_ball, basic, visual_hybrid], ids=["3DBall", "Basic", "visual-hybrid"])
def test_the_accelerator_path_trains_exactly_as_the_cpu_path(make_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = train(make_env, False, 60, monkeypatch)
    accelerator = train(make_env, True, 60, monkeypatch)
    assert accelerator._staging is not None and accelerator._gatherer is None  # each took its own path
    assert cpu._gatherer is not None and cpu._staging is None
    assert cpu.gradient_steps == accelerator.gradient_steps >= 6  # several updates, not just one
    ours, theirs = cpu.state_dict(), accelerator.state_dict()
    assert ours.keys() == theirs.keys()
    for module, entry in ours.items():
        if not isinstance(entry, dict):  # the step count
            assert entry == theirs[module], module
            continue
        for name, value in entry.items():  # tensors, and the optimizer's step count and learning rate
            same = (
                torch.equal(value, theirs[module][name])
                if isinstance(value, torch.Tensor)
                else value == theirs[module][name]
            )
            assert same, f"{module}.{name}"
    assert cpu.stats.keys() == accelerator.stats.keys()
    for key, values in cpu.stats.items():
        np.testing.assert_array_equal(np.asarray(values, np.float64), np.asarray(accelerator.stats[key], np.float64))
