"""SAC's acting: one batched forward of the actor for every agent, each step, and of V (whose
per-trajectory mean ML-Agents reports as `Policy/<Signal> Value`).

`ModuleActing` runs the actor module. `NativeActing` serves a continuous-action actor on a
plain Swish MLP over vector observations, on the CPU (3DBall, the Walker family): the body in
one native call, the heads in another, the squashing in numpy. Its noise comes from torch's
generator, drawn as the module draws it, so the two give the same actions (a test checks it);
at 12 agents it takes a fifth of the modules' time. V runs the same way (`NativeMLP`) wherever
the critic is a plain MLP on the CPU, else as the critic module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from mlagents_fast import _native
from mlagents_fast.networks.actions import EPSILON
from mlagents_fast.networks.actor_critic import Critic, NetworkBody
from mlagents_fast.networks.encoders import VectorInput
from mlagents_fast.ops.normalize import ML_AGENTS_CLIP as NORMALIZER_CLIP
from mlagents_fast.trainers.agent_memories import Memories
from mlagents_fast.trainers.fused_bodies import linear_layers, native_forward
from mlagents_fast.trainers.sac.networks import LOG_SIGMA_MAX, LOG_SIGMA_MIN, SACActor

# Per dimension, the unsquashed Gaussian's entropy is 0.5 log(2 pi e sigma^2 + EPSILON).
TWO_PI_E = 2.0 * math.pi * math.e


@dataclass
class Acted:
    continuous: NDArray[np.float32]  # [N, C] in [-1, 1]
    discrete: NDArray[np.int64]  # [N, D]
    entropy: float  # the mean over agents
    values: NDArray[np.float32]  # [S, N]: V of each agent's observations, per reward signal


class NativeMLP:
    """A plain Swish MLP body and its linear heads on the CPU, in two native calls, reading the
    parameters through numpy views (the optimizer and load_state_dict update them in place)."""

    def __init__(self, body: NetworkBody, heads: list[nn.Linear]) -> None:
        layers = linear_layers(body)
        assert layers is not None, "supports() checks the body"
        self.layers: list[tuple[NDArray[np.float32], ...]] = [
            (layer.weight.detach().numpy()[None], layer.bias.detach().numpy()[None]) for layer in layers
        ]
        self.processors = [p for p in body.processors if isinstance(p, VectorInput)]
        self.heads = [(h.weight.detach().numpy(), h.bias.detach().numpy()) for h in heads]
        self.width = layers[-1].out_features
        self._rows = -1
        # One vector observation (the common case): its statistics as numpy views, read in place
        # (the normalizer copies into these tensors; none replaces them after construction).
        self._single: tuple[NDArray[np.float32] | None, ...] | None = None
        if len(self.processors) == 1 and len(body.processors) == 1:
            only = self.processors[0]
            self._single = ((only.running_mean.numpy()[None], only.running_variance.numpy()[None])
                            if only.normalize else (None, None))  # fmt: skip

    @staticmethod
    def supports(network: SACActor | Critic) -> bool:
        """On the CPU, a plain MLP over vector observations all normalized or none."""
        body = network.network_body
        if next(network.parameters()).device.type != "cpu" or linear_layers(body) is None:
            return False
        return len({p.normalize for _, p in body.vector_inputs()}) <= 1

    def __call__(self, obs: Sequence[NDArray[np.float32]]) -> list[NDArray[np.float32]]:
        """Each head's outputs [N, outputs], in buffers the next call overwrites."""
        rows = obs[0].shape[0]
        if rows != self._rows:
            self._rows = rows
            self._features = np.empty((1, rows, self.width), np.float32)
            self._outputs = [np.empty((rows, w.shape[0]), np.float32) for w, _ in self.heads]
        if self._single is not None:
            mean, variance = self._single
            _native.swish_mlp_forward(obs[0], mean, variance, NORMALIZER_CLIP, self.layers, self._features)
        else:
            tensors = [torch.from_numpy(o) for o in obs]
            done = native_forward([self.processors], self.layers, tensors, self._features)
            assert done, "supports() checks that the inputs are all normalized or none"
        _native.heads_forward(self._features[0], [(*h, out) for h, out in zip(self.heads, self._outputs, strict=True)])
        return self._outputs


def value_forward(
    critic: Critic, device: torch.device
) -> Callable[[Sequence[NDArray[np.float32]]], NDArray[np.float32]]:
    """V of every agent's observations, [S, N]: natively where `NativeMLP` supports the critic."""
    if NativeMLP.supports(critic):
        native = NativeMLP(critic.network_body, [critic.value_heads])
        return lambda obs: native(obs)[0].T

    def module(obs: Sequence[NDArray[np.float32]]) -> NDArray[np.float32]:
        with torch.inference_mode():
            return critic([torch.from_numpy(o).to(device) for o in obs]).cpu().numpy()

    return module


class ModuleActing:
    def __init__(self, actor: SACActor, critic: Critic, device: torch.device) -> None:
        self.actor, self.device = actor, device
        self.values = value_forward(critic, device)
        self.on_cpu = device.type == "cpu"

    def __call__(self, obs: Sequence[NDArray[np.float32]], allowed: torch.Tensor, deterministic: bool) -> Acted:
        tensors = [torch.from_numpy(o) if self.on_cpu else torch.from_numpy(o).to(self.device) for o in obs]
        with torch.inference_mode():
            out = self.actor(tensors, allowed, deterministic=deterministic)
        return Acted(out.continuous.cpu().numpy(), out.discrete.cpu().numpy(), float(out.entropy.mean()),
                     self.values(obs))  # fmt: skip


class RecurrentActing:
    """Acting through the modules with every agent's memories (`network_settings.memory`)."""

    def __init__(self, actor: SACActor, critic: Critic, device: torch.device, memories: Memories) -> None:
        self.actor, self.critic, self.device, self.memories = actor, critic, device, memories

    def __call__(self, obs: Sequence[NDArray[np.float32]], allowed: torch.Tensor, deterministic: bool) -> Acted:
        tensors = [torch.from_numpy(o).to(self.device) for o in obs]
        with torch.inference_mode():
            actor_memory, critic_memory = self.memories.current(self.device)
            out, actor_after = self.actor.act_with_memory(tensors, allowed, actor_memory, deterministic)
            values, critic_after = self.critic.values_with_memory(tensors, critic_memory)
        self.memories.keep(actor_after, critic_after)
        return Acted(out.continuous.cpu().numpy(), out.discrete.cpu().numpy(), float(out.entropy.mean()),
                     values.cpu().numpy())  # fmt: skip


class NativeActing:
    """The actor's forward for continuous actions on the CPU without torch's per-call cost."""

    def __init__(self, actor: SACActor, critic: Critic) -> None:
        model = actor.action_model
        self.actor = NativeMLP(actor.network_body, [model.mu, model.log_sigma])
        self.values = value_forward(critic, torch.device("cpu"))
        self.size = model.continuous_size
        self._no_choices = np.zeros((0, 0), np.int64)

    @staticmethod
    def create(actor: SACActor, critic: Critic) -> NativeActing | None:
        """None unless the actor is continuous-only and `NativeMLP` supports it."""
        model = actor.action_model
        if model.branches or not model.continuous_size or not NativeMLP.supports(actor):
            return None
        return NativeActing(actor, critic)

    def __call__(self, obs: Sequence[NDArray[np.float32]], allowed: torch.Tensor, deterministic: bool) -> Acted:
        rows = obs[0].shape[0]
        if self._no_choices.shape[0] != rows:
            self._no_choices = np.zeros((rows, 0), np.int64)
        mean, raw_log_sigma = self.actor(obs)
        sigma = np.exp(np.clip(raw_log_sigma, LOG_SIGMA_MIN, LOG_SIGMA_MAX))
        if deterministic:
            unsquashed = mean
        else:  # torch's generator, as the module's randn_like
            unsquashed = mean + torch.randn(rows, self.size).numpy() * sigma
        entropy = float(np.mean(0.5 * np.log(TWO_PI_E * sigma * sigma + EPSILON)))
        return Acted(np.tanh(unsquashed), self._no_choices, entropy, self.values(obs))
