"""Network pieces: goal conditioning, shared critic bodies, masked discrete actions."""

from __future__ import annotations

import pytest
import torch

from mlagents_fast.networks.actor_critic import Actor, Critic, NetworkBody
from mlagents_fast.networks.conditioning import ConditionalEncoder, HyperNetwork
from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec, ObservationType

SPEC = BehaviorSpec(
    (ObservationSpec.vector(6), ObservationSpec.vector(2, observation_type=ObservationType.GOAL_SIGNAL)),
    ActionSpec(0, (5,)),
)


def test_goal_signal_conditions_the_body_through_a_hypernetwork() -> None:
    torch.manual_seed(0)
    body = NetworkBody(SPEC, normalize=False, hidden_units=16, num_layers=2, vis_encode_type="simple")
    assert isinstance(body.body, ConditionalEncoder)
    x = torch.randn(4, 6)
    with torch.no_grad():
        plus = body([x, torch.tensor([[1.0, 0.0]]).expand(4, 2)])
        ex = body([x, torch.tensor([[0.0, 1.0]]).expand(4, 2)])
    assert plus.shape == (4, 16) and not torch.allclose(plus, ex)
    # As ML-Agents' NetworkBody: the goal is also part of the input the conditioned layers take.
    first = next(m for m in body.body.modules() if isinstance(m, torch.nn.Linear))
    assert first.in_features == 8
    plain = NetworkBody(SPEC, False, 16, 2, "simple", goal_conditioning_type="none")
    assert not isinstance(plain.body, ConditionalEncoder)  # goals are plain inputs then
    assert plain.body[0].in_features == 8


def test_masked_choices_are_never_sampled_and_shared_critic_reuses_the_body() -> None:
    torch.manual_seed(0)
    actor = Actor(SPEC, normalize=False, hidden_units=16, num_layers=1)
    allowed = torch.tensor([[1.0, 0.0, 0.0, 1.0, 0.0]]).expand(256, 5)
    out = actor([torch.randn(256, 6), torch.eye(2)[torch.randint(0, 2, (256,))]], allowed)
    assert set(out.discrete.flatten().tolist()) <= {0, 3}
    critic = Critic(SPEC, ["extrinsic"], False, 16, 1, shared_body=actor.network_body)
    assert critic.network_body is actor.network_body


def test_sampling_follows_the_softmax_and_skips_masked_choices() -> None:
    from mlagents_fast.networks.actions import _sample

    torch.manual_seed(0)
    logits = torch.tensor([[0.0, 1.0, -1e8, 2.0]])
    draws = _sample(torch.log_softmax(logits.expand(100_000, 4), dim=1)).flatten()
    frequencies = torch.bincount(draws, minlength=4).float() / draws.numel()
    torch.testing.assert_close(frequencies, torch.softmax(logits[0], dim=0), atol=0.01, rtol=0)
    assert frequencies[2] == 0


def test_entropy_averages_the_gaussian_dimensions_and_sums_the_branches() -> None:
    """ML-Agents' row entropy: the Gaussian's per-dimension entropy averaged over its
    dimensions, plus each discrete branch's entropy."""
    import math

    from mlagents_fast.networks.actions import ActionModel

    torch.manual_seed(0)
    model = ActionModel(8, ActionSpec(3, (2, 3)))
    with torch.no_grad():
        model.log_sigma.copy_(torch.tensor([[0.5, -1.0, 0.2]]))
    h = torch.randn(5, 8)
    allowed = torch.ones(5, 5)
    out = model(h, allowed)
    sigma = [math.exp(v) for v in (0.5, -1.0, 0.2)]
    gaussian = sum(0.5 * math.log(2 * math.pi * math.e * s * s) for s in sigma) / 3
    logits = model.logits(h).detach()
    expected = torch.full((5,), gaussian)
    for branch in torch.split(logits, [2, 3], dim=1):
        p = torch.softmax(branch, dim=1)
        expected -= (p * torch.log(p)).sum(dim=1)
    torch.testing.assert_close(out.entropy.detach(), expected, rtol=1e-5, atol=1e-5)
    _, evaluated = model.evaluate(h, allowed, out.continuous, out.discrete)
    torch.testing.assert_close(evaluated.detach(), expected, rtol=1e-5, atol=1e-5)


def test_value_heads_start_as_ml_agents_xavier_uniform_heads() -> None:
    """Each head is its own `linear_layer(H, 1)` in ML-Agents: Xavier-uniform over fan-in H
    and fan-out 1 (bound sqrt(6 / (H + 1))), zero bias."""
    import math

    torch.manual_seed(0)
    critic = Critic(SPEC, ["extrinsic", "curiosity"], False, 256, 1)
    weight = critic.value_heads.weight.detach()
    bound = math.sqrt(6.0 / 257)
    assert weight.shape == (2, 256) and float(weight.abs().max()) <= bound
    assert float(weight.std()) == pytest.approx(bound / math.sqrt(3.0), rel=0.1)
    assert not critic.value_heads.bias.detach().any()


def _per_row_hypernetwork(layer: HyperNetwork, x: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    """ML-Agents' form: one generated weight matrix per row."""
    weights = layer.hypernet(goal).view(-1, layer.input_size, layer.output_size)
    return torch.bmm(x.unsqueeze(1), weights).squeeze(1) + layer.output_bias


@pytest.mark.parametrize("distinct", [1, 2, 5, 12])
def test_hypernetwork_with_few_distinct_goals_matches_the_per_row_form(distinct: int) -> None:
    torch.manual_seed(0)
    layer = HyperNetwork(6, 5, 3, 16)
    with torch.no_grad():
        layer.output_bias.normal_()
    x = torch.randn(12, 6)
    goal = torch.randn(distinct, 3)[torch.arange(12) % distinct]
    ours = layer(x, goal)
    reference = _per_row_hypernetwork(layer, x, goal)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-6)
    upstream = torch.randn_like(ours)
    params = list(layer.parameters())
    grads = torch.autograd.grad((ours * upstream).sum(), params)
    reference_grads = torch.autograd.grad((reference * upstream).sum(), params)
    for name, a, b in zip([n for n, _ in layer.named_parameters()], grads, reference_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6, msg=name)


def test_hypernetwork_generator_starts_small_and_uniform_as_ml_agents() -> None:
    layer = HyperNetwork(128, 64, 2, 128)
    generator = layer.hypernet[-1]
    weight = generator.weight.detach()
    bound = (1.0 / (128 * 128)) ** 0.5
    assert float(weight.abs().max()) <= bound
    assert float(weight.std()) == pytest.approx(bound / 3**0.5, rel=0.05)
    assert not generator.bias.detach().any()


def test_hypernetwork_gradients_land_in_the_flat_optimizer_buffer() -> None:
    """With FlatAdam's preallocated `.grad` views the generator's weight gradient is added
    in place; it must equal autograd's per-row gradient all the same."""
    from mlagents_fast.trainers.flat_adam import FlatAdam

    torch.manual_seed(1)
    layer = HyperNetwork(6, 5, 3, 16)
    x = torch.randn(10, 6)
    goal = torch.eye(3)[torch.arange(10) % 2]
    upstream = torch.randn(10, 5)
    params = list(layer.parameters())
    expected = torch.autograd.grad((_per_row_hypernetwork(layer, x, goal) * upstream).sum(), params)
    optimizer = FlatAdam(params, lr=1e-3)
    for _ in range(2):  # the second pass checks the buffer was zeroed, not summed over
        optimizer.zero_grad()
        (layer(x, goal) * upstream).sum().backward()
    optimizer.check_gradients_in_place()
    for (name, p), e in zip(layer.named_parameters(), expected, strict=True):
        torch.testing.assert_close(p.grad, e, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("fused_above", [1 << 30, 0], ids=["flat-step", "torch-fused-step"])
def test_hypernetwork_acting_cache_follows_every_parameter_change(fused_above: int) -> None:
    from mlagents_fast.trainers.flat_adam import FlatAdam

    torch.manual_seed(2)
    layer = HyperNetwork(6, 5, 3, 16)
    x = torch.randn(8, 6)
    goal = torch.eye(3)[torch.arange(8) % 2]
    optimizer = FlatAdam(list(layer.parameters()), lr=1e-2, fused_above=fused_above)

    def acting() -> torch.Tensor:
        with torch.inference_mode():
            return layer(x, goal)

    first = acting()
    torch.testing.assert_close(acting(), first)
    (layer(x, goal).square().sum()).backward()
    optimizer.step()  # writes the flat storage, not the parameters' own tensors
    after_step = acting()
    assert not torch.allclose(after_step, first)
    with torch.no_grad():
        torch.testing.assert_close(after_step, _per_row_hypernetwork(layer, x, goal), rtol=1e-5, atol=1e-6)
        layer.hypernet[0].weight.mul_(0.5)  # a plain in-place edit, as load_state_dict makes
        torch.testing.assert_close(acting(), _per_row_hypernetwork(layer, x, goal), rtol=1e-5, atol=1e-6)


def test_hypernetwork_with_a_frozen_generator_leaves_its_gradient_alone() -> None:
    torch.manual_seed(3)
    layer = HyperNetwork(6, 5, 3, 16)
    generator = layer.hypernet[-1]
    generator.weight.requires_grad_(False)
    generator.weight.grad = torch.zeros_like(generator.weight)
    x = torch.randn(10, 6, requires_grad=True)
    goal = torch.eye(3)[torch.arange(10) % 2]
    (grad_x,) = torch.autograd.grad(layer(x, goal).sum(), [x])
    (expected,) = torch.autograd.grad(_per_row_hypernetwork(layer, x, goal).sum(), [x])
    torch.testing.assert_close(grad_x, expected, rtol=1e-5, atol=1e-6)
    assert not generator.weight.grad.any()


@pytest.mark.parametrize(
    ("kind", "size", "flat"),
    [
        ("simple", 84, 32 * 9 * 9),
        ("nature_cnn", 84, 64 * 7 * 7),
        ("resnet", 84, 32 * 9 * 9),  # three unpadded 3/2 poolings: 84 -> 41 -> 20 -> 9
        ("match3", 8, 144 * 4 * 4),  # two unpadded 3x3 convolutions
        ("fully_connected", 5, 3 * 5 * 5),
    ],
)
def test_visual_encoders_have_ml_agents_shapes(kind: str, size: int, flat: int) -> None:
    """The flattened width before each encoder's dense layer is ML-Agents' (so checkpoints and
    ONNX graphs carry the same parameter shapes), and the minimum resolution still encodes."""
    from mlagents_fast.networks.encoders import VISUAL_ENCODERS

    encoder_class = VISUAL_ENCODERS[kind]
    encoder = encoder_class(size, size, 3, 16)
    dense = next(m for m in encoder.modules() if isinstance(m, torch.nn.Linear))
    assert dense.in_features == flat
    assert encoder(torch.zeros(2, 3, size, size)).shape == (2, 16)
    smallest = encoder_class.MIN_RESOLUTION  # type: ignore[attr-defined]
    assert encoder_class(smallest, smallest, 3, 16)(torch.zeros(1, 3, smallest, smallest)).shape == (1, 16)
