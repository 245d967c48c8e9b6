"""Network pieces: goal conditioning, shared critic bodies, masked discrete actions."""

from __future__ import annotations

import torch

from mlagents_fast.networks.actor_critic import Actor, Critic, NetworkBody
from mlagents_fast.networks.conditioning import ConditionalEncoder
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
