"""One PPO update, top to bottom, with ML-Agents' semantics.

1. evaluate the rewards of the signals that learn (curiosity, RND...) on the steps taken
   (learned_rewards.py); re-estimate the values (and bootstraps) with the current critic;
2. GAE per reward signal with its own gamma (native kernel); returns = advantages + values;
3. the advantage is the mean over signals, normalized over the update;
4. `num_epoch` passes of shuffled minibatches of `batch_size` (a last partial one dropped):
   one gradient step each (gradient_step.py: the plain or the fused form, same math); with
   memory, of whole sequences (recurrent.py);
   the signals that learn take one gradient step on each minibatch too;
5. stats: the mean losses, the schedules' values, one value estimate per trajectory;
6. with `behavioral_cloning`, the actor's passes over the demonstration (behavioral_cloning.py).

The learning rate, epsilon and beta follow their schedules (linear to ML-Agents' floors at
max_steps, or constant).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast import _native
from mlagents_fast.buffer.rollout_ring import RolloutRing
from mlagents_fast.buffer.trajectories import Segments
from mlagents_fast.config.trainer_settings import POCASettings, PPOSettings
from mlagents_fast.ops.advantages import gae
from mlagents_fast.reward_signals import RewardSignal
from mlagents_fast.trainers.behavioral_cloning import BehavioralCloning
from mlagents_fast.trainers.flat_adam import FlatAdam
from mlagents_fast.trainers.ppo.gradient_step import GradientStep
from mlagents_fast.trainers.ppo.learned_rewards import LearnedRewards
from mlagents_fast.trainers.ppo.minibatch import Minibatch, MinibatchSource
from mlagents_fast.trainers.ppo.recurrent import RecurrentValueEstimator
from mlagents_fast.trainers.ppo.values import ValueEstimator
from mlagents_fast.trainers.schedules import BETA_FLOOR, EPSILON_FLOOR, LEARNING_RATE_FLOOR, decayed

ADVANTAGE_EPSILON = 1e-10
UpdateStats = dict[str, list[float]]


def f32(array: NDArray[np.generic]) -> NDArray[np.float32]:
    return cast(NDArray[np.float32], array)


def trajectory_means(values: NDArray[np.float32], closes: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Mean of `values` [S, M] over each trajectory of M steps laid one after another, where
    `closes` [M] is True at each trajectory's last step (the last step closes one in any case).
    Returns float64 [S, trajectories], in order. Native: it runs once per update, when a chain
    of numpy calls would run cold."""
    return _native.trajectory_means(np.ascontiguousarray(values, np.float32), np.ascontiguousarray(closes))


def _mean(losses: list[torch.Tensor | float], absolute: bool = False) -> float:
    """Mean of per-minibatch losses; tensors (maybe on an accelerator) are stacked first, so the
    update pays one device-to-host transfer, not one per minibatch."""
    if not losses:
        return 0.0
    if isinstance(losses[0], torch.Tensor):
        stacked = torch.stack(cast(list[torch.Tensor], losses))
        return float((stacked.abs() if absolute else stacked).mean().item())
    values = [abs(float(x)) if absolute else float(x) for x in losses]
    return sum(values) / len(values)


class PPOUpdate:
    """One behavior's PPO update over its rollout ring (called with the trajectories it takes)."""

    def __init__(self, hyper: PPOSettings | POCASettings, max_steps: int, ring: RolloutRing,
                 signals: list[RewardSignal], values: ValueEstimator, minibatches: MinibatchSource,
                 step: GradientStep, optimizer: FlatAdam, rng: _native.Rng,
                 sequence_length: int | None = None) -> None:  # fmt: skip
        """`sequence_length`: with memory, train on whole sequences (`values` a RecurrentValueEstimator)."""
        self.hyper, self.max_steps, self.ring, self.signals = hyper, max_steps, ring, signals
        self.sequence_length = sequence_length
        self.values, self.minibatches, self.gradient_step = values, minibatches, step
        self.optimizer, self.rng = optimizer, rng
        self.learned = LearnedRewards(ring, signals)
        self.cloning: BehavioralCloning | None = None  # set by the trainer when behavioral_cloning is
        self.gradient_steps = 0  # minibatch steps taken (the benchmarks compare work with it)

    def __call__(self, segments: Segments, step: int) -> UpdateStats:
        """Train on the trajectories of `segments`; the schedules are taken at `step`."""
        hp, buf = self.hyper, self.ring.buffer
        window, selected = segments.window_rows(), segments.selected()
        rows = segments.flat_rows(selected, window)  # the steps, agent by agent in time order
        stats: UpdateStats = {}
        if self.learned:
            signal_batch, stats = self.learned.pay(rows)
        values = self.values.estimate(segments, rows, selected, window)

        # GAE over the window of steps that covers every trajectory (copies: it may wrap around the
        # ring); each ends inside it, so the window's other steps never enter the recursion.
        gammas = np.array([s.gamma for s in self.signals], np.float32)
        terminated, truncated = self.bootstrap_flags(window)
        advantages, returns = gae(
            f32(np.take(buf["rewards"], window, axis=1)), f32(np.take(buf["value_estimates"], window, axis=1)),
            terminated, truncated, np.zeros((len(self.signals), self.ring.agents), np.float32), gammas,
            float(hp.lambd), f32(np.take(buf["truncated_values"], window, axis=1)),
        )  # fmt: skip
        advantages = self.signal_advantages(advantages, returns, window)
        by_agent = selected.T  # the order of `rows`
        mean_advantage = (advantages[0] if len(advantages) == 1 else advantages.mean(axis=0)).T[by_agent]
        counted = self.trained_steps(rows)
        kept = mean_advantage if counted is None else mean_advantage[counted]
        normalized = (mean_advantage - kept.mean()) / (kept.std() + ADVANTAGE_EPSILON)
        f32(buf.flat("advantages"))[rows] = normalized
        for s, signal in enumerate(self.signals):
            f32(buf.flat(f"returns.{signal.name}"))[rows] = returns[s].T[by_agent]

        lr = decayed(hp.learning_rate_schedule, hp.learning_rate, LEARNING_RATE_FLOOR, step, self.max_steps)
        epsilon = decayed(hp.epsilon_schedule, hp.epsilon, EPSILON_FLOOR, step, self.max_steps)
        beta = decayed(hp.beta_schedule, hp.beta, BETA_FLOOR, step, self.max_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        policy_losses: list[torch.Tensor | float] = []
        value_losses: list[torch.Tensor | float] = []
        signal_minibatches: list[NDArray[np.int64]] = []
        # The steps an agent sat out (it asked for no decision) train nothing, as ML-Agents never sees them.
        in_rows = None if counted is None or self.sequence_length is not None else np.flatnonzero(counted)
        trained = rows if in_rows is None else rows[in_rows]
        for mb, positions in self.minibatches_of(trained):
            if in_rows is not None:
                positions = in_rows[positions]
            policy_loss, value_loss = self.gradient_step(mb, epsilon, beta)
            policy_losses.append(policy_loss)
            value_losses.append(value_loss)
            self.gradient_steps += 1
            if self.learned:
                signal_minibatches.append(positions)
        if self.learned:  # the same minibatches (the rewards are paid already: the order changes nothing)
            stats |= self.learned.train(signal_batch, signal_minibatches)

        stats |= {"Losses/Policy Loss": [_mean(policy_losses, absolute=True)],
                  "Losses/Value Loss": [_mean(value_losses)],
                  "Policy/Learning Rate": [lr], "Policy/Epsilon": [epsilon], "Policy/Beta": [beta]}  # fmt: skip
        stats.update(self.value_estimate_stats(values, rows))
        if self.cloning is not None:  # after the epochs, as ML-Agents
            stats |= self.cloning.update(step)
        return stats

    # Hooks for trainers built on this update (POCA).
    def bootstrap_flags(self, window: NDArray[np.int64]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """The (terminated, truncated) flags [T, N] GAE reads over the ring `window`: an episode that
        terminated bootstraps from 0, a truncated one (or a time_horizon cut) from its bootstrap value."""
        buf = self.ring.buffer
        return np.take(buf["terminated"], window, axis=0), np.take(buf["truncated"], window, axis=0)

    def signal_advantages(
        self, advantages: NDArray[np.float32], returns: NDArray[np.float32], window: NDArray[np.int64]
    ) -> NDArray[np.float32]:
        """Each signal's advantages [S, T, N] over `window`: GAE's (returns less the values)."""
        return advantages

    def trained_steps(self, rows: NDArray[np.int64]) -> NDArray[np.bool_] | None:
        """Which of `rows` the losses count (the advantages are normalized over those), or None: all
        (every agent asked for a decision at every step)."""
        absent = cast(NDArray[np.bool_], self.ring.buffer.flat("absent"))[rows]
        return ~absent if np.count_nonzero(absent) else None

    def minibatches_of(self, rows: NDArray[np.int64]) -> Iterator[tuple[Minibatch, NDArray[np.int64]]]:
        """The update's minibatches of `rows`, each with its steps' positions in `rows`."""
        return self._minibatches(rows) if self.sequence_length is None else self._sequences(rows)

    def _minibatches(self, rows: NDArray[np.int64]) -> Iterator[tuple[Minibatch, NDArray[np.int64]]]:
        """`num_epoch` passes of shuffled minibatches of `batch_size` steps (a last partial one
        dropped, as ML-Agents), each with its steps' positions in `rows`."""
        count = len(rows)
        size = min(self.hyper.batch_size, count)
        if size == 0:
            return
        keys, fetch = self.minibatches.for_rows(rows)
        for _ in range(self.hyper.num_epoch):
            positions = _native.shuffled_indices(self.rng, count)
            order = keys(positions)
            for start in range(0, count - size + 1, size):
                yield fetch(order[start : start + size]), positions[start : start + size]

    def _sequences(self, rows: NDArray[np.int64]) -> Iterator[tuple[Minibatch, NDArray[np.int64]]]:
        """With memory: `num_epoch` passes of shuffled whole sequences, `batch_size //
        sequence_length` a minibatch (recurrent.py; the value estimate cut them)."""
        assert isinstance(self.values, RecurrentValueEstimator) and self.sequence_length is not None
        length, count = self.sequence_length, len(rows)
        padding = self.values.sequences < 0
        sequences = np.where(padding, count, self.values.sequences)  # position `count`: a zero row
        # The steps an agent sat out run through the memory (as it did when acting) but count in no loss.
        sat_out = np.append(cast(NDArray[np.bool_], self.ring.buffer.flat("absent"))[rows], True)
        memories = torch.from_numpy(self.values.sequence_memories)
        keys, fetch = self.minibatches.for_rows(np.append(rows, -1))
        total = len(sequences)
        per = min(max(self.hyper.batch_size // length, 1), total)
        for _ in range(self.hyper.num_epoch):
            order = _native.shuffled_indices(self.rng, total)
            for start in range(0, total - per + 1, per):
                chosen = order[start : start + per]
                positions = sequences[chosen].reshape(-1)
                counted = ~sat_out[positions]  # (padding sits at position `count`: never counted)
                if not counted.any():
                    continue
                mb = fetch(keys(positions))
                device = mb.advantages.device
                mb.mask = torch.from_numpy(counted).to(device)
                mb.critic_memory = memories[chosen].to(device)
                mb.sequence_length = length
                yield mb, positions[counted]

    def value_estimate_stats(self, values: NDArray[np.float32], rows: NDArray[np.int64]) -> UpdateStats:
        """Policy/<Signal> Value Estimate: one mean per trajectory, as ML-Agents adds one per
        trajectory it processes (training or not). `values` [S, M] are those of the flat ring
        `rows`, agent by agent in time order; every agent's steps end with a trajectory's end."""
        means = trajectory_means(values, self.ring.trajectory_ends(rows))
        return {f"Policy/{signal.stat_name} Value Estimate": means[s].tolist() for s, signal in
                enumerate(self.signals)}  # fmt: skip
