"""One MA-POCA update: PPO's (update.py in trainers/ppo) with the centralized critic's pieces.

- the values and baselines come from POCAValueEstimator (every step's group, every bootstrap);
- GAE's returns are ML-Agents' lambda returns on those values, an episode its agent ended before
  its group bootstrapping as an interrupted one; each signal's advantage is its returns less the
  agent's baseline;
- the steps an agent sat out (asked for no decision) count in no loss and no normalization;
- minibatches carry each step's groupmates (observations, actions, presence) and old baselines.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast import _native
from mlagents_fast.buffer.trajectories import Segments
from mlagents_fast.trainers.poca.recurrent import group_sequences
from mlagents_fast.trainers.poca.step import GroupMinibatch, POCAStep
from mlagents_fast.trainers.poca.values import POCAValueEstimator
from mlagents_fast.trainers.ppo.minibatch import Minibatch
from mlagents_fast.trainers.ppo.update import PPOUpdate, UpdateStats, trajectory_means


class POCAUpdate(PPOUpdate):
    @property
    def estimator(self) -> POCAValueEstimator:
        assert isinstance(self.values, POCAValueEstimator)
        return self.values

    def __call__(self, segments: Segments, step: int) -> UpdateStats:
        stats = super().__call__(segments, step)
        gradient_step = self.gradient_step
        assert isinstance(gradient_step, POCAStep)
        losses, gradient_step.baseline_losses = gradient_step.baseline_losses, []
        stats["Losses/Baseline Loss"] = [float(np.mean(losses)) if losses else 0.0]
        rows = segments.flat_rows(segments.selected(), segments.window_rows())
        means = trajectory_means(self.estimator.baselines, self.ring.trajectory_ends(rows))
        for s, signal in enumerate(self.signals):
            stats[f"Policy/{signal.stat_name} Baseline Estimate"] = means[s].tolist()
        return stats

    def bootstrap_flags(self, window: NDArray[np.int64]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        terminated, truncated = super().bootstrap_flags(window)
        continues = self.estimator.continues[window]
        return terminated & ~continues, truncated | continues

    def signal_advantages(
        self, advantages: NDArray[np.float32], returns: NDArray[np.float32], window: NDArray[np.int64]
    ) -> NDArray[np.float32]:
        baselines = np.take(self.ring.buffer["baseline_estimates"], window, axis=1)
        difference: NDArray[np.float32] = returns - baselines
        return difference

    def minibatches_of(self, rows: NDArray[np.int64]) -> Iterator[tuple[Minibatch, NDArray[np.int64]]]:
        """`num_epoch` passes of shuffled minibatches of `batch_size` steps (a last partial one
        dropped), with their groupmates. (`rows` may leave out the update's steps agents sat out.)
        With memory, of whole sequences (recurrent.py)."""
        if self.sequence_length is not None:
            return group_sequences(self, rows)
        return self._steps(rows)

    def _steps(self, rows: NDArray[np.int64]) -> Iterator[tuple[Minibatch, NDArray[np.int64]]]:
        count = len(rows)
        size = min(self.hyper.batch_size, count)
        if size == 0:
            return
        estimator = self.estimator
        mates = estimator.mates[estimator.positions_of(rows)]
        for _ in range(self.hyper.num_epoch):
            positions = _native.shuffled_indices(self.rng, count)
            for start in range(0, count - size + 1, size):
                chosen = positions[start : start + size]
                yield self.group_minibatch(rows[chosen], mates[chosen]), chosen

    def group_minibatch(self, ring_rows: NDArray[np.int64], mates: NDArray[np.int64]) -> GroupMinibatch:
        buf, estimator = self.ring.buffer, self.estimator
        device = estimator.device

        def take(name: str) -> torch.Tensor:
            return torch.from_numpy(np.take(buf.flat(name), ring_rows, axis=0)).to(device)

        def per_signal(prefix: str) -> torch.Tensor:
            return torch.stack([take(f"{prefix}.{signal.name}") for signal in self.signals])

        own = [np.take(buf.flat(name), ring_rows, axis=0) for name in estimator.obs_planes]
        action = estimator.action
        log_probs = [take(name) for name in ("continuous_log_probs", "discrete_log_probs")
                     if name in buf.planes]  # fmt: skip
        return GroupMinibatch(
            obs=[torch.from_numpy(o).to(device) for o in own],
            continuous_action=take("continuous_action") if action.continuous_size else None,
            discrete_action=take("discrete_action") if action.discrete_branches else None,
            action_mask=take("action_mask") if action.discrete_branches else None,
            old_log_probs=log_probs[0] if len(log_probs) == 1 else torch.cat(log_probs, dim=1),
            advantages=take("advantages"), old_values=per_signal("value_estimates"),
            returns=per_signal("returns"), mask=~take("absent"),
            group=estimator.group_tensors(own, mates), old_baselines=per_signal("baseline_estimates"),
        )  # fmt: skip
