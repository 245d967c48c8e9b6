"""The PPO loss's derivatives in closed form, for the fused path's hand-written backward.

Written out by autograd, the loss is some 25 small nodes whose backward, for the tiny batches
of PPO, costs more than the arithmetic. Here the gradients are formed in the forward pass
from the same masks autograd would use (the tests compare them with autograd of ../loss.py).
"""

from __future__ import annotations

import torch


def ppo_loss_gradients(
    log_probs: torch.Tensor, values: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor,
    old_values: torch.Tensor, returns: torch.Tensor, epsilon: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """(policy_loss, value_loss, d loss / d log_probs, d loss / d values), the derivatives of
    policy_loss + 0.5 * value_loss. The entropy term's derivative is simply -beta / B a row."""
    ratio = torch.exp(log_probs - old_log_probs)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - epsilon, 1.0 + epsilon) * advantages
    use_unclipped = unclipped <= clipped  # where min() takes the term that depends on the ratio
    policy_loss = -torch.where(use_unclipped, unclipped, clipped).mean()
    delta = values - old_values
    error = returns - values
    error_clipped = returns - (old_values + delta.clamp(-epsilon, epsilon))
    use_plain = error.square() >= error_clipped.square()
    value_loss = torch.where(use_plain, error, error_clipped).square().mean()
    # d loss / d log_probs: only the unclipped term moves with the ratio (the clipped one is flat
    # outside the range, and equal to the unclipped one inside it).
    grad_log_probs = -(unclipped * use_unclipped) / log_probs.numel()
    # d loss / d values: the plain error, or the clipped one while the clamp is inside its range.
    inside = delta.abs() < epsilon
    grad_values = -(torch.where(use_plain, error, error_clipped * inside)) / values.numel()
    return policy_loss, value_loss, grad_log_probs, grad_values
