"""ML-Agents' PPO loss, written plainly and differentiated by autograd.

    loss = policy_loss + 0.5 * value_loss - beta * mean(entropy)
    policy_loss = -mean(min(r * A, clamp(r, 1 - eps, 1 + eps) * A)),  r = exp(log_probs - old_log_probs)
    value_loss  = mean over value heads of mean(max((R - v)^2, (R - v_clipped)^2)),
                  v_clipped = v_old + clamp(v - v_old, -eps, eps)

The fused CPU path (fused/loss_gradients.py) forms the same derivatives in closed form; the
tests hold the two together. With memory, `mask` [B] marks the steps of sequences that are not
padding: every mean is then over those steps only (ML-Agents' masked_mean).
"""

from __future__ import annotations

import torch


def ppo_loss(
    log_probs: torch.Tensor, values: torch.Tensor, entropy: torch.Tensor, old_log_probs: torch.Tensor,
    advantages: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, epsilon: float, beta: float,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """(loss, policy_loss, value_loss); the last two detached. log_probs [B, D] (per action
    dimension, as ML-Agents), advantages [B, 1], values / old_values / returns [S, B] (one row
    per value head), entropy [B]; `mask` [B] (bool), the steps to count."""
    ratio = torch.exp(log_probs - old_log_probs)
    surrogate = torch.min(ratio * advantages, torch.clamp(ratio, 1.0 - epsilon, 1.0 + epsilon) * advantages)
    clipped = old_values + torch.clamp(values - old_values, -epsilon, epsilon)
    value_errors = torch.max((returns - values) ** 2, (returns - clipped) ** 2)
    if mask is None:
        policy_loss = -surrogate.mean()
        value_loss = value_errors.mean(dim=1).mean()
        entropy_mean = entropy.mean()
    else:
        weights = mask.to(surrogate.dtype)
        count = weights.sum().clamp(min=1.0)
        policy_loss = -(surrogate * weights.unsqueeze(1)).sum() / (count * surrogate.shape[1])
        value_loss = ((value_errors * weights).sum(dim=1) / count).mean()
        entropy_mean = (entropy * weights).sum() / count
    loss = policy_loss + 0.5 * value_loss - beta * entropy_mean
    return loss, policy_loss.detach(), value_loss.detach()
