"""PPO with memory, fused (trainers/ppo/fused/recurrent.py), against the modules with autograd
(trainers/ppo/recurrent.py) on the same networks: the same gradients for a minibatch of sequences
with padding, and the same values, actions and memories when acting."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from mlagents_fast.networks.actor_critic import Actor, Critic
from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec
from mlagents_fast.trainers.agent_memories import Memories
from mlagents_fast.trainers.flat_adam import FlatAdam
from mlagents_fast.trainers.fused_bodies import parameter_order
from mlagents_fast.trainers.ppo.fused import recurrent as fused_recurrent
from mlagents_fast.trainers.ppo.minibatch import Minibatch
from mlagents_fast.trainers.ppo.recurrent import RecurrentActing, RecurrentStep
from mlagents_fast.trainers.stats import NetworkClock

MEMORY, LENGTH, SEQUENCES = 12, 5, 3
SPECS = {
    "discrete": BehaviorSpec((ObservationSpec.vector(4),), ActionSpec(0, (3, 2))),
    "continuous, two inputs": BehaviorSpec((ObservationSpec.vector(3), ObservationSpec.vector(2)), ActionSpec(2, ())),
    "hybrid": BehaviorSpec((ObservationSpec.vector(5),), ActionSpec(1, (2,))),
}


def _networks(spec: BehaviorSpec, normalize: bool) -> tuple[Actor, Critic, FlatAdam]:
    torch.manual_seed(3)
    actor = Actor(spec, normalize=normalize, hidden_units=16, num_layers=2, memory_size=MEMORY)
    critic = Critic(spec, ["extrinsic", "curiosity"], normalize, 16, 2, memory_size=MEMORY)
    with torch.no_grad():
        if actor.action_model.continuous_size:
            actor.action_model.log_sigma.uniform_(-0.5, 0.5)
        for network in (actor, critic):
            for i, processor in network.network_body.vector_inputs():
                size = spec.observation_specs[i].shape[0]
                processor.set_statistics(torch.randn(size) * 0.1, torch.rand(size) + 0.5)
    return actor, critic, FlatAdam(parameter_order(actor, critic), lr=1e-3)


def _minibatch(spec: BehaviorSpec) -> Minibatch:
    rows = SEQUENCES * LENGTH
    action = spec.action_spec
    branches = action.discrete_branches
    mask = torch.ones(rows, dtype=torch.bool)
    mask[-2:] = False  # the last sequence ends in padding
    blocked = torch.zeros(rows, sum(branches), dtype=torch.bool)
    discrete = torch.zeros(rows, len(branches), dtype=torch.int32)
    start = 0
    for b, size in enumerate(branches):
        blocked[:, start + size - 1] = torch.rand(rows) < 0.4  # the last choice of each branch, sometimes
        discrete[:, b] = torch.randint(0, size - 1, (rows,))
        start += size
    return Minibatch(
        obs=[torch.randn(rows, o.shape[0]) for o in spec.observation_specs],
        continuous_action=torch.randn(rows, action.continuous_size) if action.continuous_size else None,
        discrete_action=discrete if branches else None, action_mask=blocked if branches else None,
        old_log_probs=torch.randn(rows, action.continuous_size + len(branches)) * 0.3 - 1.0,
        advantages=torch.randn(rows), old_values=torch.randn(2, rows), returns=torch.randn(2, rows),
        memory=torch.randn(rows, MEMORY) * 0.5, critic_memory=torch.randn(SEQUENCES, MEMORY) * 0.5,
        mask=mask, sequence_length=LENGTH,
    )  # fmt: skip


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("case", list(SPECS))
def test_the_fused_step_gives_autograds_gradients(case: str, normalize: bool) -> None:
    spec = SPECS[case]
    actor, critic, optimizer = _networks(spec, normalize)
    assert fused_recurrent.supports(actor, critic)
    twin_actor, twin_critic = copy.deepcopy(actor), copy.deepcopy(critic)
    twin_optimizer = FlatAdam(parameter_order(twin_actor, twin_critic), lr=1e-3)
    torch.manual_seed(5)
    mb = _minibatch(spec)
    reference = RecurrentStep(actor, critic, optimizer, NetworkClock())
    fused = fused_recurrent.FusedRecurrentStep(twin_actor, twin_critic, twin_optimizer, NetworkClock())
    for _ in range(2):  # twice: the second from the weights both Adam steps moved
        policy_loss, value_loss = reference(mb, 0.2, 5e-3)
        fused_policy_loss, fused_value_loss = fused(mb, 0.2, 5e-3)
        assert fused_policy_loss == pytest.approx(float(policy_loss), rel=1e-4, abs=1e-6)
        assert fused_value_loss == pytest.approx(float(value_loss), rel=1e-4, abs=1e-6)
        for (name, ours), theirs in zip(
            [*twin_actor.named_parameters(), *twin_critic.named_parameters()],
            [*actor.parameters(), *critic.parameters()], strict=True,
        ):  # fmt: skip
            assert ours.grad is not None and theirs.grad is not None
            scale = max(1.0, float(theirs.grad.abs().max()))
            torch.testing.assert_close(ours.grad, theirs.grad, rtol=0.0, atol=2e-5 * scale, msg=name)


@pytest.mark.parametrize("case", list(SPECS))
def test_fused_acting_gives_the_modules_values_actions_and_memories(case: str) -> None:
    spec = SPECS[case]
    actor, critic, _ = _networks(spec, normalize=True)
    agents = 7
    memories = [Memories(agents, MEMORY) for _ in range(2)]
    for m in memories:
        m.actor[:] = np.linspace(-1, 1, agents * MEMORY, dtype=np.float32).reshape(agents, MEMORY)
        m.critic[:] = -m.actor
    reference = RecurrentActing(actor, critic, torch.device("cpu"), memories[0])
    fused = fused_recurrent.FusedRecurrentActing(actor, critic, memories[1])
    obs = [torch.randn(agents, o.shape[0]) for o in spec.observation_specs]
    branches = spec.action_spec.discrete_branches
    mask = np.zeros((agents, sum(branches)), np.bool_) if branches else None
    if mask is not None:
        mask[:, 0] = True  # the first choice blocked
    with torch.inference_mode():
        values, out = reference(obs, mask, deterministic=True)
        fused_values, fused_out = fused(obs, mask, deterministic=True)
    torch.testing.assert_close(fused_values, values, rtol=0.0, atol=1e-5)
    torch.testing.assert_close(fused_out.log_probs, out.log_probs, rtol=0.0, atol=1e-4)
    if branches:
        assert torch.equal(fused_out.discrete.long(), out.discrete.long()) and (fused_out.discrete[:, 0] != 0).all()
    if spec.action_spec.continuous_size:
        torch.testing.assert_close(fused_out.continuous, out.continuous, rtol=0.0, atol=1e-5)
    np.testing.assert_allclose(memories[1].next_actor, memories[0].next_actor, atol=1e-5)
    np.testing.assert_allclose(memories[1].next_critic, memories[0].next_critic, atol=1e-5)
    assert np.abs(memories[1].next_actor - memories[1].actor).max() > 1e-3  # the step moved them
