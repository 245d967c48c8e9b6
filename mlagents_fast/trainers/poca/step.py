"""MA-POCA's acting (the actor alone) and gradient step (actor and centralized critic, autograd)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast.networks.actions import ActionOutput
from mlagents_fast.networks.actor_critic import Actor
from mlagents_fast.networks.poca import POCACritic
from mlagents_fast.trainers.flat_adam import FlatAdam
from mlagents_fast.trainers.poca.loss import poca_loss
from mlagents_fast.trainers.poca.values import GroupTensors
from mlagents_fast.trainers.ppo.gradient_step import ModuleActing, taken_actions
from mlagents_fast.trainers.ppo.minibatch import Minibatch
from mlagents_fast.trainers.stats import NetworkClock


class ActorActing(ModuleActing):
    """Actions from the actor; the values an update needs come from the centralized critic then
    (acting reports zeros)."""

    def __init__(self, actor: Actor, signals: int, device: torch.device) -> None:
        self.actor, self.device, self.signals = actor, device, signals
        self._allowed_all = torch.ones(1, sum(actor.action_model.branches), device=device)

    def __call__(
        self, obs: list[torch.Tensor], action_mask: NDArray[np.bool_] | None, deterministic: bool
    ) -> tuple[torch.Tensor, ActionOutput]:
        rows = obs[0].shape[0]
        out = self.actor(obs, self.allowed(rows, action_mask), deterministic=deterministic)
        return torch.zeros(self.signals, rows, device=self.device), out


@dataclass(slots=True)
class GroupMinibatch(Minibatch):
    """A PPO minibatch with each step's groupmates and the baselines it was estimated with."""

    group: GroupTensors | None = None
    old_baselines: torch.Tensor | None = None  # [S, B]
    baseline_memory: torch.Tensor | None = None  # with memory: [sequences, memory_size] at each start


class POCAStep:
    def __init__(self, actor: Actor, critic: POCACritic, optimizer: FlatAdam, clock: NetworkClock) -> None:
        self.actor, self.critic, self.optimizer, self.clock = actor, critic, optimizer, clock
        self.baseline_losses: list[float] = []  # one a step, taken by the update's stats

    def __call__(self, mb: Minibatch, epsilon: float, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        assert isinstance(mb, GroupMinibatch) and mb.group is not None and mb.old_baselines is not None
        assert mb.mask is not None
        continuous, discrete, allowed = taken_actions(mb, self.actor.action_model.branches)
        started = time.perf_counter()
        if mb.memory is None:
            log_probs, entropy = self.actor.evaluate(mb.obs, allowed, continuous, discrete)
            values = self.critic.value(*mb.group.members())
            baselines = self.critic.baseline(*mb.group.counterfactual())
        else:  # whole sequences, each from the memories it starts with (recurrent.py)
            assert mb.critic_memory is not None and mb.baseline_memory is not None
            length = mb.sequence_length
            log_probs, entropy = self.actor.evaluate(mb.obs, allowed, continuous, discrete, mb.memory, length)
            values, _ = self.critic.value_with_memory(*mb.group.members(), mb.critic_memory, length)
            baselines, _ = self.critic.baseline_with_memory(*mb.group.counterfactual(), mb.baseline_memory, length)
        loss, policy_loss, value_loss, baseline_loss = poca_loss(
            log_probs, entropy, mb.old_log_probs, mb.advantages.unsqueeze(1), values, baselines, mb.old_baselines,
            mb.returns, epsilon, beta, mb.mask,
        )  # fmt: skip
        self.optimizer.zero_grad()
        loss.backward()
        self.clock.seconds += time.perf_counter() - started
        self.optimizer.step()
        self.baseline_losses.append(float(baseline_loss))
        return policy_loss, value_loss
