"""PPO with memory, fused, on the CPU: ManualActorCritic's bodies and heads around the native LSTM.

The networks are ML-Agents' (the Swish MLP body, the LSTM on its features, the heads on the
LSTM's outputs); only how they run differs from the modules with autograd (recurrent.py), and
the tests hold the two to the same values and gradients.

- Acting: the bodies' features in one native call (or torch's products for many agents), one
  LSTM step for every agent from its memory (`_native.lstm_forward`, one step), then the heads
  and the sampling natively, as the feed-forward fused path.
- The gradient step on whole sequences: the bodies forward; each LSTM over the minibatch's
  sequences from their stored first memories (one native call); the heads and the PPO loss on
  the steps that are not padding only (their mean is ML-Agents' masked mean), natively; back
  through the LSTMs (one native call each, then one product each for the weight gradients) and
  the bodies. Every gradient is written into FlatAdam's buffer, then its step.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from mlagents_fast.networks import native_lstm
from mlagents_fast.networks.actions import ActionOutput
from mlagents_fast.networks.actor_critic import Actor, Critic
from mlagents_fast.trainers.agent_memories import Memories
from mlagents_fast.trainers.flat_adam import FlatAdam
from mlagents_fast.trainers.fused_bodies import BodyPass, native_forward_pays
from mlagents_fast.trainers.ppo.fused.actor_critic import ManualActorCritic
from mlagents_fast.trainers.ppo.minibatch import Minibatch
from mlagents_fast.trainers.stats import NetworkClock


def _lstms(actor: Actor, critic: Critic) -> tuple[nn.LSTM, nn.LSTM]:
    actor_memory, critic_memory = actor.network_body.memory, critic.network_body.memory
    assert actor_memory is not None and critic_memory is not None
    return actor_memory.lstm, critic_memory.lstm


def supports(actor: Actor, critic: Critic) -> bool:
    """All-vector MLP bodies with memory, each its own (not a shared critic), on the CPU."""
    body, critic_body = actor.network_body, critic.network_body
    on_cpu = next(actor.parameters()).device.type == "cpu"
    with_memory = body.memory is not None and critic_body.memory is not None and body is not critic_body
    return on_cpu and with_memory and ManualActorCritic.supports(actor, critic, with_memory=True)


class FusedRecurrentActing:
    """One step of every agent from its memories: values [S, B] and actions."""

    def __init__(self, actor: Actor, critic: Critic, memories: Memories) -> None:
        self.fused = ManualActorCritic(actor, critic, with_memory=True)
        self.lstms = _lstms(actor, critic)
        self.memories = memories
        self.hidden = self.lstms[0].hidden_size
        self._body_features: dict[int, NDArray[np.float32]] = {}

    def __call__(
        self, obs: list[torch.Tensor], action_mask: NDArray[np.bool_] | None, deterministic: bool
    ) -> tuple[torch.Tensor, ActionOutput]:
        rows = obs[0].shape[0]
        out = self.fused.sample_buffer(rows)
        features = self._features(obs, rows)
        size = self.hidden
        after = []
        for g, (lstm, memory) in enumerate(zip(self.lstms, self.memories.current(torch.device("cpu")), strict=True)):
            kept = native_lstm.forward(features[g], memory[:, :size], memory[:, size:], lstm)
            hidden, cell = kept.hidden[:, 0], kept.cell[:, 0]
            out.features[g].copy_(hidden)
            after.append(torch.cat([hidden, cell], dim=1))
        self.memories.keep(after[0], after[1])
        return self.fused.act_on_features(out, action_mask, deterministic)

    def _features(self, obs: list[torch.Tensor], rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The bodies' features (actor, critic), [B, hidden] each."""
        bodies = self.fused.bodies
        width = self.lstms[0].input_size
        if native_forward_pays(rows, width):
            buffer = self._body_features.get(rows)
            if buffer is None:
                buffer = self._body_features[rows] = np.zeros((2, rows, width), np.float32)
            if bodies.native_features(obs, buffer):
                features = torch.from_numpy(buffer)
                return features[0], features[1]
        return bodies.forward(obs)


class FusedRecurrentStep:
    """The gradient step on whole sequences, fused (see the module's docstring)."""

    def __init__(self, actor: Actor, critic: Critic, optimizer: FlatAdam, clock: NetworkClock) -> None:
        self.fused = ManualActorCritic(actor, critic, with_memory=True)
        self.lstms = _lstms(actor, critic)
        self.optimizer, self.clock = optimizer, clock

    @torch.no_grad()
    def __call__(self, mb: Minibatch, epsilon: float, beta: float) -> tuple[float, float]:
        assert mb.memory is not None and mb.critic_memory is not None and mb.mask is not None
        started = time.perf_counter()
        length, rows = mb.sequence_length, mb.advantages.shape[0]
        size = self.lstms[0].hidden_size
        kept = BodyPass()
        features = self.fused.bodies.forward(mb.obs, kept)
        passes = []
        for lstm, h, memory in zip(self.lstms, features, (mb.memory[::length], mb.critic_memory), strict=True):
            passes.append(native_lstm.forward(h, memory[:, :size], memory[:, size:], lstm))
        steps = mb.mask.nonzero().squeeze(1)  # the rows that are not padding

        def real(t: torch.Tensor | None, dim: int = 0) -> torch.Tensor | None:
            return None if t is None else t.index_select(dim, steps)

        outputs = [p.hidden.view(rows, size).index_select(0, steps) for p in passes]
        policy_loss, value_loss, grad_outputs = self.fused.heads_step(
            outputs[0], outputs[1], real(mb.action_mask), real(mb.continuous_action), real(mb.discrete_action),
            mb.old_log_probs.index_select(0, steps), mb.advantages.index_select(0, steps),
            mb.old_values.index_select(1, steps), mb.returns.index_select(1, steps), epsilon, beta,
        )  # fmt: skip
        grad_features = torch.empty(2, rows, features[0].shape[1])
        for g, (lstm, kept_lstm) in enumerate(zip(self.lstms, passes, strict=True)):
            grad_hidden = torch.zeros(rows, size).index_copy_(0, steps, grad_outputs[g])
            grad_gates, _, _ = native_lstm.backward(kept_lstm, lstm, grad_hidden.view(-1, length, size))
            native_lstm.write_weight_gradients(kept_lstm, grad_gates, lstm)
            torch.mm(grad_gates, native_lstm.weights(lstm)[0].detach(), out=grad_features[g])
        self.fused.bodies.backward(grad_features, kept)
        self.clock.seconds += time.perf_counter() - started
        self.optimizer.step()
        return policy_loss, value_loss
