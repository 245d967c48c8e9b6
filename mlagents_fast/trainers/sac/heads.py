"""The element-wise part of the fused SAC step: the squashed-Gaussian head, the four losses and
their gradients, between the networks' matrix products (native/include/mlaf/sac_heads.h has
the formulas). Two implementations with one interface:

- `TorchHeads`: tensor ops, on any device;
- `NativeHeads`: three native calls on the CPU instead of about forty small tensor ops.

Tests check both against autograd through the plain step (update.AutogradSACGradients).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from mlagents_fast import _native
from mlagents_fast.networks.actions import EPSILON, LOG_2PI
from mlagents_fast.trainers.sac.networks import LOG_2, LOG_SIGMA_MAX, LOG_SIGMA_MIN


@dataclass
class Squashed:
    """The head's outputs, and what its backward reads."""

    action: torch.Tensor  # [B, C] tanh(u)
    log_prob_sums: torch.Tensor  # [B]
    mu: torch.Tensor
    raw_log_sigma: torch.Tensor
    noise: torch.Tensor


@dataclass
class LossGradients:
    grad_q: torch.Tensor  # [2, 2B, S]
    grad_values: torch.Tensor  # [B, S]
    grad_log_alpha: torch.Tensor | float
    stats: torch.Tensor | list[float]  # policy, value, Q1, Q2 losses


class Heads(Protocol):
    def squash(self, mu: torch.Tensor, raw_log_sigma: torch.Tensor, generator: torch.Generator | None) -> Squashed:
        """The noise from `generator` (torch's default if None), as the actor module draws it."""
        ...

    def losses(self, q: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor, rewards: torch.Tensor,
               done: torch.Tensor, gammas: torch.Tensor, log_prob_sums: torch.Tensor, alpha: torch.Tensor,
               target_entropy: float) -> LossGradients:  # fmt: skip
        """`q` [2, 2B, S]: Q1 and Q2 on the stored actions' rows, then the policy's."""
        ...

    def squash_backward(self, kept: Squashed, grad_action: torch.Tensor,
                        grad_log_prob: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """d loss / d mu and d loss / d raw log sigma, [B, C] each."""
        ...


class TorchHeads:
    def squash(self, mu: torch.Tensor, raw_log_sigma: torch.Tensor, generator: torch.Generator | None) -> Squashed:
        log_sigma = torch.clamp(raw_log_sigma, LOG_SIGMA_MIN, LOG_SIGMA_MAX)
        sigma = torch.exp(log_sigma)
        noise = torch.randn(mu.shape, generator=generator, device=mu.device)  # (the actor module's draw)
        unsquashed = mu + noise * sigma
        gaussian = -torch.square(unsquashed - mu) / (2.0 * sigma * sigma + EPSILON) - log_sigma - 0.5 * LOG_2PI
        log_probs = gaussian - 2.0 * (LOG_2 - unsquashed - F.softplus(-2.0 * unsquashed))
        return Squashed(torch.tanh(unsquashed), log_probs.sum(dim=1), mu, raw_log_sigma, noise)

    def losses(self, q: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor, rewards: torch.Tensor,
               done: torch.Tensor, gammas: torch.Tensor, log_prob_sums: torch.Tensor, alpha: torch.Tensor,
               target_entropy: float) -> LossGradients:  # fmt: skip
        rows, signals = values.shape
        q_taken, q_policy = q[:, :rows], q[:, rows:]
        backup = rewards.t() + (1.0 - done)[:, None] * gammas * next_values
        q_error = q_taken - backup
        value_error = values - (torch.min(q_policy[0], q_policy[1]) - alpha * log_prob_sums[:, None])
        policy_loss = (alpha * log_prob_sums - q_policy[0].mean(dim=1)).mean()
        scale = 1.0 / (rows * signals)
        policy_rows = torch.zeros_like(q_policy)
        policy_rows[0] = -scale  # the policy loss reaches Q1's policy rows only
        q_losses = 0.5 * torch.square(q_error).mean(dim=(1, 2))
        stats = torch.stack([policy_loss, 0.5 * torch.square(value_error).mean(), q_losses[0], q_losses[1]])
        return LossGradients(torch.cat([q_error * scale, policy_rows], dim=1), value_error * scale,
                             -(log_prob_sums + target_entropy).mean(dim=0, keepdim=True), stats)  # fmt: skip

    def squash_backward(self, kept: Squashed, grad_action: torch.Tensor,
                        grad_log_prob: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        raw, noise = kept.raw_log_sigma, kept.noise
        sigma = torch.exp(torch.clamp(raw, LOG_SIGMA_MIN, LOG_SIGMA_MAX))
        offset = noise * sigma  # u - mu
        spread = 2.0 * sigma * sigma + EPSILON
        action = kept.action
        d_gaussian = -2.0 * offset / spread  # d gaussian / d u; minus this directly through mu
        # d/du of the tanh correction -2 (log 2 - u - softplus(-2u)) is 2 tanh(u)
        d_unsquashed = grad_log_prob * (d_gaussian + 2.0 * action) + grad_action * (1.0 - action * action)
        d_mu = d_unsquashed - grad_log_prob * d_gaussian
        d_sigma = d_unsquashed * noise + grad_log_prob * 4.0 * sigma * torch.square(offset) / torch.square(spread)
        inside = (raw >= LOG_SIGMA_MIN) & (raw <= LOG_SIGMA_MAX)
        return d_mu, (d_sigma * sigma - grad_log_prob) * inside


class NativeHeads:
    """The same on the CPU, each part one native call into buffers reused while shapes hold."""

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}

    def _buffer(self, name: str, *shape: int) -> torch.Tensor:
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape:
            buffer = self._buffers[name] = torch.empty(shape)
        return buffer

    def squash(self, mu: torch.Tensor, raw_log_sigma: torch.Tensor, generator: torch.Generator | None) -> Squashed:
        rows, dims = mu.shape
        action, log_prob_sums = self._buffer("action", rows, dims), self._buffer("log_prob_sums", rows)
        noise = torch.randn(mu.shape, generator=generator)  # (the actor module's draw)
        _native.sac_squash_forward(mu.numpy(), raw_log_sigma.numpy(), noise.numpy(), action.numpy(),
                                   log_prob_sums.numpy())  # fmt: skip
        return Squashed(action, log_prob_sums, mu, raw_log_sigma, noise)

    def losses(self, q: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor, rewards: torch.Tensor,
               done: torch.Tensor, gammas: torch.Tensor, log_prob_sums: torch.Tensor, alpha: torch.Tensor,
               target_entropy: float) -> LossGradients:  # fmt: skip
        rows, signals = values.shape
        grad_q, grad_values = self._buffer("grad_q", 2, 2 * rows, signals), self._buffer("grad_values", rows, signals)
        *stats, grad_log_alpha = _native.sac_losses(
            q.numpy(), values.numpy(), next_values.numpy(), rewards.contiguous().numpy(), done.contiguous().numpy(),
            gammas.numpy(), log_prob_sums.numpy(), float(alpha), target_entropy, grad_q.numpy(), grad_values.numpy(),
        )  # fmt: skip
        return LossGradients(grad_q, grad_values, grad_log_alpha, stats)

    def squash_backward(self, kept: Squashed, grad_action: torch.Tensor,
                        grad_log_prob: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        grad_mu, grad_raw = self._buffer("grad_mu", *kept.mu.shape), self._buffer("grad_raw", *kept.mu.shape)
        _native.sac_squash_backward(kept.mu.numpy(), kept.raw_log_sigma.numpy(), kept.noise.numpy(),
                                    grad_action.numpy(), float(grad_log_prob), grad_mu.numpy(),
                                    grad_raw.numpy())  # fmt: skip
        return grad_mu, grad_raw
