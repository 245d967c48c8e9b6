"""One SAC minibatch of replayed transitions, as the gradient step reads it."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(slots=True)
class ReplayMinibatch:
    obs: list[torch.Tensor]
    next_obs: list[torch.Tensor]
    continuous_action: torch.Tensor  # [B, C] (C may be 0)
    discrete_action: torch.Tensor  # [B, D] int64 (D may be 0)
    allowed: torch.Tensor  # [B, A] 1 where a choice is allowed
    rewards: torch.Tensor  # [S, B], each signal's strength applied
    done: torch.Tensor  # [B] 1 where the episode terminated (an interrupted one bootstraps)
    # With memory: B = sequences x sequence_length, each sequence's steps in time order.
    memory: torch.Tensor | None = None  # [sequences, memory_size]: the actor's at each sequence start
    critic_memory: torch.Tensor | None = None  # [sequences, memory_size]: V's at each sequence start
    mask: torch.Tensor | None = None  # [B] bool: False on padding
    sequence_length: int = 1
