"""What a PPO checkpoint holds, under ML-Agents' module names ("Policy", "Optimizer:critic", ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mlagents_fast import _native
from mlagents_fast.networks.actor_critic import Actor
from mlagents_fast.networks.observation_normalizer import ObservationNormalizer
from mlagents_fast.reward_signals import RewardSignal
from mlagents_fast.trainers.flat_adam import FlatAdam


@dataclass(frozen=True)
class PPOCheckpoint:
    """The parts of a PPO trainer a checkpoint saves and restores."""

    actor: Actor
    critic: nn.Module  # PPO's Critic, or POCA's centralized critic
    optimizer: FlatAdam
    normalizer: ObservationNormalizer
    signals: list[RewardSignal]
    rng: _native.Rng

    def state_dict(self, step: int) -> dict[str, Any]:
        """Tensors and plain values only (loadable with weights_only)."""
        return {
            "Policy": self.actor.state_dict(),
            "Optimizer:critic": self.critic.state_dict(),
            "Optimizer:value_optimizer": self.optimizer.state_dict(),
            "global_step": step,
            "rng": {"native": [int(w) for w in self.rng.state()], "torch": torch.get_rng_state()},
            **self.normalizer.state_dict(),
            **{f"reward_signal:{s.name}": state for s in self.signals if (state := s.state_dict())},
        }

    def load_state_dict(self, state: dict[str, Any], reset_step: bool) -> int | None:
        """Restore `state`; returns its step, or None with `reset_step` (--initialize-from, init_path),
        which loads the networks, normalizer and optimizer as ML-Agents does but keeps this run's
        step (so the schedules) at zero and its own random streams.

        The networks keep the normalizer statistics they were saved with (those baked into the
        ONNX of the same step), so the loaded policy is the saved one; the running statistics
        reach them at the next update."""
        self.actor.load_state_dict(state["Policy"])
        self.critic.load_state_dict(state["Optimizer:critic"])
        self.normalizer.load_state_dict(state)
        for signal in self.signals:
            if f"reward_signal:{signal.name}" in state:
                signal.load_state_dict(state[f"reward_signal:{signal.name}"])
        self.optimizer.load_state_dict(state["Optimizer:value_optimizer"])
        if reset_step:
            return None
        rng = state.get("rng", {})
        if "native" in rng:
            self.rng.set_state(rng["native"])
        if "torch" in rng:
            torch.set_rng_state(rng["torch"])
        return int(state["global_step"])
