"""The hand-written forward and backward of the all-vector actor and critic against autograd
over the same modules: same log-probabilities, entropy, values, actions and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlagents_fast import _native
from mlagents_fast.networks.actor_critic import Actor, Critic
from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec, ObservationType
from mlagents_fast.trainers.flat_adam import FlatAdam
from mlagents_fast.trainers.fused_bodies import SeparateBodies, SharedBody, StackedBodies, parameter_order
from mlagents_fast.trainers.ppo.fused.actor_critic import ManualActorCritic
from mlagents_fast.trainers.ppo.fused.loss_gradients import ppo_loss_gradients
from mlagents_fast.trainers.ppo.loss import ppo_loss

BATCH, EPSILON, BETA = 96, 0.2, 5e-3

CASES = {
    "discrete": (BehaviorSpec((ObservationSpec.vector(4),), ActionSpec(0, (2,))), False, False, 1),
    "masked branches": (BehaviorSpec((ObservationSpec.vector(5),), ActionSpec(0, (3, 4))), False, False, 1),
    "continuous": (BehaviorSpec((ObservationSpec.vector(8),), ActionSpec(2, ())), True, False, 1),
    "hybrid, two inputs": (
        BehaviorSpec((ObservationSpec.vector(3), ObservationSpec.vector(6)), ActionSpec(2, (3,))), True, False, 2,
    ),
    "shared critic": (BehaviorSpec((ObservationSpec.vector(6),), ActionSpec(1, (2, 2))), True, True, 2),
}  # fmt: skip


def _networks(case: str, seed: int, stacked: bool = True) -> tuple[BehaviorSpec, Actor, Critic, FlatAdam]:
    """The case's networks and a FlatAdam over them; `stacked`: parameters laid out so that
    separate actor and critic bodies run as one batched body (as the trainer does)."""
    spec, normalize, shared, signals = CASES[case]
    torch.manual_seed(seed)
    actor = Actor(spec, normalize=normalize, hidden_units=32, num_layers=2)
    body = actor.network_body if shared else None
    critic = Critic(spec, [f"s{i}" for i in range(signals)], normalize, 32, 2, shared_body=body)
    with torch.no_grad():  # move log sigma and the normalizer off their initial values
        if actor.action_model.continuous_size:
            actor.action_model.log_sigma.uniform_(-0.5, 0.5)
        for network in (actor, critic):
            for i, processor in network.network_body.vector_inputs():
                size = spec.observation_specs[i].shape[0]
                processor.set_statistics(torch.randn(size) * 0.1, torch.rand(size) + 0.5)
    parameters = (
        parameter_order(actor, critic)
        if stacked
        else list({id(p): p for p in [*actor.parameters(), *critic.parameters()]}.values())
    )
    return spec, actor, critic, FlatAdam(parameters, lr=1e-3)


def _batch(spec: BehaviorSpec) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
    obs = [torch.randn(BATCH, o.shape[0]) * 2.0 for o in spec.observation_specs]
    action = spec.action_spec
    branches = action.discrete_branches
    allowed = (torch.rand(BATCH, sum(branches)) > 0.3).float()
    start = 0
    choices = []
    for size in branches:  # at least one allowed choice per branch; pick among the allowed ones
        allowed[:, start] = 1.0
        weights = allowed[:, start : start + size]
        choices.append(torch.multinomial(weights, 1))
        start += size
    discrete = torch.cat(choices, dim=1) if choices else torch.zeros(BATCH, 0, dtype=torch.int64)
    continuous = torch.randn(BATCH, action.continuous_size)
    return obs, allowed, continuous, discrete


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize(("seed", "stacked"), [(0, True), (1, True), (2, False)])
def test_gradients_match_autograd(case: str, seed: int, stacked: bool) -> None:
    spec, actor, critic, optimizer = _networks(case, seed, stacked)
    obs, allowed, continuous, discrete = _batch(spec)
    signals = len(critic.signals)
    manual = ManualActorCritic(actor, critic)
    expected_bodies = SharedBody if case == "shared critic" else StackedBodies if stacked else SeparateBodies
    assert isinstance(manual.bodies, expected_bodies)

    log_probs, entropy = actor.evaluate(obs, allowed, continuous, discrete)
    values = critic(obs)
    old_log_probs = log_probs.detach() + torch.randn_like(log_probs) * 0.3
    old_values = values.detach() + torch.randn_like(values) * 0.3
    advantages, returns = torch.randn(BATCH, 1), torch.randn(signals, BATCH)
    optimizer.zero_grad()
    loss, *_ = ppo_loss(log_probs, values, entropy, old_log_probs, advantages, old_values, returns, EPSILON, BETA)
    loss.backward()
    expected = optimizer.grad.clone()

    optimizer.grad.fill_(float("nan"))  # every gradient must be written, none left over
    ours = manual.evaluate(obs, allowed, continuous, discrete)
    for a, b in zip(ours, (log_probs, entropy, values), strict=True):
        torch.testing.assert_close(a, b.detach(), rtol=1e-5, atol=1e-6)
    _, _, grad_log_probs, grad_values = ppo_loss_gradients(
        ours[0], ours[2], old_log_probs, advantages, old_values, returns, EPSILON
    )
    manual.backward(grad_log_probs, -BETA / BATCH, grad_values)
    assert torch.isfinite(optimizer.grad).all()
    torch.testing.assert_close(optimizer.grad, expected, rtol=1e-4, atol=1e-6)

    # The whole step, with the heads and loss in torch ops and in the native kernel.
    action_mask = allowed < 0.5 if spec.action_spec.discrete_branches else None
    chosen = discrete.int() if spec.action_spec.discrete_branches else None
    taken = continuous if spec.action_spec.continuous_size else None
    losses = []
    for native in (False, True):
        manual.native = native
        optimizer.grad.fill_(float("nan"))
        policy_loss, value_loss = manual.ppo_step(
            obs, action_mask, taken, chosen, old_log_probs, advantages.squeeze(1), old_values, returns, EPSILON, BETA
        )
        assert torch.isfinite(optimizer.grad).all()
        torch.testing.assert_close(optimizer.grad, expected, rtol=1e-4, atol=1e-6)
        losses.append((float(policy_loss), float(value_loss)))
    reference = ppo_loss(log_probs, values, entropy, old_log_probs, advantages, old_values, returns, EPSILON, BETA)
    for policy_loss, value_loss in losses:
        assert policy_loss == pytest.approx(float(reference[1].detach()), rel=1e-5, abs=1e-6)
        assert value_loss == pytest.approx(float(reference[2].detach()), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize(("native", "rows"), [(False, BATCH), (True, BATCH), (True, 8)])
def test_act_matches_the_modules(case: str, native: bool, rows: int) -> None:
    """Native with 8 rows: the bodies and heads run natively too (`native_forward_pays`)."""
    spec, actor, critic, _ = _networks(case, 0, stacked=native)
    obs, allowed, _, _ = _batch(spec)
    obs, allowed = [o[:rows].contiguous() for o in obs], allowed[:rows]
    branches = spec.action_spec.discrete_branches
    action_mask = (allowed < 0.5).numpy() if branches else None
    manual = ManualActorCritic(actor, critic)
    manual.native = native
    with torch.inference_mode():
        for deterministic in (False, True):
            torch.manual_seed(1)
            values, out = manual.act(obs, action_mask, deterministic)
            torch.testing.assert_close(values, critic(obs))
            # The log-probabilities and entropy are those of the chosen actions under the policy.
            log_probs, entropy = actor.evaluate(obs, allowed, out.continuous, out.discrete.long())
            torch.testing.assert_close(out.log_probs, log_probs)
            torch.testing.assert_close(out.entropy, entropy)
            if native:
                assert out.mean_entropy == pytest.approx(float(entropy.mean()), rel=1e-5)
            if branches:
                assert bool(allowed.gather(1, _flat_choices(out.discrete.long(), branches)).all())
            if len(branches) <= 1:  # the same random draws, taken the same way
                torch.manual_seed(1)
                expected = actor(obs, allowed, deterministic)
                for name in ("continuous", "discrete", "log_probs", "entropy"):
                    torch.testing.assert_close(getattr(out, name), getattr(expected, name), check_dtype=False)


def _flat_choices(discrete: torch.Tensor, branches: tuple[int, ...]) -> torch.Tensor:
    """Per-branch choices as column indices into the concatenated logits."""
    offsets = torch.tensor([0, *branches[:-1]]).cumsum(0)
    return discrete + offsets


def test_visual_and_goal_conditioned_networks_are_not_covered() -> None:
    goal = BehaviorSpec(
        (ObservationSpec.vector(4), ObservationSpec.vector(2, observation_type=ObservationType.GOAL_SIGNAL)),
        ActionSpec(0, (3,)),
    )
    visual = BehaviorSpec((ObservationSpec.visual(3, 24, 24),), ActionSpec(0, (3,)))
    for spec in (goal, visual):
        actor = Actor(spec, normalize=False, hidden_units=16, num_layers=1)
        critic = Critic(spec, ["extrinsic"], False, 16, 1)
        assert not ManualActorCritic.supports(actor, critic)
        with pytest.raises(ValueError, match="vector observations"):
            ManualActorCritic(actor, critic)


def test_backward_needs_an_evaluate() -> None:
    _, actor, critic, _ = _networks("discrete", 0)
    with pytest.raises(RuntimeError, match="evaluate"):
        ManualActorCritic(actor, critic).backward(torch.zeros(BATCH, 1), 0.0, torch.zeros(1, BATCH))


def test_native_heads_reject_bad_input_naming_the_argument() -> None:
    rows = 4
    f32 = np.zeros
    grads = dict(grad_mu=None, grad_log_sigma=None, grad_logits=f32((rows, 3), np.float32),
                 grad_values=f32((rows, 1), np.float32))  # fmt: skip
    inputs = dict(mu=None, log_sigma=None, continuous=None, logits=f32((rows, 3), np.float32), action_mask=None,
                  discrete=np.zeros((rows, 1), np.int32), branches=[3], old_log_probs=f32((rows, 1), np.float32),
                  advantages=f32(rows, np.float32), values=f32((rows, 1), np.float32),
                  old_values=f32((1, rows), np.float32), returns=f32((1, rows), np.float32), epsilon=0.2,
                  beta=0.0)  # fmt: skip
    _native.ppo_head_loss(**inputs, **grads)  # well-formed: no error
    bad_choice = np.array([[0], [1], [3], [2]], np.int32)
    with pytest.raises(ValueError, match=r"discrete\[2, 0\] = 3 is not a choice of a branch of size 3"):
        _native.ppo_head_loss(**{**inputs, "discrete": bad_choice}, **grads)
    with pytest.raises(ValueError, match="'discrete' must be a C-contiguous int32"):
        _native.ppo_head_loss(**{**inputs, "discrete": bad_choice.astype(np.int64)}, **grads)
    with pytest.raises(ValueError, match=r"'logits' must be .* shape \(B, L\) = \(4, 3\)"):
        _native.ppo_head_loss(**{**inputs, "logits": f32((rows, 6), np.float32)[:, ::2]}, **grads)
    with pytest.raises(ValueError, match=r"branches\[0\] must be at least 1"):
        _native.ppo_head_loss(**{**inputs, "branches": [0]}, **grads)
    with pytest.raises(ValueError, match="'grad_values' shares memory with input 'values'"):
        _native.ppo_head_loss(**inputs, **{**grads, "grad_values": inputs["values"]})
    with pytest.raises(ValueError, match="'uniforms' must be"):
        _native.ppo_head_sample(None, None, None, inputs["logits"], None, None, [3], False, None,
                                np.zeros((rows, 1), np.int32), f32((rows, 1), np.float32),
                                f32(rows, np.float32))  # fmt: skip


def test_heads_backward_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    rows, hidden = 37, 11
    h = rng.standard_normal((rows, hidden), dtype=np.float32)
    heads = []
    for outputs in (1, 4):
        weight = rng.standard_normal((outputs, hidden), dtype=np.float32)
        grad_out = rng.standard_normal((rows, outputs), dtype=np.float32)
        heads.append((weight, grad_out, np.full((outputs, hidden), np.nan, np.float32),
                      np.full(outputs, np.nan, np.float32)))  # fmt: skip
    grad_h = np.full((rows, hidden), np.nan, np.float32)
    _native.heads_backward(h, heads, grad_h)
    expected_h = sum(g.astype(np.float64) @ w for w, g, _, _ in heads)
    np.testing.assert_allclose(grad_h, expected_h, rtol=1e-5, atol=1e-5)
    for _, grad_out, weight_grad, bias_grad in heads:
        np.testing.assert_allclose(weight_grad, grad_out.T.astype(np.float64) @ h, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(bias_grad, grad_out.sum(axis=0, dtype=np.float64), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"'grad_out' must be .* shape \(B, O\) = \(37, 1\)"):
        _native.heads_backward(h, [(heads[0][0], heads[1][1], heads[0][2], heads[0][3])], grad_h)
    with pytest.raises(ValueError, match="each head must be"):
        _native.heads_backward(h, [heads[0][:3]], grad_h)
    with pytest.raises(ValueError, match="'grad_h' shares memory"):
        _native.heads_backward(h, heads, h)


@pytest.mark.parametrize("rows", [1, 2, 5])
def test_wide_linear_backward_matches_numpy_and_accumulates(rows: int) -> None:
    rng = np.random.default_rng(rows)
    outputs, hidden = 300, 13
    h = rng.standard_normal((rows, hidden), dtype=np.float32)
    weight = rng.standard_normal((outputs, hidden), dtype=np.float32)
    grad_out = rng.standard_normal((rows, outputs), dtype=np.float32)
    weight_grad = rng.standard_normal((outputs, hidden), dtype=np.float32)  # earlier contributions
    bias_grad = rng.standard_normal(outputs, dtype=np.float32)
    expected_weight = weight_grad + grad_out.T.astype(np.float64) @ h
    expected_bias = bias_grad + grad_out.sum(axis=0, dtype=np.float64)
    grad_h = np.full((rows, hidden), np.nan, np.float32)
    _native.wide_linear_backward(h, weight, grad_out, weight_grad, bias_grad, grad_h)
    np.testing.assert_allclose(grad_h, grad_out.astype(np.float64) @ weight, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(weight_grad, expected_weight, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bias_grad, expected_bias, rtol=1e-5, atol=1e-4)


def test_wide_linear_backward_rejects_bad_input() -> None:
    f32 = np.zeros
    h, weight, grad_out = f32((2, 4), np.float32), f32((9, 4), np.float32), f32((2, 9), np.float32)
    weight_grad, bias_grad, grad_h = f32((9, 4), np.float32), f32(9, np.float32), f32((2, 4), np.float32)
    with pytest.raises(ValueError, match=r"'grad_out' must be .* shape \(B, O\) = \(2, 9\)"):
        _native.wide_linear_backward(h, weight, grad_out[:, :8], weight_grad, bias_grad, grad_h)
    with pytest.raises(ValueError, match=r"'weight' must be .*float32"):
        _native.wide_linear_backward(h, weight.astype(np.float64), grad_out, weight_grad, bias_grad, grad_h)
    with pytest.raises(ValueError, match="'weight_grad' shares memory"):
        _native.wide_linear_backward(h, weight, grad_out, weight, bias_grad, grad_h)
    with pytest.raises(ValueError, match="'weight_grad' must be"):
        _native.wide_linear_backward(h, weight, grad_out, weight_grad[:, ::2], bias_grad, grad_h)
