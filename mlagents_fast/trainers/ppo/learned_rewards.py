"""The rewards of the signals that learn (curiosity, RND, GAIL) in a PPO update.

As ML-Agents evaluates them on each trajectory it takes for training, an update evaluates them
on all of its steps in one call per signal, before the advantages, and writes them (times
`strength`) into the rollout's reward planes; each signal then trains once per minibatch, on
the policy's minibatches. Their per-episode totals (Policy/<Signal> Reward) are summed here,
carried from update to update for episodes that span them.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.buffer.rollout_ring import RolloutRing
from mlagents_fast.reward_signals import LearnedRewardSignal, RewardSignal, SignalUpdateBatch

UpdateStats = dict[str, list[float]]


def episode_totals(paid: NDArray[np.float32], agent: NDArray[np.int64], ends: NDArray[np.bool_],
                   carry: NDArray[np.float64]) -> list[float]:  # fmt: skip
    """The totals of the episodes that end among steps laid agent by agent in time order.

    `paid` [M] is each step's reward, `agent` [M] its agent, `ends` [M] True where an episode
    ends; `carry` [agents] holds what each agent's open episode was paid before these steps and
    is updated in place. Returns the ended episodes' totals, agent by agent in time order."""
    if not len(paid):
        return []
    starts_piece = np.ones(len(paid), np.bool_)  # a piece: one agent's steps up to an episode end
    starts_piece[1:] = (agent[1:] != agent[:-1]) | ends[:-1]
    starts = np.flatnonzero(starts_piece)
    totals = np.add.reduceat(paid.astype(np.float64), starts)
    owner = agent[starts]
    first = np.ones(len(starts), np.bool_)
    first[1:] = owner[1:] != owner[:-1]
    totals[first] += carry[owner[first]]
    ended = ends[np.append(starts[1:], len(paid)) - 1]
    last = np.ones(len(starts), np.bool_)
    last[:-1] = owner[1:] != owner[:-1]
    carry[owner[last]] = np.where(ended[last], 0.0, totals[last])
    return cast(list[float], totals[ended].tolist())


class LearnedRewards:
    """One behavior's learning signals over its rollout ring; used only by the update (its thread)."""

    def __init__(self, ring: RolloutRing, signals: list[RewardSignal]) -> None:
        self.ring = ring
        self.indices = [s for s, signal in enumerate(signals) if signal.learns]
        self.signals = [cast(LearnedRewardSignal, signals[s]) for s in self.indices]
        self.carry = np.zeros((len(self.signals), ring.agents), np.float64)

    def __bool__(self) -> bool:
        return bool(self.signals)

    def pay(self, rows: NDArray[np.int64]) -> tuple[SignalUpdateBatch, UpdateStats]:
        """Evaluate every learning signal on the update's steps (flat ring `rows`, agent by agent
        in time order) into the reward planes; the steps as the signals train on them, and the
        totals of the episodes that ended."""
        batch = self.batch(rows)
        rewards = self.ring.buffer["rewards"]
        agent = rows % self.ring.agents
        assert batch.done is not None
        stats: UpdateStats = {}
        for s, signal, carry in zip(self.indices, self.signals, self.carry, strict=True):
            paid = (signal.evaluate(batch) * np.float32(signal.strength)).astype(np.float32)
            rewards[s].flat[rows] = paid
            stats[f"Policy/{signal.stat_name} Reward"] = episode_totals(paid, agent, batch.done, carry)
        return batch, stats

    def train(self, batch: SignalUpdateBatch, minibatches: list[NDArray[np.int64]]) -> UpdateStats:
        """One gradient step of every learning signal per minibatch; the mean of each stat."""
        sums: dict[str, float] = {}
        for index in minibatches:
            part = batch.select(index)
            for signal in self.signals:
                for key, value in signal.update(part).items():
                    sums[key] = sums.get(key, 0.0) + value
        return {key: [total / max(len(minibatches), 1)] for key, total in sums.items()}

    def forget_episodes(self) -> None:
        self.carry[...] = 0.0

    def batch(self, rows: NDArray[np.int64]) -> SignalUpdateBatch:
        """The steps at flat ring `rows` with their next observations (an ended episode's final one)."""
        buf, ring, agents = self.ring.buffer, self.ring, self.ring.agents

        def take(plane: str) -> NDArray[Any] | None:
            return np.take(buf.flat(plane), rows, axis=0) if plane in buf.planes else None

        planes = [name for name in buf.planes if name.startswith("obs_")]
        obs = [cast(NDArray[np.float32], np.take(buf.flat(name), rows, axis=0)) for name in planes]
        steps = ring.ring.ring_steps
        following = ((rows // agents + 1) % steps) * agents + rows % agents
        next_obs = [cast(NDArray[np.float32], np.take(buf.flat(name), following, axis=0)) for name in planes]
        cut = ring.cut_at.reshape(-1)[rows]
        done = (cast(NDArray[np.bool_], buf.flat("terminated"))[rows]
                | (cast(NDArray[np.bool_], buf.flat("truncated"))[rows] & ~cut))  # fmt: skip
        terminated = cast(NDArray[np.bool_], buf.flat("terminated"))[rows]
        for j in np.flatnonzero(done).tolist():  # one per ended episode: its final observation
            row = int(rows[j])
            final = ring.final_obs.pop(row) if terminated[j] else ring.final_obs[row]  # (values.py pops the rest)
            for plane, value in zip(next_obs, final, strict=True):
                plane[j] = value
        return SignalUpdateBatch(obs, take("continuous_action"), take("discrete_action"), ring.trajectory_ends(rows),
                                 next_obs, done)  # fmt: skip
