"""ML-Agents' hybrid action model: a Gaussian with a state-independent log sigma for the
continuous part, one masked categorical per discrete branch.

Log-probabilities are kept per action dimension (continuous dims, then one per branch),
as ML-Agents' PPO takes its probability ratios per dimension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from mlagents_fast.networks.layers import linear
from mlagents_fast.spec import ActionSpec

LOG_2PI = math.log(2.0 * math.pi)
EPSILON = 1e-7  # ML-Agents' epsilon inside log-probabilities and entropies
MASK_PENALTY = 1e8  # blocked logits are pushed down by this much, as ML-Agents does
CONTINUOUS_CLIP = 3.0  # a Gaussian's actions reach the environment clipped to [-3, 3], then divided by 3


@dataclass
class ActionOutput:
    continuous: torch.Tensor  # [B, C] sampled (or mean), unclipped
    discrete: torch.Tensor  # [B, D] int64 choices
    log_probs: torch.Tensor  # [B, C + D]
    entropy: torch.Tensor  # [B]
    mean_entropy: float | None = None  # entropy.mean(), when the producer computed it anyway


def _sample(log_p: torch.Tensor) -> torch.Tensor:
    """One draw per row from softmax probabilities: inverse transform on the cumulative sum.

    A third of torch.multinomial's cost on small batches. `right=True` and a draw scaled
    below the row's total never land on a zero-probability (masked) choice.
    """
    cdf = torch.cumsum(torch.exp(log_p), dim=1)
    draw = torch.rand(log_p.shape[0], 1, device=log_p.device, dtype=cdf.dtype) * cdf[:, -1:]
    return torch.searchsorted(cdf, draw, right=True).clamp_max_(log_p.shape[1] - 1)


class MaskedBranches(nn.Module):
    """The discrete branches' part every action model shares: `logits` [hidden -> sum(branches)]."""

    branches: tuple[int, ...]
    logits: nn.Linear

    def branch_logits(self, h: torch.Tensor, allowed: torch.Tensor) -> list[torch.Tensor]:
        """Per branch, logits with blocked choices set to -1e8: the values of ML-Agents'
        `logits * allowed - 1e8 * (1 - allowed)`, in one op instead of four."""
        logits = torch.where(allowed > 0.5, self.logits(h), -MASK_PENALTY)
        return [logits] if len(self.branches) == 1 else list(torch.split(logits, list(self.branches), dim=1))

    def deterministic_discrete(self, h: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        return torch.cat([bl.argmax(dim=1, keepdim=True) for bl in self.branch_logits(h, allowed)], dim=1)


class ActionModel(MaskedBranches):
    def __init__(self, hidden_units: int, spec: ActionSpec) -> None:
        super().__init__()
        self.continuous_size = spec.continuous_size
        self.branches = tuple(spec.discrete_branches)
        if self.continuous_size:
            self.mu = linear(hidden_units, self.continuous_size, gain=0.2)
            self.log_sigma = nn.Parameter(torch.zeros(1, self.continuous_size))
        if self.branches:
            self.logits = linear(hidden_units, sum(self.branches), gain=0.1)

    def forward(self, h: torch.Tensor, allowed: torch.Tensor, deterministic: bool = False) -> ActionOutput:
        """Sample actions (or take the most likely ones) with their log-probabilities and entropy."""
        batch = h.shape[0]
        log_probs, entropy = [], torch.zeros(batch, device=h.device)
        continuous = torch.zeros(batch, 0, device=h.device)
        discrete = torch.zeros(batch, 0, dtype=torch.int64, device=h.device)
        if self.continuous_size:
            mu = self.mu(h)
            sigma = torch.exp(self.log_sigma).expand_as(mu)
            continuous = mu if deterministic else mu + torch.randn_like(mu) * sigma
            log_probs.append(self._gaussian_log_prob(continuous, mu))
            entropy = entropy + self._gaussian_entropy(batch)
        if self.branches:
            choices = []
            for branch_logits in self.branch_logits(h, allowed):
                log_p = torch.log_softmax(branch_logits, dim=1)
                if deterministic:
                    choice = branch_logits.argmax(dim=1, keepdim=True)
                else:
                    choice = _sample(log_p)
                choices.append(choice)
                log_probs.append(log_p.gather(1, choice))
                entropy = entropy - (torch.exp(log_p) * log_p).sum(dim=1)
            discrete = torch.cat(choices, dim=1)
        return ActionOutput(continuous, discrete, torch.cat(log_probs, dim=1), entropy)

    def evaluate(
        self, h: torch.Tensor, allowed: torch.Tensor, continuous: torch.Tensor, discrete: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities `[B, C + D]` and entropy `[B]` of given actions under the current policy."""
        batch = h.shape[0]
        log_probs, entropy = [], torch.zeros(batch, device=h.device)
        if self.continuous_size:
            log_probs.append(self._gaussian_log_prob(continuous, self.mu(h)))
            entropy = entropy + self._gaussian_entropy(batch)
        if self.branches:
            for b, branch_logits in enumerate(self.branch_logits(h, allowed)):
                log_p = torch.log_softmax(branch_logits, dim=1)
                log_probs.append(log_p.gather(1, discrete[:, b : b + 1]))
                entropy = entropy - (torch.exp(log_p) * log_p).sum(dim=1)
        return torch.cat(log_probs, dim=1), entropy

    def _gaussian_log_prob(self, x: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
        variance = torch.exp(2.0 * self.log_sigma)
        return -torch.square(x - mu) / (2.0 * variance + EPSILON) - (self.log_sigma + 0.5 * LOG_2PI)

    def _gaussian_entropy(self, batch: int) -> torch.Tensor:
        # The same for every row (sigma does not depend on the state): computed once, broadcast.
        # ML-Agents averages the Gaussian's entropy over its dimensions (and sums the branches').
        per_dim = 0.5 * torch.log(2.0 * math.pi * math.e * torch.exp(2.0 * self.log_sigma) + EPSILON)
        return per_dim.mean().expand(batch)

    def deterministic_continuous(self, h: torch.Tensor) -> torch.Tensor:
        return self.mu(h)

    def exported_continuous(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(sampled, deterministic) continuous actions as the environment takes them: clipped to
        [-3, 3] and divided by 3, as ML-Agents' unsquashed policies send them."""
        mu = self.mu(h)
        sampled = mu + torch.randn_like(mu) * torch.exp(self.log_sigma)
        return (torch.clamp(sampled, -CONTINUOUS_CLIP, CONTINUOUS_CLIP) / CONTINUOUS_CLIP,
                torch.clamp(mu, -CONTINUOUS_CLIP, CONTINUOUS_CLIP) / CONTINUOUS_CLIP)  # fmt: skip
