"""What the reward signals pay each step, and what each paid over an agent's episode."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.reward_signals import LearnedRewardSignal, RewardInput, RewardSignal, SignalUpdateBatch
from mlagents_fast.trainers.stats import TrainerStats


def step_batch(step: RewardInput, next_obs: list[NDArray[np.float32]]) -> SignalUpdateBatch:
    """One step of every agent as a signal's batch; `next_obs` (preallocated, one array per
    observation) receives the observations that followed, an ended episode's final ones."""
    done = step.outcome.done
    for out, following, final in zip(next_obs, step.outcome.obs, step.outcome.terminal_obs, strict=True):
        np.copyto(out, following)
        out[done] = final[done]
    return SignalUpdateBatch(list(step.obs), step.continuous_action, step.discrete_action, done, next_obs, done)


class SignalRewards:
    """Pays every signal into a rollout's reward planes and reports the episodes that end."""

    def __init__(self, signals: list[RewardSignal], num_agents: int, arrays: dict[str, NDArray[Any]],
                 evaluate_learned: bool = False) -> None:  # fmt: skip
        """`arrays`: the rollout's fields, `[T, N, ...]` (`rewards` `[S, T, N]`). With `evaluate_learned`
        (SAC), the signals that learn are evaluated on each step as it is recorded, as ML-Agents'
        off-policy trainer evaluates each trajectory (for their totals; an update re-evaluates its
        minibatches); without (PPO), an update pays them and reports their totals."""
        self.signals, self.rewards = signals, arrays["rewards"]
        self.evaluate_learned = evaluate_learned
        obs = [arrays[name] for name in arrays if name.startswith("obs_")]
        self._input = RewardInput(obs, arrays.get("continuous_action"), arrays.get("discrete_action"))
        self._next_obs = [np.zeros_like(o[0]) for o in obs] if evaluate_learned else []
        self._paid = np.zeros(num_agents, np.float32)
        self._episode = np.zeros((len(signals), num_agents), np.float32)  # paid this episode, per agent

    def pay(self, row: int, outcome: StepBatch) -> None:
        """The rewards (times each signal's strength) of the step in `row` that `outcome` followed."""
        step = self._input.at(row, outcome)
        batch = None
        for s, signal in enumerate(self.signals):
            if signal.learns and self.evaluate_learned:
                batch = batch or step_batch(step, self._next_obs)
                self._paid[...] = cast(LearnedRewardSignal, signal).evaluate(batch)
            else:
                signal.reward(step, self._paid)
            paid = np.multiply(self._paid, signal.strength, out=self.rewards[s, row])
            np.add(self._episode[s], paid, out=self._episode[s])

    def end_episodes(self, outcome: StepBatch, done: NDArray[np.bool_], stats: TrainerStats,
                     reported: NDArray[np.bool_] | None = None) -> None:  # fmt: skip
        """Report the episodes that ended (`done`; of those, only `reported` ones when given: not a
        self-play opponent's) as ML-Agents does, and start their totals afresh."""
        shown = done if reported is None else done & reported
        stats.add_episode_returns(outcome.episode_return[shown].tolist())
        # ML-Agents' AgentProcessor counts the decisions after the first: K actions report K - 1.
        stats.add("Environment/Episode Length", np.maximum(outcome.episode_length[shown] - 1, 0).tolist())
        for s, signal in enumerate(self.signals):
            if not signal.learns or self.evaluate_learned:  # (else the update pays them, and reports them)
                stats.add(f"Policy/{signal.stat_name} Reward", self._episode[s, shown].tolist())
            self._episode[s, done] = 0.0

    def forget_episodes(self) -> None:
        """The environments were reset mid-episode: every episode's totals start afresh, unreported."""
        self._episode[...] = 0.0
