"""One SAC gradient step on a replay minibatch, top to bottom, as ML-Agents' TorchSACOptimizer:

1. the policy samples actions for the minibatch's observations (with their log-probabilities);
2. Q1 and Q2 of those actions, Q1 and Q2 of the stored actions, V of the observations and the
   target network's V of the next observations;
3. the four losses (losses.py); one Adam step for the policy, one for Q1 + Q2 + V, one for the
   entropy coefficients; then the target network moves `tau` of the way to V.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mlagents_fast.networks.actor_critic import Critic
from mlagents_fast.trainers.sac import losses
from mlagents_fast.trainers.sac.networks import QNetwork, SACActor


@dataclass(slots=True)
class ReplayMinibatch:
    obs: list[torch.Tensor]
    next_obs: list[torch.Tensor]
    continuous_action: torch.Tensor  # [B, C] (C may be 0)
    discrete_action: torch.Tensor  # [B, D] int64 (D may be 0)
    allowed: torch.Tensor  # [B, A] 1 where a choice is allowed
    rewards: torch.Tensor  # [S, B], each signal's strength applied
    done: torch.Tensor  # [B] 1 where the episode terminated (an interrupted one bootstraps)


class EntropyCoefficients(torch.nn.Module):
    """Learned log coefficients: one for the continuous actions, one per discrete branch."""

    def __init__(self, init_entcoef: float, branches: int) -> None:
        super().__init__()
        self.continuous = torch.nn.Parameter(torch.log(torch.tensor([init_entcoef])))
        self.discrete = torch.nn.Parameter(torch.log(torch.full((branches,), init_entcoef)))


class SACStep:
    def __init__(self, actor: SACActor, q1: QNetwork, q2: QNetwork, critic: Critic, target: Critic,
                 coefficients: EntropyCoefficients, gammas: list[float], tau: float,
                 learning_rate: float) -> None:  # fmt: skip
        self.actor, self.q1, self.q2, self.critic, self.target = actor, q1, q2, critic, target
        self.coefficients, self.tau = coefficients, tau
        model = actor.action_model
        self.branches = model.branches
        device = next(actor.parameters()).device
        self.gammas = torch.tensor(gammas, device=device)
        # ML-Agents' targets: -1 per continuous dimension, 0.2 log(size) per branch
        self.target_continuous = -1.0 * model.continuous_size
        self.target_discrete = torch.tensor([0.2 * float(torch.log(torch.tensor(float(b)))) for b in self.branches],
                                            device=device)  # fmt: skip
        self.policy_optimizer = torch.optim.Adam(actor.parameters(), lr=learning_rate)
        value_parameters = [*q1.parameters(), *q2.parameters(), *critic.parameters()]
        self.value_optimizer = torch.optim.Adam(value_parameters, lr=learning_rate)
        self.entropy_optimizer = torch.optim.Adam(coefficients.parameters(), lr=learning_rate)

    def __call__(self, mb: ReplayMinibatch, learning_rate: float) -> dict[str, float]:
        sampled = self.actor(mb.obs, mb.allowed)
        q1_policy = self.q1(mb.obs, sampled.continuous)
        with torch.no_grad():
            q2_policy = self.q2(mb.obs, sampled.continuous)
            next_values = self.target(mb.next_obs)
        q1_taken = losses.taken_q(self.q1(mb.obs, mb.continuous_action), mb.discrete_action, self.branches)
        q2_taken = losses.taken_q(self.q2(mb.obs, mb.continuous_action), mb.discrete_action, self.branches)
        values = self.critic(mb.obs)
        log_continuous, log_discrete = self.coefficients.continuous, self.coefficients.discrete

        q1_loss, q2_loss = losses.q_losses(q1_taken, q2_taken, next_values, mb.rewards, mb.done, self.gammas)
        value_loss = losses.value_loss(values, q1_policy.detach(), q2_policy, sampled.continuous_log_probs.detach(),
                                       sampled.discrete_log_probs.detach(), log_continuous, log_discrete,
                                       self.branches)  # fmt: skip
        policy_loss = losses.policy_loss(q1_policy, sampled.continuous_log_probs, sampled.discrete_log_probs,
                                         log_continuous.detach(), log_discrete.detach(), self.branches)  # fmt: skip
        entropy_loss = losses.entropy_loss(sampled.continuous_log_probs.detach(), sampled.discrete_log_probs.detach(),
                                           log_continuous, log_discrete, self.target_continuous, self.target_discrete,
                                           self.branches)  # fmt: skip

        for optimizer, loss in ((self.policy_optimizer, policy_loss), (self.value_optimizer, q1_loss + q2_loss +
                                value_loss), (self.entropy_optimizer, entropy_loss)):  # fmt: skip
            for group in optimizer.param_groups:
                group["lr"] = learning_rate
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():  # the target follows V slowly
            for target, source in zip(self.target.parameters(), self.critic.parameters(), strict=True):
                target.lerp_(source, self.tau)
        return {
            "Losses/Policy Loss": policy_loss.item(),
            "Losses/Value Loss": value_loss.item(),
            "Losses/Q1 Loss": q1_loss.item(),
            "Losses/Q2 Loss": q2_loss.item(),
            "Policy/Continuous Entropy Coeff": log_continuous.detach().exp().mean().item(),
            "Policy/Discrete Entropy Coeff": log_discrete.detach().exp().mean().item() if self.branches else 0.0,
            "Policy/Learning Rate": learning_rate,
            "values": values.detach().mean().item(),
        }
