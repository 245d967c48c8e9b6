"""The fused path's closed-form PPO derivatives against autograd of the plain loss."""

from __future__ import annotations

import pytest
import torch

from mlagents_fast.trainers.ppo.fused.loss_gradients import ppo_loss_gradients
from mlagents_fast.trainers.ppo.loss import ppo_loss


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("signals", "dims"), [(1, 1), (2, 3)])
def test_closed_form_gradients_match_autograd(seed: int, signals: int, dims: int) -> None:
    torch.manual_seed(seed)
    batch, epsilon, beta = 64, 0.2, 5e-3
    old_log_probs = torch.randn(batch, dims) * 0.3 - 1.0
    # Ratios spread inside and outside [0.8, 1.2], values inside and outside the clip range.
    log_probs = (old_log_probs + torch.randn(batch, dims) * 0.3).requires_grad_()
    old_values = torch.randn(signals, batch)
    values = (old_values + torch.randn(signals, batch) * 0.4).requires_grad_()
    entropy = torch.rand(batch).requires_grad_()
    advantages, returns = torch.randn(batch, 1), torch.randn(signals, batch)
    loss, policy_loss, value_loss = ppo_loss(
        log_probs, values, entropy, old_log_probs, advantages, old_values, returns, epsilon, beta
    )
    grad_log_probs, grad_values, grad_entropy = torch.autograd.grad(loss, [log_probs, values, entropy])
    closed = ppo_loss_gradients(log_probs.detach(), values.detach(), old_log_probs, advantages, old_values, returns,
                                epsilon)  # fmt: skip
    torch.testing.assert_close(closed[0], policy_loss)
    torch.testing.assert_close(closed[1], value_loss)
    torch.testing.assert_close(closed[2], grad_log_probs)
    torch.testing.assert_close(closed[3], grad_values)
    # The entropy term's derivative the fused backward uses: -beta / B for every row.
    torch.testing.assert_close(grad_entropy, torch.full((batch,), -beta / batch))


def test_loss_terms_by_hand() -> None:
    """One row, one value head: the clipped surrogate and clipped value loss as ML-Agents writes them."""
    old = torch.tensor([[0.0]])
    new = torch.tensor([[0.5]])  # ratio e^0.5 = 1.65, clipped to 1.2
    advantage = torch.tensor([[2.0]])
    old_value, value, ret = torch.tensor([[1.0]]), torch.tensor([[2.0]]), torch.tensor([[3.0]])
    loss, policy_loss, value_loss = ppo_loss(new, value, torch.tensor([0.7]), old, advantage, old_value, ret, 0.2, 0.01)
    assert policy_loss.item() == pytest.approx(-1.2 * 2.0)
    # v_clipped = 1 + clamp(1, -0.2, 0.2) = 1.2: max((3 - 2)^2, (3 - 1.2)^2) = 3.24
    assert value_loss.item() == pytest.approx(3.24)
    assert loss.item() == pytest.approx(-2.4 + 0.5 * 3.24 - 0.01 * 0.7)
