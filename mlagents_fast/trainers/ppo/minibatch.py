"""PPO minibatches: typed, and read from the rollout ring where the update's data lies.

On the CPU a native gather fills preallocated arrays that torch views without a copy. On an
accelerator the update's rows are gathered once into pinned host memory and go over in one
host-to-device copy, as does each epoch's order; minibatches are indexed there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast.buffer.gather import Gatherer
from mlagents_fast.buffer.rollout import RolloutBuffer
from mlagents_fast.spec import ActionSpec
from mlagents_fast.trainers.memory import pinned as _pinned


@dataclass(slots=True)
class Minibatch:
    """One minibatch of B steps on the training device."""

    obs: list[torch.Tensor]
    continuous_action: torch.Tensor | None  # [B, C]
    discrete_action: torch.Tensor | None  # [B, D] int32
    action_mask: torch.Tensor | None  # [B, choices], True where blocked
    old_log_probs: torch.Tensor  # [B, C + D], per action dimension
    advantages: torch.Tensor  # [B]
    old_values: torch.Tensor  # [S, B], one row per value head
    returns: torch.Tensor  # [S, B]
    # With memory: B = sequences x sequence_length, each sequence's steps in time order.
    memory: torch.Tensor | None = None  # [B, memory_size], the actor's memory before each step
    critic_memory: torch.Tensor | None = None  # [sequences, memory_size], the critic's at each sequence start
    mask: torch.Tensor | None = None  # [B] bool: False on the padding after a trajectory's last sequence
    sequence_length: int = 1


def _signal_rows(planes: list[torch.Tensor]) -> torch.Tensor:
    """Per-signal planes [B] as one [S, B] tensor (a view when there is one signal)."""
    return planes[0].unsqueeze(0) if len(planes) == 1 else torch.stack(planes)


class MinibatchSource:
    """Minibatches of an update's flat ring rows, for one behavior's rollout buffer."""

    def __init__(self, buffer: RolloutBuffer, action: ActionSpec, signals: list[str], rows: int,
                 device: torch.device) -> None:  # fmt: skip
        self.buffer, self.action, self.rows, self.device = buffer, action, rows, device
        self.staged = device.type != "cpu"  # the accelerator's way: one copy of the update's rows
        self._obs = [name for name in buffer.planes if name.startswith("obs_")]
        self._returns = [f"returns.{name}" for name in signals]
        self._values = [f"value_estimates.{name}" for name in signals]
        self._planes = [p for p in buffer.planes if p not in ("terminated", "truncated")
                        and not p.startswith(("rewards.", "truncated_values."))]  # fmt: skip
        self._gatherer: tuple[Gatherer, dict[str, torch.Tensor]] | None = None
        self._copies = (action.continuous_size > 0 and len(action.discrete_branches) > 0) or len(signals) > 1
        self._staging: Gatherer | None = None  # an accelerator's update rows, in pinned host memory

    def for_rows(
        self, rows: NDArray[np.int64]
    ) -> tuple[Callable[[NDArray[np.int64]], Any], Callable[[Any], Minibatch]]:
        """(keys, fetch) for this update's flat ring `rows`: `keys(order)` turns an epoch's order
        of positions in `rows` into what `fetch(keys[a:b])` reads a minibatch from."""
        if not self.staged:
            if self._gatherer is None:
                gatherer = self.buffer.gatherer(self.rows, self._planes)
                self._gatherer = gatherer, {k: torch.from_numpy(v) for k, v in gatherer.batch.items()}
            gatherer, tensors = self._gatherer
            # The gather refills the same arrays: a minibatch of views of them is built once, unless
            # it needs copies (hybrid actions' log probabilities, or several value heads, side by side).
            fixed = self._typed(tensors) if not self._copies else None

            def gather(ring_rows: NDArray[np.int64]) -> Minibatch:
                planes = gatherer.gather(ring_rows)
                if len(ring_rows) < self.rows:  # a short minibatch: views of the rows gathered
                    return self._typed({k: torch.from_numpy(v) for k, v in planes.items()})
                return fixed if fixed is not None else self._typed(tensors)

            return (lambda order: rows[order]), gather
        if self._staging is None:  # pinned once, as large as the ring: an update never trains more
            self._staging = self.buffer.gatherer(self.buffer.rows, self._planes, _pinned)
        staged = self._staging.gather(rows)
        on_device = {k: torch.from_numpy(v).to(self.device, non_blocking=True) for k, v in staged.items()}

        def index(at: torch.Tensor) -> Minibatch:
            return self._typed({k: v.index_select(0, at) for k, v in on_device.items()})

        return (lambda order: torch.from_numpy(order).to(self.device, non_blocking=True)), index

    def _typed(self, planes: dict[str, torch.Tensor]) -> Minibatch:
        continuous, discrete = self.action.continuous_size > 0, len(self.action.discrete_branches) > 0
        if continuous and discrete:
            old = torch.cat([planes["continuous_log_probs"], planes["discrete_log_probs"]], dim=1)
        else:
            old = planes["continuous_log_probs"] if continuous else planes["discrete_log_probs"]
        return Minibatch(
            obs=[planes[name] for name in self._obs],
            continuous_action=planes.get("continuous_action"),
            discrete_action=planes.get("discrete_action"),
            action_mask=planes.get("action_mask"),
            old_log_probs=old,
            advantages=planes["advantages"],
            old_values=_signal_rows([planes[name] for name in self._values]),
            returns=_signal_rows([planes[name] for name in self._returns]),
            memory=planes.get("memory"),
        )
