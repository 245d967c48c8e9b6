"""SAC's minibatches from the native replay ring.

An update round's minibatches are drawn together: one native draw of their rows, one native
gather into preallocated (on an accelerator, pinned) memory, on an accelerator one copy per
field into preallocated device memory, then each minibatch is a slice of those tensors. The
draws are the same as one per minibatch (the generator is sequential), so a round trains on
what separate samples would give. Every draw happens on the collecting thread, before a round
starts (`threaded: true` trains on them on another thread): what a round trains on does not
depend on how fast the environment steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast import _native
from mlagents_fast.buffer.fields import FieldSpec, default_allocator
from mlagents_fast.buffer.replay import ReplayBuffer
from mlagents_fast.reward_signals import LearnedRewardSignal, SignalUpdateBatch
from mlagents_fast.spec import BehaviorSpec
from mlagents_fast.trainers.memory import pinned
from mlagents_fast.trainers.sac.minibatch import ReplayMinibatch
from mlagents_fast.trainers.sac.sequences import sample_sequences, sequence_capacity

MINIBATCHES_PER_GATHER = 32  # the staging memory holds this many minibatches


def replay_fields(spec: BehaviorSpec, signals: list[str], memory_size: int = 0) -> dict[str, FieldSpec]:
    """A transition: observations, next observations, actions, mask, each signal's reward, termination;
    with memory, the actor's and V's memories before the step and whether the row is a step (not padding)."""
    obs = {f"obs_{i}": FieldSpec.of(o.shape, o.dtype) for i, o in enumerate(spec.observation_specs)}
    action = spec.action_spec
    fields = {**obs, **{f"next_{name}": field for name, field in obs.items()}}
    if action.continuous_size:
        fields["continuous_action"] = FieldSpec.of((action.continuous_size,), np.float32)
    if action.discrete_branches:
        fields["discrete_action"] = FieldSpec.of((len(action.discrete_branches),), np.int64)
        fields["action_mask"] = FieldSpec.of((sum(action.discrete_branches),), np.bool_)
    fields.update({f"reward_{name}": FieldSpec.of((), np.float32) for name in signals})
    fields["done"] = FieldSpec.of((), np.float32)
    if memory_size:
        fields["memory"] = FieldSpec.of((memory_size,), np.float32)
        fields["critic_memory"] = FieldSpec.of((memory_size,), np.float32)
        fields["step_mask"] = FieldSpec.of((), np.bool_)
    return fields


class ReplayBatches:
    """The replay ring of one behavior and the minibatches an update round takes from it."""

    def __init__(self, spec: BehaviorSpec, signals: list[str], capacity: int, batch_size: int,
                 device: torch.device, staged: bool | None = None, memory_size: int = 0,
                 sequence_length: int = 1) -> None:  # fmt: skip
        """`staged` (default: on an accelerator): gather into pinned host memory and copy to
        device memory; else the gathered memory is the minibatches' (tests run both on the CPU).
        With memory, the ring holds whole sequences (sequences.py) and a minibatch is
        `batch_size // sequence_length` of them."""
        self.spec, self.signals, self.device = spec, signals, device
        self.sequence_length = sequence_length if memory_size else 1
        if memory_size:
            capacity = sequence_capacity(capacity, sequence_length)
            batch_size = max(batch_size // sequence_length, 1) * sequence_length
        self.batch_size = batch_size
        self.buffer = ReplayBuffer(capacity, replay_fields(spec, signals, memory_size))
        self.staged = device.type != "cpu" if staged is None else staged
        self._none = torch.zeros(batch_size, 0, device=device)
        self._no_choices = self._none.long()
        self._allocate(MINIBATCHES_PER_GATHER)

    def _allocate(self, minibatches: int) -> None:
        """Staging (and device) memory for rounds of up to `minibatches`, and each minibatch's
        slices of it, made once: they never change between rounds."""
        staging = pinned if self.staged and self.device.type != "cpu" else default_allocator
        self._round = self.buffer.gatherer(self.batch_size * minibatches, staging)
        self._host = {name: torch.from_numpy(a) for name, a in self._round.batch.items()}
        self._tensors = (self._host if not self.staged else
                         {name: torch.empty_like(t, device=self.device) for name, t in self._host.items()})  # fmt: skip
        count = len(self.spec.observation_specs)
        self._fixed = [self._slices(m, count) for m in range(minibatches)]

    def add(self, values: list[NDArray[Any]]) -> None:
        self.buffer.add(values)

    def _slices(self, m: int, count: int) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor,
                                                   torch.Tensor, torch.Tensor]:  # fmt: skip
        rows = slice(m * self.batch_size, (m + 1) * self.batch_size)
        t, action = self._tensors, self.spec.action_spec
        return ([t[f"obs_{i}"][rows] for i in range(count)], [t[f"next_obs_{i}"][rows] for i in range(count)],
                t["continuous_action"][rows] if action.continuous_size else self._none,
                t["discrete_action"][rows] if action.discrete_branches else self._no_choices,
                t["done"][rows])  # fmt: skip

    def draw(self, count: int, rng: _native.Rng,
             learned: Sequence[LearnedRewardSignal] = ()) -> list[ReplayMinibatch]:  # fmt: skip
        """`count` minibatches of `batch_size` transitions drawn uniformly with replacement, all
        gathered now (an update thread trains on them while collection adds to the ring). They
        share the round's memory: valid until the next draw. The `learned` signals' rewards are
        evaluated on them now, in one call per signal (times `strength`), as ML-Agents' SAC
        re-evaluates each minibatch."""
        if count > len(self._fixed):
            self._allocate(count)
        total = count * self.batch_size
        length = self.sequence_length
        if length == 1:
            self._round.gather(self.buffer.sample_rows(total, rng))
        else:
            self._round.gather(sample_sequences(self.buffer, total // length, length, rng))
        if learned:
            batch = self._as_signal_batch({name: a[:total] for name, a in self._round.batch.items()})
            for signal in learned:
                paid = signal.evaluate(batch) * np.float32(signal.strength)
                self._round.batch[f"reward_{signal.name}"][:total] = paid
        if self.staged:
            for name, tensor in self._tensors.items():
                tensor[:total].copy_(self._host[name][:total], non_blocking=True)
        rewards = [self._tensors[f"reward_{name}"][:total] for name in self.signals]
        all_rewards = rewards[0].unsqueeze(0) if len(rewards) == 1 else torch.stack(rewards)  # [S, count x B]
        allowed = None
        if self.spec.action_spec.discrete_branches:
            allowed = (~self._tensors["action_mask"][:total]).float()
        minibatches = []
        for m in range(count):
            obs, next_obs, continuous, discrete, done = self._fixed[m]
            part = slice(m * self.batch_size, (m + 1) * self.batch_size)
            minibatch = ReplayMinibatch(obs, next_obs, continuous, discrete,
                                        allowed[part] if allowed is not None else self._none,
                                        all_rewards[:, part], done)  # fmt: skip
            if length > 1:
                t = self._tensors
                minibatch.memory, minibatch.critic_memory = (
                    t["memory"][part][::length],
                    t["critic_memory"][part][::length],
                )
                minibatch.mask, minibatch.sequence_length = t["step_mask"][part], length
            minibatches.append(minibatch)
        return minibatches

    def signal_batch(self, rng: _native.Rng) -> SignalUpdateBatch:
        """Transitions for a reward signal's own update (copies, on the host)."""
        sample = self.buffer.sample(self.batch_size, rng)
        return self._as_signal_batch({name: np.array(value) for name, value in sample.items()})

    def _as_signal_batch(self, fields: dict[str, NDArray[Any]]) -> SignalUpdateBatch:
        """Transitions as a reward signal reads them (views of `fields`). A transition's `done` is
        its episode's termination (an interrupted one continues in the next observation)."""
        count = len(self.spec.observation_specs)
        done = np.greater(fields["done"], 0)
        obs = [cast(NDArray[np.float32], fields[f"obs_{i}"]) for i in range(count)]
        next_obs = [cast(NDArray[np.float32], fields[f"next_obs_{i}"]) for i in range(count)]
        return SignalUpdateBatch(obs, fields.get("continuous_action"), fields.get("discrete_action"), done, next_obs,
                                 done)  # fmt: skip
