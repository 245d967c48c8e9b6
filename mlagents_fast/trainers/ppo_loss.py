"""ML-Agents' PPO loss as one autograd node.

    loss = policy_loss + 0.5 * value_loss - beta * mean(entropy)
    policy_loss = -mean(min(r * A, clamp(r, 1 - eps, 1 + eps) * A)),  r = exp(log_probs - old_log_probs)
    value_loss  = mean(max((R - v)^2, (R - v_clipped)^2)),  v_clipped = v_old + clamp(v - v_old, -eps, eps)

Written out by autograd this is some 25 small nodes whose backward, for the tiny batches of
PPO, costs more than the arithmetic. Here the gradients are formed in the forward pass from
the same masks autograd would use, and backward only scales them. `ppo_loss_reference`
is the plain autograd version the tests compare it with.
"""

from __future__ import annotations

from typing import Any

import torch


def ppo_loss_gradients(
    log_probs: torch.Tensor, values: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor,
    old_values: torch.Tensor, returns: torch.Tensor, epsilon: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """(policy_loss, value_loss, d loss / d log_probs, d loss / d values), the derivatives of
    policy_loss + 0.5 * value_loss formed from the same masks autograd would use. The entropy
    term's derivative is simply -beta / B for every row."""
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


class _PPOLoss(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, log_probs: torch.Tensor, values: torch.Tensor, entropy: torch.Tensor, old_log_probs: torch.Tensor,
        advantages: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, epsilon: float, beta: float,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        policy_loss, value_loss, grad_log_probs, grad_values = ppo_loss_gradients(
            log_probs, values, old_log_probs, advantages, old_values, returns, epsilon
        )
        loss = policy_loss + 0.5 * value_loss - beta * entropy.mean()
        ctx.save_for_backward(grad_log_probs, grad_values)
        ctx.entropy_grad = -beta / entropy.numel()
        ctx.entropy_shape = entropy.shape
        ctx.mark_non_differentiable(policy_loss, value_loss)
        return loss, policy_loss.detach(), value_loss.detach()

    @staticmethod
    def backward(ctx: Any, grad_loss: torch.Tensor, *_: Any) -> tuple[torch.Tensor | None, ...]:
        grad_log_probs, grad_values = ctx.saved_tensors
        grad_entropy = torch.full(ctx.entropy_shape, ctx.entropy_grad, device=grad_loss.device) * grad_loss
        return grad_log_probs * grad_loss, grad_values * grad_loss, grad_entropy, None, None, None, None, None, None


def ppo_loss(
    log_probs: torch.Tensor, values: torch.Tensor, entropy: torch.Tensor, old_log_probs: torch.Tensor,
    advantages: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, epsilon: float, beta: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """(loss, policy_loss, value_loss). log_probs [B, D] (per action dimension, as ML-Agents),
    advantages [B, 1], values / old_values / returns [S, B] (one row per value head), entropy [B]."""
    out: tuple[torch.Tensor, torch.Tensor, torch.Tensor] = _PPOLoss.apply(
        log_probs, values, entropy, old_log_probs, advantages, old_values, returns, epsilon, beta
    )
    return out


def ppo_loss_reference(
    log_probs: torch.Tensor, values: torch.Tensor, entropy: torch.Tensor, old_log_probs: torch.Tensor,
    advantages: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, epsilon: float, beta: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """The same loss written plainly, differentiated by autograd."""
    ratio = torch.exp(log_probs - old_log_probs)
    surrogate = torch.min(ratio * advantages, torch.clamp(ratio, 1.0 - epsilon, 1.0 + epsilon) * advantages)
    policy_loss = -surrogate.mean()
    clipped = old_values + torch.clamp(values - old_values, -epsilon, epsilon)
    value_loss = torch.max((returns - values) ** 2, (returns - clipped) ** 2).mean(dim=1).mean()
    loss = policy_loss + 0.5 * value_loss - beta * entropy.mean()
    return loss, policy_loss.detach(), value_loss.detach()
