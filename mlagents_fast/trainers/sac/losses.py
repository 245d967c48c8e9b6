"""SAC's four losses with ML-Agents' semantics (its TorchSACOptimizer), written plainly.

Shapes: S reward signals, B rows, A = sum(discrete branches) choices. Q outputs are `[S, B, A]`
with discrete actions, `[S, B, 1]` with continuous ones only. `discrete_log_probs` holds every
choice's log-probability `[B, A]`. The entropy coefficients are learned in log space: one for
all continuous dimensions, one per discrete branch. With memory, `mask` [B] (bool) marks the
steps that are not padding: every mean is over those (ML-Agents' masked_mean).
"""

from __future__ import annotations

import torch


def mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The mean of `values` [..., B], over the rows of `mask` when given."""
    if mask is None:
        return values.mean()
    weights = mask.to(values.dtype)
    per_row = values.numel() // values.shape[-1]
    return (values * weights).sum() / (weights.sum() * per_row).clamp(min=1.0)


def split_branches(values: torch.Tensor, branches: tuple[int, ...]) -> list[torch.Tensor]:
    """`[..., A]` -> one `[..., branch]` tensor per branch."""
    return list(torch.split(values, list(branches), dim=-1))


def expected_over_policy(q: torch.Tensor, probs: torch.Tensor, branches: tuple[int, ...]) -> torch.Tensor:
    """Q `[S, B, A]` under the policy's choice probabilities `[B, A]`: per branch the expectation,
    then the mean over branches -> `[S, B]`."""
    per_branch = [part.sum(dim=-1) for part in split_branches(q * probs, branches)]
    return torch.stack(per_branch).mean(dim=0)


def taken_q(q: torch.Tensor, discrete: torch.Tensor, branches: tuple[int, ...]) -> torch.Tensor:
    """Q `[S, B, A]` of the choices taken (`discrete` `[B, D]`), averaged over branches -> `[S, B]`
    (ML-Agents' `_condense_q_streams`); with continuous actions only, the one output."""
    if not branches:
        return q[..., 0]
    parts = split_branches(q, branches)
    taken = [part.gather(-1, discrete[:, b].view(1, -1, 1).expand(q.shape[0], -1, 1)).squeeze(-1)
             for b, part in enumerate(parts)]  # fmt: skip
    return torch.stack(taken).mean(dim=0)


def branch_entropy_terms(discrete_log_probs: torch.Tensor, branches: tuple[int, ...]) -> torch.Tensor:
    """Per branch sum over its choices of p log p, `[branches, B]` (minus each branch's entropy)."""
    return torch.stack([(lp * lp.exp()).sum(dim=-1) for lp in split_branches(discrete_log_probs, branches)])


def q_losses(q1: torch.Tensor, q2: torch.Tensor, next_values: torch.Tensor, rewards: torch.Tensor,
             done: torch.Tensor, gammas: torch.Tensor,
             mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """0.5 x MSE of each Q `[S, B]` against r + gamma (1 - done) V_target(next), averaged over signals."""
    with torch.no_grad():
        backup = rewards + (1.0 - done) * gammas[:, None] * next_values
    return 0.5 * mean((backup - q1) ** 2, mask), 0.5 * mean((backup - q2) ** 2, mask)


def value_loss(values: torch.Tensor, q1_policy: torch.Tensor, q2_policy: torch.Tensor,
               continuous_log_probs: torch.Tensor, discrete_log_probs: torch.Tensor,
               log_coef_continuous: torch.Tensor, log_coef_discrete: torch.Tensor,
               branches: tuple[int, ...], mask: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """0.5 x MSE of V `[S, B]` against min(Q1, Q2) of the policy's actions minus the entropy terms."""
    with torch.no_grad():
        if branches:
            probs = discrete_log_probs.exp()
            min_q = torch.min(expected_over_policy(q1_policy, probs, branches),
                              expected_over_policy(q2_policy, probs, branches))  # fmt: skip
            bonus = (log_coef_discrete.exp()[:, None] * branch_entropy_terms(discrete_log_probs, branches)).mean(0)
            backup = min_q - bonus
        else:
            backup = torch.min(q1_policy[..., 0], q2_policy[..., 0])
        if continuous_log_probs.shape[1]:
            # (ML-Agents adds this term when discrete branches are present too; an entropy bonus is subtracted)
            backup = backup - log_coef_continuous.exp() * continuous_log_probs.sum(dim=1)
    return 0.5 * mean((values - backup) ** 2, mask)


def policy_loss(q1_policy: torch.Tensor, continuous_log_probs: torch.Tensor, discrete_log_probs: torch.Tensor,
                log_coef_continuous: torch.Tensor, log_coef_discrete: torch.Tensor,
                branches: tuple[int, ...], mask: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """E[alpha log pi - Q1] over the batch; Q1 of the policy's actions averaged over signals."""
    mean_q1 = q1_policy.mean(dim=0)  # [B, A] or [B, 1]
    batch_loss = torch.zeros(mean_q1.shape[0], device=mean_q1.device)
    if branches:
        probs = discrete_log_probs.exp()
        coefs = log_coef_discrete.exp()
        for b, (lp, q) in enumerate(zip(split_branches(discrete_log_probs, branches),
                                        split_branches(mean_q1 * probs, branches), strict=True)):  # fmt: skip
            batch_loss = batch_loss + (coefs[b] * lp * lp.exp() - q).sum(dim=1)
        policy_q = (probs * mean_q1).sum(dim=1)
    else:
        policy_q = mean_q1[:, 0]
    if continuous_log_probs.shape[1]:
        batch_loss = batch_loss + log_coef_continuous.exp() * continuous_log_probs.sum(dim=1) - policy_q
    return mean(batch_loss, mask)


def entropy_loss(continuous_log_probs: torch.Tensor, discrete_log_probs: torch.Tensor,
                 log_coef_continuous: torch.Tensor, log_coef_discrete: torch.Tensor, target_continuous: float,
                 target_discrete: torch.Tensor, branches: tuple[int, ...],
                 mask: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """Moves each log coefficient so that the policy's entropy approaches its target."""
    loss = torch.zeros((), device=continuous_log_probs.device)
    if branches:
        with torch.no_grad():
            gap = branch_entropy_terms(discrete_log_probs, branches) + target_discrete[:, None]  # [branches, B]
        loss = loss - mean((log_coef_discrete[:, None] * gap).mean(dim=0), mask)
    if continuous_log_probs.shape[1]:
        with torch.no_grad():
            gap_continuous = continuous_log_probs.sum(dim=1) + target_continuous
        loss = loss - mean(log_coef_continuous * gap_continuous, mask)
    return loss
