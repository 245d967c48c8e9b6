"""SAC's networks, as ML-Agents builds them: a squashed-Gaussian actor, twin Q networks.

- The actor's continuous actions are tanh(mu + sigma * noise) with a state-dependent log sigma
  clamped to [-20, 2] (ML-Agents' `conditional_sigma`, `tanh_squash`); they reach the
  environment as they are, in [-1, 1]. Discrete branches are masked categoricals as in PPO,
  and SAC reads every choice's log-probability, not only the chosen one's.
- A Q network takes the continuous actions beside the encoded observations and has, per
  reward signal, one output (continuous actions only) or one per discrete choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mlagents_fast.networks.actions import EPSILON, LOG_2PI, MaskedBranches
from mlagents_fast.networks.actor_critic import NetworkBody
from mlagents_fast.networks.layers import linear
from mlagents_fast.spec import ActionSpec, BehaviorSpec

LOG_SIGMA_MIN, LOG_SIGMA_MAX = -20.0, 2.0
LOG_2 = math.log(2.0)


@dataclass
class SACActions:
    """Sampled actions and what SAC's losses read of them, for a batch of B rows."""

    continuous: torch.Tensor  # [B, C] in [-1, 1]
    continuous_log_probs: torch.Tensor  # [B, C], per dimension, with the tanh correction
    discrete: torch.Tensor  # [B, D] int64 choices
    discrete_log_probs: torch.Tensor  # [B, sum(branches)]: every choice of every branch
    entropy: torch.Tensor  # [B] (the unsquashed Gaussian's, averaged over dims, plus the branches')


class SquashedActionModel(MaskedBranches):
    def __init__(self, hidden_units: int, spec: ActionSpec) -> None:
        super().__init__()
        self.continuous_size = spec.continuous_size
        self.branches = tuple(spec.discrete_branches)
        if self.continuous_size:
            self.mu = linear(hidden_units, self.continuous_size, gain=0.2)
            self.log_sigma = linear(hidden_units, self.continuous_size, gain=0.2)
        if self.branches:
            self.logits = linear(hidden_units, sum(self.branches), gain=0.1)

    def _gaussian(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mu(h), torch.clamp(self.log_sigma(h), LOG_SIGMA_MIN, LOG_SIGMA_MAX)

    def forward(self, h: torch.Tensor, allowed: torch.Tensor, deterministic: bool = False,
                generator: torch.Generator | None = None) -> SACActions:  # fmt: skip
        """`generator`: where the noise and the choices are drawn from (torch's default if None)."""
        batch, device = h.shape[0], h.device
        continuous = log_probs = torch.zeros(batch, 0, device=device)
        entropy = torch.zeros(batch, device=device)
        if self.continuous_size:
            mu, log_sigma = self._gaussian(h)
            sigma = torch.exp(log_sigma)
            noise = None if deterministic else torch.randn(mu.shape, generator=generator, device=device)
            unsquashed = mu if noise is None else mu + noise * sigma
            continuous = torch.tanh(unsquashed)
            gaussian = -torch.square(unsquashed - mu) / (2.0 * sigma * sigma + EPSILON) - log_sigma - 0.5 * LOG_2PI
            # log |d tanh(x) / dx| = 2 (log 2 - x - softplus(-2x)), the stable form of log(1 - tanh(x)^2)
            log_probs = gaussian - 2.0 * (LOG_2 - unsquashed - F.softplus(-2.0 * unsquashed))
            entropy = entropy + (0.5 * torch.log(2.0 * math.pi * math.e * sigma * sigma + EPSILON)).mean(dim=1)
        discrete = torch.zeros(batch, 0, dtype=torch.int64, device=device)
        all_log_probs = torch.zeros(batch, 0, device=device)
        if self.branches:
            branch_log_probs = [torch.log_softmax(b, dim=1) for b in self.branch_logits(h, allowed)]
            all_log_probs = torch.cat(branch_log_probs, dim=1)
            if deterministic:
                discrete = torch.cat([lp.argmax(dim=1, keepdim=True) for lp in branch_log_probs], dim=1)
            else:
                discrete = torch.cat([torch.multinomial(torch.exp(lp), 1, generator=generator)
                                      for lp in branch_log_probs], dim=1)  # fmt: skip
            for lp in branch_log_probs:
                entropy = entropy - (torch.exp(lp) * lp).sum(dim=1)
        return SACActions(continuous, log_probs, discrete, all_log_probs, entropy)

    def exported_continuous(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(sampled, deterministic) actions as the environment takes them: squashed into [-1, 1]."""
        mu, log_sigma = self._gaussian(h)
        return torch.tanh(mu + torch.randn_like(mu) * torch.exp(log_sigma)), torch.tanh(mu)


class SACActor(nn.Module):
    def __init__(self, spec: BehaviorSpec, body: NetworkBody, hidden_units: int) -> None:
        super().__init__()
        self.network_body = body
        self.action_model = SquashedActionModel(body.output_size, spec.action_spec)

    def forward(self, obs: list[torch.Tensor], allowed: torch.Tensor, deterministic: bool = False,
                generator: torch.Generator | None = None, memories: torch.Tensor | None = None,
                sequence_length: int = 1) -> SACActions:  # fmt: skip
        """With memory, N sequences of `sequence_length` steps from their `memories` [N, memory_size]."""
        if memories is None:
            return self.action_model(self.network_body(obs), allowed, deterministic, generator)
        h, _ = self.network_body.recurrent(obs, memories, sequence_length)
        return self.action_model(h, allowed, deterministic, generator)

    def act_with_memory(self, obs: list[torch.Tensor], allowed: torch.Tensor, memories: torch.Tensor,
                        deterministic: bool = False) -> tuple[SACActions, torch.Tensor]:  # fmt: skip
        """One step of every agent from its memory: the actions and the memories after the step."""
        h, memories = self.network_body.recurrent(obs, memories)
        return self.action_model(h, allowed, deterministic), memories


def _q_heads(inputs: int, signals: int, outputs: int) -> nn.Linear:
    """Per signal `outputs` values as rows of one Linear, each signal's block initialised as
    ML-Agents' `linear_layer(inputs, outputs)`: Xavier-uniform, zero bias."""
    layer = nn.Linear(inputs, signals * outputs)
    bound = math.sqrt(6.0 / (inputs + outputs))
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound)
        layer.bias.zero_()
    return layer


class QNetwork(nn.Module):
    """Q values `[S, B, outputs]`: one output per discrete choice, or one with continuous actions only."""

    def __init__(self, spec: BehaviorSpec, signals: list[str], body: NetworkBody, hidden_units: int) -> None:
        super().__init__()
        self.network_body = body
        self.signals = len(signals)
        self.outputs = max(sum(spec.action_spec.discrete_branches), 1)
        self.heads = _q_heads(body.output_size, self.signals, self.outputs)

    def forward(self, obs: list[torch.Tensor], continuous: torch.Tensor | None, memories: torch.Tensor | None = None,
                sequence_length: int = 1) -> torch.Tensor:  # fmt: skip
        """With memory, N sequences of `sequence_length` steps from their `memories` [N, memory_size]."""
        actions = continuous if continuous is not None and continuous.shape[1] else None
        body = self.network_body
        if memories is None:
            h = body(obs, actions)
        else:
            assert body.memory is not None
            h, _ = body.memory(body(obs, actions), memories, sequence_length)
        return self.heads(h).view(h.shape[0], self.signals, self.outputs).permute(1, 0, 2)
