"""Preallocated outputs of the fused actor and critic (actor_critic.py), one set per batch size,
with numpy views of the same memory for the native calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray


@dataclass
class HeadBuffers:
    """Preallocated head outputs and their gradients for one batch size, with numpy views
    of the same memory for the native call."""

    mu: torch.Tensor
    logits: torch.Tensor
    values: torch.Tensor  # [B, S] rows
    grad_mu: torch.Tensor
    grad_logits: torch.Tensor
    grad_values: torch.Tensor
    grad_features: torch.Tensor  # [2, B, H] reaching the actor's and the critic's features
    arrays: dict[str, NDArray[np.float32]]
    # Arguments of `_native.heads_backward` (numpy views of the heads' parameters and gradients,
    # valid while `grad_address` is where the value head's weight gradient lives).
    actor_heads: list[tuple[NDArray[np.float32], ...]] = field(default_factory=list)
    value_heads: list[tuple[NDArray[np.float32], ...]] = field(default_factory=list)
    grad_address: int = 0

    @staticmethod
    def allocate(rows: int, continuous: int, logits: int, signals: int, hidden: int) -> HeadBuffers:
        tensors = {name: torch.zeros(rows, width) for name, width in
                   (("mu", continuous), ("logits", logits), ("values", signals))}  # fmt: skip
        grads = {f"grad_{name}": torch.zeros_like(t) for name, t in tensors.items()}
        grads["grad_features"] = torch.zeros(2, rows, hidden)
        named: dict[str, Any] = {**tensors, **grads}
        return HeadBuffers(**named, arrays={name: t.numpy() for name, t in named.items()})


@dataclass
class SampleBuffers:
    """Preallocated head outputs and sampled actions for one number of agents."""

    mu: torch.Tensor
    logits: torch.Tensor
    continuous: torch.Tensor
    discrete: torch.Tensor  # int32
    log_probs: torch.Tensor
    entropy: torch.Tensor
    values: torch.Tensor  # [B, S] rows, from the native heads
    features: torch.Tensor  # [2, B, H] actor's and critic's (or [1, B, H] a shared body's)
    arrays: dict[str, Any]  # numpy views of the tensors above, by name
    actor_heads: list[tuple[NDArray[np.float32], ...]] | None = None  # `_native.heads_forward` arguments
    value_head: list[tuple[NDArray[np.float32], ...]] | None = None

    @staticmethod
    def allocate(rows: int, continuous: int, branches: tuple[int, ...], signals: int, hidden: int,
                 groups: int = 2) -> SampleBuffers:  # fmt: skip
        tensors: dict[str, Any] = {
            "mu": torch.zeros(rows, continuous), "logits": torch.zeros(rows, sum(branches)),
            "continuous": torch.zeros(rows, continuous),
            "discrete": torch.zeros(rows, len(branches), dtype=torch.int32),
            "log_probs": torch.zeros(rows, continuous + len(branches)), "entropy": torch.zeros(rows),
            "values": torch.zeros(rows, signals), "features": torch.zeros(groups, rows, hidden),
        }  # fmt: skip
        return SampleBuffers(**tensors, arrays={name: t.numpy() for name, t in tensors.items()})
