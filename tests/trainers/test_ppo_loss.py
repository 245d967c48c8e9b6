"""The one-node PPO loss against the plain autograd version: same value, same gradients."""

from __future__ import annotations

import pytest
import torch

from mlagents_fast.trainers.ppo_loss import ppo_loss, ppo_loss_reference


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("signals", "dims"), [(1, 1), (2, 3)])
def test_matches_autograd(seed: int, signals: int, dims: int) -> None:
    torch.manual_seed(seed)
    batch, epsilon, beta = 64, 0.2, 5e-3
    old_log_probs = torch.randn(batch, dims) * 0.3 - 1.0
    # Ratios spread inside and outside [0.8, 1.2], values inside and outside the clip range.
    log_probs = (old_log_probs + torch.randn(batch, dims) * 0.3).requires_grad_()
    old_values = torch.randn(signals, batch)
    values = (old_values + torch.randn(signals, batch) * 0.4).requires_grad_()
    entropy = torch.rand(batch).requires_grad_()
    advantages, returns = torch.randn(batch, 1), torch.randn(signals, batch)
    fixed = (old_log_probs, advantages, old_values, returns, epsilon, beta)
    ours = ppo_loss(log_probs, values, entropy, *fixed)
    ours_grads = torch.autograd.grad(ours[0], [log_probs, values, entropy])
    reference = ppo_loss_reference(log_probs, values, entropy, *fixed)
    reference_grads = torch.autograd.grad(reference[0], [log_probs, values, entropy])
    for a, b in zip(ours, reference, strict=True):
        torch.testing.assert_close(a, b)
    for a, b in zip(ours_grads, reference_grads, strict=True):
        torch.testing.assert_close(a, b)
