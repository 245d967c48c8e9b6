"""SAC's minibatches from the native replay ring.

An update round's minibatches are drawn together: one native draw of their rows, one native
gather into preallocated (on an accelerator, pinned) memory, one host-to-device copy per field,
then each minibatch is a slice of those tensors. The draws are the same as one per minibatch
(the generator is sequential), so a round trains on what separate samples would give.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast import _native
from mlagents_fast.buffer.fields import FieldSpec, default_allocator
from mlagents_fast.buffer.replay import ReplayBuffer
from mlagents_fast.reward_signals import SignalUpdateBatch
from mlagents_fast.spec import BehaviorSpec
from mlagents_fast.trainers.memory import pinned
from mlagents_fast.trainers.sac.minibatch import ReplayMinibatch

MINIBATCHES_PER_GATHER = 32  # the staging memory holds this many minibatches


def replay_fields(spec: BehaviorSpec, signals: list[str]) -> dict[str, FieldSpec]:
    """A transition: observations, next observations, actions, mask, each signal's reward, termination."""
    obs = {f"obs_{i}": FieldSpec.of(o.shape, np.float32) for i, o in enumerate(spec.observation_specs)}
    action = spec.action_spec
    fields = {**obs, **{f"next_{name}": field for name, field in obs.items()}}
    if action.continuous_size:
        fields["continuous_action"] = FieldSpec.of((action.continuous_size,), np.float32)
    if action.discrete_branches:
        fields["discrete_action"] = FieldSpec.of((len(action.discrete_branches),), np.int64)
        fields["action_mask"] = FieldSpec.of((sum(action.discrete_branches),), np.bool_)
    fields.update({f"reward_{name}": FieldSpec.of((), np.float32) for name in signals})
    fields["done"] = FieldSpec.of((), np.float32)
    return fields


class ReplayBatches:
    """The replay ring of one behavior and the minibatches an update round takes from it."""

    def __init__(self, spec: BehaviorSpec, signals: list[str], capacity: int, batch_size: int,
                 device: torch.device) -> None:  # fmt: skip
        self.spec, self.signals, self.batch_size, self.device = spec, signals, batch_size, device
        self.buffer = ReplayBuffer(capacity, replay_fields(spec, signals))
        self.lock = threading.Lock()  # adds (collection) and draws (an update thread) take turns
        staging = default_allocator if device.type == "cpu" else pinned
        self._round = self.buffer.gatherer(batch_size * MINIBATCHES_PER_GATHER, staging)

    def add(self, values: list[NDArray[Any]]) -> None:
        with self.lock:
            self.buffer.add(values)

    def minibatches(self, count: int, rng: _native.Rng) -> Iterator[ReplayMinibatch]:
        """`count` minibatches of `batch_size` transitions drawn uniformly with replacement."""
        rows = self.batch_size
        for first in range(0, count, MINIBATCHES_PER_GATHER):
            chunk = min(MINIBATCHES_PER_GATHER, count - first)
            with self.lock:
                planes = self._round.gather(self.buffer.sample_rows(chunk * rows, rng))
            tensors = {name: torch.from_numpy(a).to(self.device, non_blocking=True) for name, a in planes.items()}
            for m in range(chunk):
                yield self._minibatch({name: t[m * rows : (m + 1) * rows] for name, t in tensors.items()})

    def _minibatch(self, planes: dict[str, torch.Tensor]) -> ReplayMinibatch:
        count, rows, action = len(self.spec.observation_specs), self.batch_size, self.spec.action_spec
        none = torch.zeros(rows, 0, device=self.device)
        return ReplayMinibatch(
            obs=[planes[f"obs_{i}"] for i in range(count)],
            next_obs=[planes[f"next_obs_{i}"] for i in range(count)],
            continuous_action=planes["continuous_action"] if action.continuous_size else none,
            discrete_action=planes["discrete_action"] if action.discrete_branches else none.long(),
            allowed=(~planes["action_mask"]).float() if action.discrete_branches else none,
            rewards=torch.stack([planes[f"reward_{name}"] for name in self.signals]),
            done=planes["done"],
        )

    def signal_batch(self, rng: _native.Rng) -> SignalUpdateBatch:
        """Transitions for a reward signal's own update (copies, on the host)."""
        with self.lock:
            sample = self.buffer.sample(self.batch_size, rng)
            count = len(self.spec.observation_specs)
            return SignalUpdateBatch([sample[f"obs_{i}"].copy() for i in range(count)],
                                     sample["continuous_action"].copy() if "continuous_action" in sample else None,
                                     sample["discrete_action"].copy() if "discrete_action" in sample else None,
                                     np.greater(sample["done"], 0))  # fmt: skip
