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

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mlagents_fast.config.loader import run_options_from_dict
from mlagents_fast.envs.registry import make
from mlagents_fast.envs.testing import native as native_testing
from mlagents_fast.envs.vector import VectorEnv
from mlagents_fast.export import export_onnx
from mlagents_fast.trainers.ppo import PPOTrainer, minibatch

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


def start(make_env: Any, accelerator_path: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[VectorEnv, PPOTrainer]:
    env = make_env()
    (behavior,) = env.behavior_specs
    settings: Any = run_options_from_dict({"behaviors": {behavior: CONFIG}}, "test").behaviors[behavior]
    trainer = PPOTrainer(behavior, env.behavior_specs[behavior], settings, env.num_agents(behavior), seed=5)
    if accelerator_path:
        monkeypatch.setattr(minibatch, "_pinned", host_memory)
        trainer._on_cpu = False  # acting copies its results back as from a device
        trainer.update.minibatches.staged = True
    return env, trainer


def run(env: VectorEnv, trainer: PPOTrainer, steps: int) -> None:
    behavior = trainer.behavior
    for _ in range(steps):
        trainer.act(env.batch(behavior), env.actions(behavior))
        env.step()
        trainer.record(env.batch(behavior))


def train(make_env: Any, accelerator_path: bool, steps: int, monkeypatch: pytest.MonkeyPatch) -> PPOTrainer:
    env, trainer = start(make_env, accelerator_path, monkeypatch)
    run(env, trainer, steps)
    return trainer


@pytest.mark.parametrize("make_env", [three_d_ball, basic, visual_hybrid], ids=["3DBall", "Basic", "visual-hybrid"])
def test_the_accelerator_path_trains_exactly_as_the_cpu_path(make_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = train(make_env, False, 60, monkeypatch)
    accelerator = train(make_env, True, 60, monkeypatch)
    accelerator_source, cpu_source = accelerator.update.minibatches, cpu.update.minibatches
    assert accelerator_source._staging is not None and accelerator_source._gatherer is None  # each took its own path
    assert cpu_source._gatherer is not None and cpu_source._staging is None
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
    cpu_stats = {stat.key: stat.values for stat in cpu.drain_stats()}
    accelerator_stats = {stat.key: stat.values for stat in accelerator.drain_stats()}
    assert cpu_stats.keys() == accelerator_stats.keys()
    for key, values in cpu_stats.items():
        np.testing.assert_array_equal(np.asarray(values, np.float64), np.asarray(accelerator_stats[key], np.float64))


def assert_the_actor_is_the_optimizers(trainer: PPOTrainer) -> None:
    """Every actor parameter is one the optimizer steps, a view of its flat buffer on the
    trainer's device, and the actor is still in training mode."""
    held = {id(p) for p in trainer.optimizer.params}
    flat = trainer.optimizer.flat
    start, end = flat.data_ptr(), flat.data_ptr() + flat.numel() * flat.element_size()
    for name, parameter in trainer.actor.named_parameters():
        assert id(parameter) in held, f"{name} is not the optimizer's parameter"
        assert parameter.device == trainer.device, f"{name} is on {parameter.device}, not {trainer.device}"
        assert start <= parameter.data_ptr() < end, f"{name} is no longer a view of the optimizer's flat buffer"
    assert trainer.actor.training, "the actor was left in eval mode"


@pytest.mark.parametrize("make_env", [three_d_ball, visual_hybrid], ids=["3DBall", "visual-hybrid"])
def test_a_checkpoint_export_before_max_steps_leaves_the_actor_training(
    make_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A checkpoint before max_steps exports the trainer's own actor, then training goes on: the
    export must leave the actor the optimizer's, where it was (on a CUDA run, moving it to the CPU
    left it there, detached from the optimizer), and the updates after it must still move it.
    Moving a CPU tensor to the CPU is a no-op, so during the export every `.cpu()` copies, as a
    move off an accelerator does."""
    env, trainer = start(make_env, True, monkeypatch)
    run(env, trainer, 30)
    assert trainer.gradient_steps > 0
    assert_the_actor_is_the_optimizers(trainer)
    cpu = torch.Tensor.cpu
    with monkeypatch.context() as patch:
        patch.setattr(torch.Tensor, "cpu", lambda self, *args, **kwargs: cpu(self, *args, **kwargs).clone())
        export_onnx(trainer.actor, trainer.spec, tmp_path / "checkpoint.onnx")
    assert (tmp_path / "checkpoint.onnx").stat().st_size > 0
    assert_the_actor_is_the_optimizers(trainer)
    exported = [p.detach().clone() for p in trainer.actor.parameters()]
    steps = trainer.gradient_steps
    run(env, trainer, 30)
    assert trainer.gradient_steps > steps
    assert_the_actor_is_the_optimizers(trainer)
    changed = [not torch.equal(p, e) for p, e in zip(trainer.actor.parameters(), exported, strict=True)]
    assert sum(changed) >= len(changed) // 2, "the updates after the export left the actor as it was"
