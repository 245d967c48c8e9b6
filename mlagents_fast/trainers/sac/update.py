"""One SAC gradient step on a replay minibatch, top to bottom, as ML-Agents' TorchSACOptimizer:

1. the policy samples actions for the minibatch's observations (with their log-probabilities);
2. Q1 and Q2 of those actions, Q1 and Q2 of the stored actions, V of the observations and the
   target network's V of the next observations;
3. the four losses (losses.py); their gradients, and one Adam step over every parameter (the
   policy's, Q1 + Q2 + V's and the entropy coefficients': ML-Agents' three Adams as one); then
   the target network moves `tau` of the way to V.

The gradients come from one of two paths, chosen once from what the networks are: the plain
one below (the modules, losses.py, autograd) or fused.py's hand-written one (continuous
actions, all-vector MLPs), parity-tested against it. Both step the same FlatAdam, whose flat
buffer `parameter_order` lays out so that the fused path can run network pairs as one.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mlagents_fast.networks.actor_critic import Critic
from mlagents_fast.trainers import fused_bodies
from mlagents_fast.trainers.flat_adam import FlatAdam
from mlagents_fast.trainers.sac import losses
from mlagents_fast.trainers.sac.fused import FusedSACGradients
from mlagents_fast.trainers.sac.minibatch import ReplayMinibatch
from mlagents_fast.trainers.sac.networks import QNetwork, SACActor

__all__ = ["EntropyCoefficients", "ReplayMinibatch", "SACStep", "parameter_order"]


class EntropyCoefficients(torch.nn.Module):
    """Learned log coefficients: one for the continuous actions, one per discrete branch."""

    def __init__(self, init_entcoef: float, branches: int) -> None:
        super().__init__()
        self.continuous = torch.nn.Parameter(torch.log(torch.tensor([init_entcoef])))
        self.discrete = torch.nn.Parameter(torch.log(torch.full((branches,), init_entcoef)))


def parameter_order(actor: SACActor, q1: QNetwork, q2: QNetwork, critic: Critic,
                    coefficients: EntropyCoefficients) -> list[nn.Parameter]:  # fmt: skip
    """Every trained parameter once: the actor's and V's body layers side by side, then their
    heads; Q1's and Q2's layers and heads side by side; the coefficients. (Networks that cannot
    pair, visual ones, keep their module order; the fused path then does not run.)"""
    ordered = [*fused_bodies.parameter_order(actor, critic),
               *fused_bodies.parameter_order(q1, q2, with_actions=True, extra_pairs=[(q1.heads, q2.heads)]),
               *coefficients.parameters()]  # fmt: skip
    return [p for p in ordered if p.numel()]


class TargetNetwork:
    """The target's parameters in a buffer that mirrors the span of V's parameters in the flat
    buffer (the actor's layers lie between V's, side by side), so the soft update is one lerp
    over that span; the slots between V's are never read."""

    def __init__(self, target: Critic, critic: Critic, flat: torch.Tensor) -> None:
        base, size = flat.data_ptr(), flat.element_size()
        spans = [((p.data_ptr() - base) // size, p.numel()) for p in critic.parameters()]
        self.start, self.end = min(o for o, _ in spans), max(o + n for o, n in spans)
        self.flat = flat.detach()[self.start : self.end].clone()
        self.parameters = list(target.parameters())
        with torch.no_grad():
            for p, (offset, count) in zip(self.parameters, spans, strict=True):
                view = self.flat[offset - self.start : offset - self.start + count].view_as(p)
                view.copy_(p)
                p.data = view

    def follow(self, flat: torch.Tensor, tau: float) -> None:
        with torch.no_grad():
            self.flat.lerp_(flat[self.start : self.end], tau)
        torch.autograd.graph.increment_version(self.parameters)


class AutogradSACGradients:
    """The plain gradients: the modules' forward, losses.py's losses, two backward passes."""

    def __init__(self, actor: SACActor, q1: QNetwork, q2: QNetwork, critic: Critic, target: Critic,
                 coefficients: EntropyCoefficients, gammas: torch.Tensor, optimizer: FlatAdam) -> None:  # fmt: skip
        self.actor, self.q1, self.q2, self.critic, self.target = actor, q1, q2, critic, target
        self.coefficients, self.gammas, self.optimizer = coefficients, gammas, optimizer
        model = actor.action_model
        self.branches = model.branches
        # ML-Agents' targets: -1 per continuous dimension, 0.2 log(size) per branch
        self.target_continuous = -1.0 * model.continuous_size
        self.target_discrete = torch.tensor([0.2 * float(torch.log(torch.tensor(float(b)))) for b in self.branches],
                                            device=gammas.device)  # fmt: skip
        self.actor_parameters = list(actor.parameters())
        self._gradients_checked = False
        self.generator: torch.Generator | None = None  # the policy's noise; torch's default if None

    def __call__(self, mb: ReplayMinibatch) -> torch.Tensor:
        length, mask = mb.sequence_length, mb.mask
        if mb.memory is None:
            sampled = self.actor(mb.obs, mb.allowed, generator=self.generator)
            values = self.critic(mb.obs)
            q_memory = None
            with torch.no_grad():
                next_values = self.target(mb.next_obs)
        else:  # as ML-Agents: the actor and V from the stored memories, the Q networks from zero
            assert mb.critic_memory is not None
            sampled = self.actor(mb.obs, mb.allowed, generator=self.generator, memories=mb.memory,
                                 sequence_length=length)  # fmt: skip
            values, _ = self.critic.values_with_memory(mb.obs, mb.critic_memory, length)
            q_memory = torch.zeros_like(mb.critic_memory)
            with torch.no_grad():  # the target reads the next observations from V's memory one step on
                _, after_first = self.critic.values_with_memory([o[::length] for o in mb.obs], mb.critic_memory)
                next_values, _ = self.target.values_with_memory(mb.next_obs, after_first, length)
        q1_policy = self.q1(mb.obs, sampled.continuous, q_memory, length)
        with torch.no_grad():
            q2_policy = self.q2(mb.obs, sampled.continuous, q_memory, length)
        q1_taken = losses.taken_q(self.q1(mb.obs, mb.continuous_action, q_memory, length), mb.discrete_action,
                                  self.branches)  # fmt: skip
        q2_taken = losses.taken_q(self.q2(mb.obs, mb.continuous_action, q_memory, length), mb.discrete_action,
                                  self.branches)  # fmt: skip
        log_continuous, log_discrete = self.coefficients.continuous, self.coefficients.discrete

        q1_loss, q2_loss = losses.q_losses(q1_taken, q2_taken, next_values, mb.rewards, mb.done, self.gammas, mask)
        value_loss = losses.value_loss(values, q1_policy.detach(), q2_policy, sampled.continuous_log_probs.detach(),
                                       sampled.discrete_log_probs.detach(), log_continuous, log_discrete,
                                       self.branches, mask)  # fmt: skip
        policy_loss = losses.policy_loss(q1_policy, sampled.continuous_log_probs, sampled.discrete_log_probs,
                                         log_continuous.detach(), log_discrete.detach(), self.branches,
                                         mask)  # fmt: skip
        entropy_loss = losses.entropy_loss(sampled.continuous_log_probs.detach(), sampled.discrete_log_probs.detach(),
                                           log_continuous, log_discrete, self.target_continuous, self.target_discrete,
                                           self.branches, mask)  # fmt: skip

        self.optimizer.zero_grad()
        # The policy's gradient reaches the actor through Q1 of its actions; Q1's own parameters take
        # theirs from the Q losses only (ML-Agents clears what the policy loss left in them).
        policy_loss.backward(inputs=self.actor_parameters)
        (q1_loss + q2_loss + value_loss + entropy_loss).backward()
        if not self._gradients_checked:
            self.optimizer.check_gradients_in_place()
            self._gradients_checked = True
        return torch.stack([policy_loss, value_loss, q1_loss, q2_loss]).detach()


class SACStep:
    def __init__(self, actor: SACActor, q1: QNetwork, q2: QNetwork, critic: Critic, target: Critic,
                 coefficients: EntropyCoefficients, gammas: list[float], tau: float, learning_rate: float,
                 fused: bool = True, generator: torch.Generator | None = None) -> None:  # fmt: skip
        """`fused`: use fused.py's gradients where the networks allow them (tests compare the two).
        `generator`: where the policy's noise comes from (torch's default if None): its own, so
        that an update thread's draws do not interleave with acting's."""
        self.coefficients, self.tau, self.branches = coefficients, tau, actor.action_model.branches
        device = next(actor.parameters()).device
        gamma_tensor = torch.tensor(gammas, device=device)
        # One Adam over every trained parameter: ML-Agents' three Adams (policy, Q1 + Q2 + V, entropy
        # coefficients) share the learning rate and betas and step together, and Adam is elementwise,
        # so one step over the flat buffer is theirs.
        self.optimizer = FlatAdam(parameter_order(actor, q1, q2, critic, coefficients), lr=learning_rate)
        self.target = TargetNetwork(target, critic, self.optimizer.flat)
        plain = AutogradSACGradients(actor, q1, q2, critic, target, coefficients, gamma_tensor, self.optimizer)
        fast = FusedSACGradients.create(actor, q1, q2, critic, target, coefficients.continuous, gamma_tensor,
                                        plain.target_continuous) if fused else None  # fmt: skip
        self.gradients: AutogradSACGradients | FusedSACGradients = fast or plain
        self.gradients.generator = generator
        self.fused = fast is not None

    def __call__(self, mb: ReplayMinibatch, learning_rate: float) -> dict[str, float]:
        results = self.gradients(mb)
        self.optimizer.param_groups[0]["lr"] = learning_rate
        self.optimizer.step()
        self.target.follow(self.optimizer.flat, self.tau)
        policy, value, q1, q2 = results if isinstance(results, list) else results.tolist()
        discrete = self.coefficients.discrete.detach()
        return {
            "Losses/Policy Loss": policy,
            "Losses/Value Loss": value,
            "Losses/Q1 Loss": q1,
            "Losses/Q2 Loss": q2,
            "Policy/Continuous Entropy Coeff": math.exp(self.coefficients.continuous.item()),
            "Policy/Discrete Entropy Coeff": discrete.exp().mean().item() if self.branches else 0.0,
            "Policy/Learning Rate": learning_rate,
        }
