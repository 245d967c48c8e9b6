"""What a round of SAC updates trains on (drawn before it starts) and what it did."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlagents_fast.reward_signals import SignalUpdateBatch
from mlagents_fast.trainers.sac.minibatch import ReplayMinibatch


@dataclass
class UpdateRound:
    """What one round of updates did: counts, and stats summed over its steps."""

    policy_steps: int = 0
    signal_steps: int = 0
    policy: dict[str, float] = field(default_factory=dict)
    signals: dict[str, float] = field(default_factory=dict)
    cloning: dict[str, list[float]] = field(default_factory=dict)  # behavioral cloning's stats

    @staticmethod
    def add(totals: dict[str, float], stats: dict[str, float]) -> None:
        for key, value in stats.items():
            totals[key] = totals.get(key, 0.0) + value


@dataclass
class RoundPlan:
    """What one round of updates trains on, drawn before it starts."""

    learning_rate: float
    minibatches: list[ReplayMinibatch]
    signal_batches: list[SignalUpdateBatch]
    step: int  # the trainer's step when it was planned (behavioral cloning's schedule)
