"""The signals' hand-written gradients (reward_signals/fused.py and each signal's
`fused_gradients`) against autograd through their `losses`, the reference: the same stats and
the same gradient of every parameter, over action kinds, normalization, depths, several
observations and GAIL's `use_actions`; and the networks the hand-written path does not take."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from mlagents_fast.config import run_options_from_dict
from mlagents_fast.reward_signals import SignalUpdateBatch
from mlagents_fast.reward_signals import gail as gail_module
from mlagents_fast.reward_signals.learned import LearnedSignal
from mlagents_fast.reward_signals.registry import seeded_signals
from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec

ACTIONS = {"continuous": ActionSpec(2, ()), "discrete": ActionSpec(0, (3, 2)), "hybrid": ActionSpec(1, (4,))}


def spec_of(actions: str, observations: tuple[int, ...] = (6, 3)) -> BehaviorSpec:
    return BehaviorSpec(tuple(ObservationSpec.vector(size) for size in observations), ACTIONS[actions])


def batch_of(spec: BehaviorSpec, rows: int, seed: int) -> SignalUpdateBatch:
    """Steps with observations off the normalizer's clip now and then (scale 4)."""
    rng = np.random.default_rng(seed)
    action = spec.action_spec

    def observations() -> list[np.ndarray]:
        return [(rng.standard_normal((rows, *o.shape)) * 4).astype(np.float32) for o in spec.observation_specs]

    continuous = None
    if action.continuous_size:
        continuous = rng.uniform(-1, 1, (rows, action.continuous_size)).astype(np.float32)
    discrete = None
    if action.discrete_branches:
        discrete = np.stack([rng.integers(0, size, rows) for size in action.discrete_branches], 1).astype(np.int32)
    ends = rng.uniform(size=rows) < 0.2
    return SignalUpdateBatch(observations(), continuous, discrete, ends, observations(), ends)


def signal_pair(name: str, spec: BehaviorSpec, options: dict[str, Any]) -> tuple[LearnedSignal, LearnedSignal]:
    """Two signals of the same initial weights: one on the hand-written path, one on autograd."""
    raw = {"trainer_type": "ppo", "reward_signals": {"extrinsic": {}, name: {"strength": 0.1, **options}}}
    settings = run_options_from_dict({"behaviors": {"B": raw}}, "test").behaviors["B"]
    pair = []
    for fused in (True, False):
        signal = next(s for s in seeded_signals(settings, spec, seed=3) if s.name == name)
        assert isinstance(signal, LearnedSignal)
        signal.fused = fused
        pair.append(signal)
    return pair[0], pair[1]


def assert_same_gradients(fused: LearnedSignal, reference: LearnedSignal, batch: SignalUpdateBatch) -> None:
    for step in range(3):  # from the initial weights, then after two Adam steps
        torch.manual_seed(step)
        fused_stats = fused.gradients(batch)
        torch.manual_seed(step)
        reference_stats = reference.gradients(batch)
        assert fused_stats.keys() == reference_stats.keys()
        for key, value in reference_stats.items():
            assert float(fused_stats[key]) == pytest.approx(float(value.detach()), rel=1e-4, abs=1e-6), key
        reference.optimizer.check_gradients_in_place()
        expected = reference.optimizer.grad
        scale = float(expected.abs().max())
        assert scale > 0.0
        torch.testing.assert_close(fused.optimizer.grad, expected, rtol=1e-4, atol=1e-5 * scale)
        fused.optimizer.step()
        reference.optimizer.step()


@pytest.mark.parametrize("actions", sorted(ACTIONS))
@pytest.mark.parametrize(("normalize", "layers"), [(False, 2), (True, 1), (True, 3)])
def test_curiosity_gradients_are_autograds(actions: str, normalize: bool, layers: int) -> None:
    spec = spec_of(actions)
    network = {"normalize": normalize, "num_layers": layers, "hidden_units": 16}
    fused, reference = signal_pair("curiosity", spec, {"network_settings": network})
    assert_same_gradients(fused, reference, batch_of(spec, 32, seed=layers))


@pytest.mark.parametrize(("normalize", "layers"), [(False, 2), (True, 1), (True, 3)])
def test_rnd_gradients_are_autograds(normalize: bool, layers: int) -> None:
    spec = spec_of("continuous")
    network = {"normalize": normalize, "num_layers": layers, "hidden_units": 16}
    fused, reference = signal_pair("rnd", spec, {"network_settings": network})
    assert_same_gradients(fused, reference, batch_of(spec, 32, seed=layers))


@pytest.mark.parametrize("actions", ["continuous", "hybrid"])
@pytest.mark.parametrize("use_actions", [False, True])
@pytest.mark.parametrize(("normalize", "layers"), [(False, 2), (True, 1), (True, 3)])
def test_gail_gradients_with_the_penalty_are_autograds(
    actions: str, use_actions: bool, normalize: bool, layers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_of(actions)
    expert = batch_of(spec, 50, seed=99)
    expert.obs[0][:] *= 0.25  # the expert's first observation apart from the policy's
    monkeypatch.setattr(gail_module, "load_expert", lambda *args: expert)
    network = {"normalize": normalize, "num_layers": layers, "hidden_units": 16}
    options = {"demo_path": "expert.demo", "use_actions": use_actions, "network_settings": network}
    fused, reference = signal_pair("gail", spec, options)
    assert_same_gradients(fused, reference, batch_of(spec, 32, seed=layers))


def test_networks_without_a_hand_written_path_take_autograd(monkeypatch: pytest.MonkeyPatch) -> None:
    """VAIL, and observations that are not vectors, train through `losses`."""
    spec = spec_of("continuous", (4,))
    monkeypatch.setattr(gail_module, "load_expert", lambda *args: batch_of(spec, 20, seed=1))
    vail, _ = signal_pair("gail", spec, {"demo_path": "expert.demo", "use_vail": True})
    assert vail.fused_gradients(batch_of(spec, 8, seed=2)) is None
    camera = BehaviorSpec((ObservationSpec.visual(1, 20, 20),), ActionSpec(1, ()))
    for name in ("curiosity", "rnd"):
        signal, _ = signal_pair(name, camera, {"network_settings": {"hidden_units": 8}})
        ends = np.zeros(4, np.bool_)
        frames = [np.zeros((4, 1, 20, 20), np.float32)]
        batch = SignalUpdateBatch(frames, np.zeros((4, 1), np.float32), None, ends, [f + 1 for f in frames], ends)
        assert signal.fused_gradients(batch) is None
        assert np.isfinite(list(signal.update(batch).values())).all()
