"""The seam between the PPO update and the ways its networks run: chosen once, in `choose_paths`.

Two things run the networks: acting (one forward for every agent each step) and the gradient
step (forward, loss, backward and Adam on one minibatch). Each has a plain form, the torch
modules with autograd and the loss in loss.py, and a fused form for all-vector MLP networks
(fused/: the bodies as plain tensor ops with a hand-written backward, and on the CPU the
heads, the loss and the sampling as native calls). Both forms step the same FlatAdam.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast.networks.actions import ActionOutput
from mlagents_fast.networks.actor_critic import Actor, Critic
from mlagents_fast.trainers.flat_adam import FlatAdam
from mlagents_fast.trainers.ppo.fused.actor_critic import ManualActorCritic
from mlagents_fast.trainers.ppo.loss import ppo_loss
from mlagents_fast.trainers.ppo.minibatch import Minibatch
from mlagents_fast.trainers.stats import NetworkClock


class ActingForward(Protocol):
    def __call__(
        self, obs: list[torch.Tensor], action_mask: NDArray[np.bool_] | None, deterministic: bool
    ) -> tuple[torch.Tensor, ActionOutput]:
        """Values [S, B] and actions of one step of every agent (under inference mode)."""
        ...


class GradientStep(Protocol):
    def __call__(self, mb: Minibatch, epsilon: float, beta: float) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """One gradient step on `mb`; returns the (detached) policy and value losses."""
        ...


class ModuleActing:
    """Acting through the torch modules."""

    def __init__(self, actor: Actor, critic: Critic, device: torch.device) -> None:
        self.actor, self.critic, self.device = actor, critic, device
        self._allowed_all = torch.ones(1, sum(actor.action_model.branches), device=device)

    def __call__(
        self, obs: list[torch.Tensor], action_mask: NDArray[np.bool_] | None, deterministic: bool
    ) -> tuple[torch.Tensor, ActionOutput]:
        allowed = self.allowed(obs[0].shape[0], action_mask)
        return self.critic(obs), self.actor(obs, allowed, deterministic=deterministic)

    def allowed(self, rows: int, action_mask: NDArray[np.bool_] | None) -> torch.Tensor:
        """[rows, choices], 1 where a choice may be taken (`action_mask` is True where blocked)."""
        if action_mask is not None:
            return torch.from_numpy(~action_mask).to(self.device, torch.float32)
        if self._allowed_all.shape[0] < rows:
            self._allowed_all = torch.ones(rows, self._allowed_all.shape[1], device=self.device)
        return self._allowed_all[:rows]


def taken_actions(mb: Minibatch, branches: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The minibatch's (continuous actions, discrete choices, allowed choices) as the actor's
    `evaluate` takes them: empty where the behavior has none of a kind, all allowed without a mask."""
    rows, device = mb.advantages.shape[0], mb.advantages.device
    continuous = mb.continuous_action if mb.continuous_action is not None else torch.zeros(rows, 0, device=device)
    if mb.discrete_action is not None and mb.action_mask is not None:
        return continuous, mb.discrete_action.long(), (~mb.action_mask).float()
    discrete = torch.zeros(rows, 0, dtype=torch.int64, device=device)
    return continuous, discrete, torch.ones(rows, sum(branches), device=device)


class AutogradStep:
    """The plain gradient step: the modules' forward, loss.py's loss, autograd's backward."""

    def __init__(self, actor: Actor, critic: Critic, optimizer: FlatAdam, clock: NetworkClock) -> None:
        self.actor, self.critic, self.optimizer, self.clock = actor, critic, optimizer, clock
        self._gradients_checked = False

    def __call__(self, mb: Minibatch, epsilon: float, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        continuous, discrete, allowed = taken_actions(mb, self.actor.action_model.branches)
        started = time.perf_counter()
        log_probs, entropy = self.actor.evaluate(mb.obs, allowed, continuous, discrete)
        values = self.critic(mb.obs)  # [S, B]
        loss, policy_loss, value_loss = ppo_loss(log_probs, values, entropy, mb.old_log_probs,
                                                 mb.advantages.unsqueeze(1), mb.old_values, mb.returns, epsilon,
                                                 beta)  # fmt: skip
        self.optimizer.zero_grad()
        loss.backward()
        self.clock.seconds += time.perf_counter() - started
        if not self._gradients_checked:  # autograd must write into FlatAdam's buffer, not new tensors
            self.optimizer.check_gradients_in_place()
            self._gradients_checked = True
        self.optimizer.step()
        return policy_loss, value_loss


class FusedStep:
    """The fused gradient step: ManualActorCritic's forward and backward, gradients written in place."""

    def __init__(self, fused: ManualActorCritic, optimizer: FlatAdam, clock: NetworkClock) -> None:
        self.fused, self.optimizer, self.clock = fused, optimizer, clock

    def __call__(self, mb: Minibatch, epsilon: float, beta: float) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        started = time.perf_counter()
        policy_loss, value_loss = self.fused.ppo_step(
            mb.obs, mb.action_mask, mb.continuous_action, mb.discrete_action, mb.old_log_probs, mb.advantages,
            mb.old_values, mb.returns, epsilon, beta,
        )  # fmt: skip
        self.clock.seconds += time.perf_counter() - started
        self.optimizer.step()
        return policy_loss, value_loss


@dataclass(frozen=True)
class Paths:
    act: ActingForward
    step: GradientStep
    fused: bool


def choose_paths(
    learning: tuple[Actor, Critic], acting: tuple[Actor, Critic], optimizer: FlatAdam, clock: NetworkClock
) -> Paths:
    """How this trainer's networks run, decided once from what they are:

    - all-vector MLP bodies (no visual or goal-conditioned input), any device: the fused path.
      On the CPU the heads, the PPO loss with its derivatives, the action sampling and the
      Swish backward are native calls, and the bodies' matrix products torch's; on other
      devices the same hand-written forward and backward run as torch ops.
    - anything else (visual encoders, hypernetwork conditioning): the plain path, the torch
      modules with autograd and the plain loss.

    Both paths end with the same FlatAdam step (trainers/flat_adam.py): one native pass on the
    CPU below a measured size, else torch's fused Adam on the one flat tensor.

    `acting` are the networks that choose actions (copies of `learning` when the update runs on
    its own thread). The optimizer must already hold the parameters: the fused path keeps
    views into its flat buffers.
    """
    actor, critic = learning
    if ManualActorCritic.supports(actor, critic):
        acting_fused = ManualActorCritic(*acting)
        return Paths(acting_fused.act, FusedStep(ManualActorCritic(actor, critic), optimizer, clock), fused=True)
    device = next(actor.parameters()).device
    return Paths(ModuleActing(acting[0], acting[1], device), AutogradStep(actor, critic, optimizer, clock), fused=False)
