"""One SAC gradient step on a replay minibatch, top to bottom, as ML-Agents' TorchSACOptimizer:

1. the policy samples actions for the minibatch's observations (with their log-probabilities);
2. Q1 and Q2 of those actions, Q1 and Q2 of the stored actions, V of the observations and the
   target network's V of the next observations;
3. the four losses (losses.py); their gradients, and one Adam step over every parameter (the
   policy's, Q1 + Q2 + V's and the entropy coefficients': ML-Agents' three Adams as one); then
   the target network moves `tau` of the way to V.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mlagents_fast.networks.actor_critic import Critic
from mlagents_fast.trainers.flat_adam import FlatAdam
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


def _pack(parameters: list[torch.nn.Parameter]) -> torch.Tensor:
    """Lay `parameters` side by side in one flat tensor (each becomes a view of it); returns it."""
    flat = torch.cat([p.detach().reshape(-1) for p in parameters])
    offset = 0
    for p in parameters:
        p.data = flat[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
    return flat


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
        # One Adam over every trained parameter: ML-Agents' three Adams (policy, Q1 + Q2 + V, entropy
        # coefficients) share the learning rate and betas and step together, and Adam is elementwise,
        # so one step over the flat buffer is theirs. V's parameters come first, as one slice.
        self.critic_parameters = sum(p.numel() for p in critic.parameters())
        self.trained = [p for p in (*critic.parameters(), *q1.parameters(), *q2.parameters(), *actor.parameters(),
                                    *coefficients.parameters()) if p.numel()]  # fmt: skip
        self.optimizer = FlatAdam(self.trained, lr=learning_rate)
        self.actor_parameters = list(actor.parameters())
        self.target_parameters = list(target.parameters())
        self.target_flat = _pack(self.target_parameters)
        self._gradients_checked = False

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

        self.optimizer.param_groups[0]["lr"] = learning_rate
        self.optimizer.zero_grad()
        # The policy's gradient reaches the actor through Q1 of its actions; Q1's own parameters take
        # theirs from the Q losses only (ML-Agents clears what the policy loss left in them).
        policy_loss.backward(inputs=self.actor_parameters)
        (q1_loss + q2_loss + value_loss + entropy_loss).backward()
        if not self._gradients_checked:
            self.optimizer.check_gradients_in_place()
            self._gradients_checked = True
        self.optimizer.step()
        with torch.no_grad():  # the target follows V slowly (V's parameters: the flat buffer's first slice)
            self.target_flat.lerp_(self.optimizer.flat[: self.critic_parameters], self.tau)
        torch.autograd.graph.increment_version(self.target_parameters)
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
