"""MA-POCA's centralized critic (networks/poca.py): values and baselines over a variable number
of group members, absent members ignored, member order irrelevant, the member-count feature as
ML-Agents scales it, and the baseline of an agent alone equal to its value."""

from __future__ import annotations

import torch

from mlagents_fast.networks.poca import POCACritic, flat_actions
from mlagents_fast.spec import ActionSpec, BehaviorSpec, DimensionProperty, ObservationSpec

SPEC = BehaviorSpec((ObservationSpec.vector(4), ObservationSpec.vector(2)), ActionSpec(1, (3, 2)))


def _critic() -> POCACritic:
    torch.manual_seed(0)
    return POCACritic(SPEC, ["extrinsic", "curiosity"], normalize=False, hidden_units=16, num_layers=2)


def _members(batch: int, members: int) -> list[torch.Tensor]:
    return [torch.randn(batch, members, *o.shape) for o in SPEC.observation_specs]


def test_values_ignore_absent_members_and_member_order() -> None:
    critic = _critic()
    obs = _members(5, 3)
    present = torch.tensor([[True, True, False]] * 5)
    values = critic.value(obs, present)
    assert values.shape == (2, 5)
    changed = [o.clone() for o in obs]
    for o in changed:
        o[:, 2] = 100.0  # the absent member's observations do not count
    torch.testing.assert_close(critic.value(changed, present), values)
    order = torch.tensor([1, 0, 2])
    torch.testing.assert_close(critic.value([o[:, order] for o in obs], present[:, order]), values)
    assert not torch.allclose(critic.value(obs, torch.ones(5, 3, dtype=torch.bool)), values)


def test_the_member_count_is_scaled_against_the_most_seen() -> None:
    critic = _critic()
    obs = _members(2, 4)
    assert float(critic.max_agents) == 1.0
    critic.value(obs, torch.tensor([[True, True, True, False], [True, False, False, False]]))
    assert float(critic.max_agents) == 3.0  # kept with the weights
    assert "max_agents" in critic.state_dict()
    critic.value(obs, torch.tensor([[True, False, False, False]] * 2))
    assert float(critic.max_agents) == 3.0


def test_the_baseline_reads_the_mates_actions_and_not_the_agents_own() -> None:
    critic = _critic()
    own = [o[:, 0] for o in _members(6, 1)]
    mates = _members(6, 2)
    actions = flat_actions(torch.randn(6, 2, 1), torch.randint(0, 2, (6, 2, 2)), (3, 2))
    assert actions.shape == (6, 2, 1 + 3 + 2) and torch.equal(actions[..., 1:4].sum(-1), torch.ones(6, 2))
    present = torch.ones(6, 2, dtype=torch.bool)
    baselines = critic.baseline(own, mates, actions, present)
    assert baselines.shape == (2, 6)
    other = actions.clone()
    other[:, 0, 0] += 1.0  # a mate's action changes the baseline
    assert not torch.allclose(critic.baseline(own, mates, other, present), baselines)
    alone = critic.baseline(own, [m[:, :0] for m in mates], actions[:, :0], present[:, :0])
    torch.testing.assert_close(alone, critic.value([o.unsqueeze(1) for o in own], torch.ones(6, 1, dtype=torch.bool)))
    nobody = critic.baseline(own, mates, actions, torch.zeros(6, 2, dtype=torch.bool))
    torch.testing.assert_close(nobody, alone)  # absent mates count for nothing


def test_gradients_reach_every_parameter() -> None:
    critic = _critic()
    own = [o[:, 0] for o in _members(4, 1)]
    mates = _members(4, 2)
    actions = flat_actions(torch.randn(4, 2, 1), torch.randint(0, 2, (4, 2, 2)), (3, 2))
    loss = critic.value(_members(4, 3), torch.ones(4, 3, dtype=torch.bool)).sum()
    loss = loss + critic.baseline(own, mates, actions, torch.ones(4, 2, dtype=torch.bool)).sum()
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters())


def test_a_members_variable_length_observations_are_read_through_attention() -> None:
    """A member's entities (padding rows of zeros absent) count whatever their order, as in its body."""
    variable = ObservationSpec((4, 2), (DimensionProperty.VARIABLE_SIZE, DimensionProperty.NONE))
    spec = BehaviorSpec((ObservationSpec.vector(3), variable), ActionSpec(0, (2,)))
    torch.manual_seed(0)
    critic = POCACritic(spec, ["extrinsic"], normalize=False, hidden_units=16, num_layers=1)
    vector, entities = torch.randn(6, 2, 3), torch.randn(6, 2, 4, 2)
    entities[:, :, 3] = 0.0  # the fourth entity is padding
    present = torch.ones(6, 2, dtype=torch.bool)
    values = critic.value([vector, entities], present)
    order = torch.tensor([2, 0, 1, 3])
    torch.testing.assert_close(critic.value([vector, entities[:, :, order]], present), values)
    fewer = entities.clone()
    fewer[:, :, 2] = 0.0
    assert not torch.allclose(critic.value([vector, fewer], present), values)
