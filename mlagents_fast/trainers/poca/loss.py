"""MA-POCA's loss (ML-Agents' poca/optimizer_torch.py), written plainly for autograd.

    loss = policy_loss + 0.5 * (value_loss + 0.5 * baseline_loss) - beta * mean(entropy)
    policy_loss   = PPO's clipped surrogate with the advantage returns - baseline
    value_loss    = mean over value heads of mean((R - V)^2)
    baseline_loss = mean over value heads of mean(max((R - B)^2, (R - B_clipped)^2)),
                    B_clipped = B_old + clamp(B - B_old, -eps, eps)

ML-Agents keys the "old" values under the returns' buffer key, so its value loss compares the
returns with themselves when it clips: in effect unclipped, as written here. Every mean is over
the steps `mask` marks (not the steps an agent sat out).
"""

from __future__ import annotations

import torch


def _masked_mean(x: torch.Tensor, weights: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Mean over the last axis, weighted by `weights` [B] (then over the leading ones)."""
    return ((x * weights).sum(dim=-1) / count).mean()


def poca_loss(
    log_probs: torch.Tensor, entropy: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor,
    values: torch.Tensor, baselines: torch.Tensor, old_baselines: torch.Tensor, returns: torch.Tensor,
    epsilon: float, beta: float, mask: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """(loss, policy_loss, value_loss, baseline_loss), the last three detached. log_probs [B, D],
    advantages [B, 1], values / baselines / old_baselines / returns [S, B], entropy [B], mask [B]."""
    weights = mask.to(log_probs.dtype)
    count = weights.sum().clamp(min=1.0)
    ratio = torch.exp(log_probs - old_log_probs)
    surrogate = torch.min(ratio * advantages, torch.clamp(ratio, 1.0 - epsilon, 1.0 + epsilon) * advantages)
    policy_loss = -_masked_mean(surrogate.t(), weights, count)
    value_loss = _masked_mean((returns - values) ** 2, weights, count)
    clipped = old_baselines + torch.clamp(baselines - old_baselines, -epsilon, epsilon)
    baseline_errors = torch.max((returns - baselines) ** 2, (returns - clipped) ** 2)
    baseline_loss = _masked_mean(baseline_errors, weights, count)
    entropy_mean = (entropy * weights).sum() / count
    loss = policy_loss + 0.5 * (value_loss + 0.5 * baseline_loss) - beta * entropy_mean
    return loss, policy_loss.detach(), value_loss.detach(), baseline_loss.detach()
