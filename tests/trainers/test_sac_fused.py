"""SAC's fast paths against the plain ones: the fused gradients (trainers/sac/fused.py) against
autograd's, the native acting (trainers/sac/acting.py) against the actor module."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch

from mlagents_fast.reward_signals import registry as signal_registry
from mlagents_fast.trainers.sac import SACTrainer
from mlagents_fast.trainers.sac.acting import ModuleActing, NativeActing
from mlagents_fast.trainers.sac.fused import FusedSACGradients
from mlagents_fast.trainers.sac.heads import NativeHeads, TorchHeads
from mlagents_fast.trainers.sac.minibatch import ReplayMinibatch
from mlagents_fast.trainers.sac.update import AutogradSACGradients, SACStep
from tests.trainers.test_frame import ConstantSignal
from tests.trainers.test_sac_parts import CONFIG, run, trainer_for


def _filled(name: str, config: dict[str, Any], steps: int = 60, **env_options: Any) -> SACTrainer:
    env, trainer = trainer_for(name, config, **env_options)
    run(env, trainer, steps)  # past buffer_init_steps: some gradient steps have moved every network
    return trainer


def _minibatch(trainer: SACTrainer) -> ReplayMinibatch:
    trainer.normalizer.push_into(trainer.actor, trainer.q1, trainer.q2, trainer.critic, trainer.target)
    return trainer.batches.draw(1, trainer.rng)[0]


def _plain_twin(trainer: SACTrainer) -> SACStep:
    """Copies of the trainer's networks with its optimizer state, stepped by the plain gradients."""
    networks = copy.deepcopy((trainer.actor, trainer.q1, trainer.q2, trainer.critic, trainer.target,
                              trainer.coefficients))  # fmt: skip
    twin = SACStep(*networks, [s.gamma for s in trainer.signals], trainer.hyper.tau, 3e-4, fused=False,
                   generator=torch.Generator())  # fmt: skip
    assert not twin.fused
    twin.optimizer.load_state_dict(trainer.gradient_step.optimizer.state_dict())
    return twin


@pytest.mark.parametrize("heads", ["native", "torch"])  # the CPU's path, and the accelerator's on the CPU
@pytest.mark.parametrize(
    "config", [CONFIG, {**CONFIG, "network_settings": {"num_layers": 2, "hidden_units": 12, "normalize": False}}]
)
def test_fused_gradients_match_autograd(config: dict[str, Any], heads: str) -> None:
    """On the CPU the fused step's heads are native; elsewhere tensor ops, checked here too."""
    trainer = _filled("3DBall", config)
    step = trainer.gradient_step
    assert step.fused, "3DBall's all-vector MLPs with continuous actions take the fused path"
    fused = step.gradients
    assert isinstance(fused, FusedSACGradients) and isinstance(fused.heads, NativeHeads)
    if heads == "torch":  # everything an accelerator runs: torch's heads and Swish backward
        fused.heads = TorchHeads()
        fused.q.native = False
        fused.bodies.set_native(False)
    mb = _minibatch(trainer)
    plain = _plain_twin(trainer)
    for _ in range(3):  # a few steps: the parameters, the Adam state and the target move alike
        for s in (step, plain):  # the same draws of the policy's noise
            assert s.gradients.generator is not None
            s.gradients.generator.manual_seed(5)
        fused_results = step.gradients(mb)
        plain_results = plain.gradients(mb)
        torch.testing.assert_close(step.optimizer.grad, plain.optimizer.grad, atol=1e-6, rtol=1e-4)
        torch.testing.assert_close(torch.as_tensor(fused_results), plain_results, atol=1e-6, rtol=1e-5)
        for s in (step, plain):
            s.optimizer.step()
            s.target.follow(s.optimizer.flat, s.tau)
        torch.testing.assert_close(step.optimizer.flat, plain.optimizer.flat, atol=1e-6, rtol=1e-5)
        for ours, theirs in zip(step.target.parameters, plain.target.parameters, strict=True):
            torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)


def test_fused_gradients_with_two_signals_and_clamped_sigma(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several reward signals (a Q head and a V head each), and log sigma pushed past its clamp
    (no gradient reaches it there)."""
    monkeypatch.setitem(signal_registry._FACTORIES, "curiosity", lambda settings, spec: ConstantSignal(settings))
    signals = {"extrinsic": {"gamma": 0.9}, "curiosity": {"gamma": 0.5, "strength": 0.02}}
    trainer = _filled("3DBall", {**CONFIG, "reward_signals": signals})
    assert trainer.critic.value_heads.out_features == 2
    assert trainer.gradient_step.fused
    with torch.no_grad():
        trainer.actor.action_model.log_sigma.bias[0] = 30.0
    mb = _minibatch(trainer)
    plain = _plain_twin(trainer)
    trainer.update_generator.manual_seed(1)
    fused_results = trainer.gradient_step.gradients(mb)
    assert plain.gradients.generator is not None
    plain.gradients.generator.manual_seed(1)
    plain_results = plain.gradients(mb)
    torch.testing.assert_close(trainer.gradient_step.optimizer.grad, plain.optimizer.grad, atol=1e-6, rtol=1e-4)
    torch.testing.assert_close(torch.as_tensor(fused_results), plain_results, atol=1e-6, rtol=1e-5)
    assert trainer.actor.action_model.log_sigma.bias.grad is not None
    assert trainer.actor.action_model.log_sigma.bias.grad[0] == 0.0


@pytest.mark.parametrize(
    ("name", "options"),
    [("Basic", {}), ("SimpleEnvironment", {"action_sizes": (1, 1)}), ("GridWorld", {})],
)
def test_other_networks_take_the_plain_path(name: str, options: dict[str, Any]) -> None:
    """Discrete or hybrid actions, or visual observations: the plain gradients."""
    _, trainer = trainer_for(name, CONFIG, **options)
    assert not trainer.gradient_step.fused
    assert isinstance(trainer.gradient_step.gradients, AutogradSACGradients)
    assert not isinstance(trainer.gradient_step.gradients, FusedSACGradients)


@pytest.mark.parametrize("deterministic", [False, True])
def test_native_acting_matches_the_module(deterministic: bool) -> None:
    """The same actions (the same draws of torch's generator) and entropy as the actor module."""
    env, trainer = trainer_for("3DBall", CONFIG)
    run(env, trainer, 30)  # trained a little, with the normalizer's statistics pushed in
    assert isinstance(trainer.acting, NativeActing)
    module = ModuleActing(trainer.actor, trainer.critic, torch.device("cpu"))
    obs = [o.copy() for o in env.batch("3DBall").obs]
    no_choices = torch.ones(len(obs[0]), 0)
    torch.manual_seed(3)
    native = trainer.acting(obs, no_choices, deterministic)
    torch.manual_seed(3)
    plain = module(obs, no_choices, deterministic)
    np.testing.assert_allclose(native.continuous, plain.continuous, atol=1e-5)
    assert native.entropy == pytest.approx(plain.entropy, abs=1e-5)
    np.testing.assert_allclose(native.values, plain.values, atol=1e-5)
    assert native.values.shape == (1, len(obs[0]))
    assert native.discrete.shape == plain.discrete.shape == (len(obs[0]), 0)


def test_acting_takes_the_modules_for_discrete_actions() -> None:
    _, trainer = trainer_for("Basic", CONFIG)
    assert isinstance(trainer.acting, ModuleActing)


def test_networks_with_their_own_statistics_take_the_plain_path() -> None:
    """The fused path encodes the observations once for all five networks, so it runs only where
    they share one set of normalizer statistics (as the trainer makes them)."""
    _, trainer = trainer_for("3DBall", CONFIG)
    networks = copy.deepcopy((trainer.actor, trainer.q1, trainer.q2, trainer.critic, trainer.target,
                              trainer.coefficients))  # fmt: skip
    assert SACStep(*networks, [0.99], 0.005, 3e-4).fused
    q1 = networks[1]
    processor = q1.network_body.processors[0]
    processor.running_mean = processor.running_mean.clone()  # Q1's own copy
    assert not SACStep(*networks, [0.99], 0.005, 3e-4).fused
