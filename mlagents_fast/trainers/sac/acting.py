"""SAC's acting: one batched forward of the actor for every agent, each step, and of V (whose
per-trajectory mean ML-Agents reports as `Policy/<Signal> Value`).

`ModuleActing` runs the torch modules. `NativeActing` serves a continuous-action actor on a
plain Swish MLP over vector observations, on the CPU (3DBall, the Walker family): each body in
one native call, the heads in others, the squashing in numpy. Its noise comes from torch's
generator, drawn as the module draws it, so the two give the same actions (a test checks it);
at 12 agents it takes a fifth of the modules' time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast import _native
from mlagents_fast.networks.actions import EPSILON
from mlagents_fast.networks.actor_critic import Critic, NetworkBody
from mlagents_fast.networks.encoders import VectorInput
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


class ModuleActing:
    def __init__(self, actor: SACActor, critic: Critic, device: torch.device) -> None:
        self.actor, self.critic, self.device = actor, critic, device
        self.on_cpu = device.type == "cpu"

    def __call__(self, obs: Sequence[NDArray[np.float32]], allowed: torch.Tensor, deterministic: bool) -> Acted:
        tensors = [torch.from_numpy(o) if self.on_cpu else torch.from_numpy(o).to(self.device) for o in obs]
        with torch.inference_mode():
            out = self.actor(tensors, allowed, deterministic=deterministic)
            values = self.critic(tensors)
        return Acted(out.continuous.cpu().numpy(), out.discrete.cpu().numpy(), float(out.entropy.mean()),
                     values.cpu().numpy())  # fmt: skip


class NativeActing:
    """The actor's forward for continuous actions on the CPU without torch's per-call cost."""

    def __init__(self, actor: SACActor, critic: Critic) -> None:
        # numpy views of the parameters: the optimizer and load_state_dict update them in place
        self.layers, self.critic_layers = _layer_views(actor.network_body), _layer_views(critic.network_body)
        self.processors = [p for p in actor.network_body.processors if isinstance(p, VectorInput)]
        self.critic_processors = [p for p in critic.network_body.processors if isinstance(p, VectorInput)]
        self.value_heads = (critic.value_heads.weight.detach().numpy(), critic.value_heads.bias.detach().numpy())
        model = actor.action_model
        self.mu = (model.mu.weight.detach().numpy(), model.mu.bias.detach().numpy())
        self.log_sigma = (model.log_sigma.weight.detach().numpy(), model.log_sigma.bias.detach().numpy())
        self.width, self.size = self.layers[-1][1].shape[1], model.continuous_size
        self.signals = critic.value_heads.out_features
        self._rows = -1
        self._no_choices = np.zeros((0, 0), np.int64)

    @staticmethod
    def create(actor: SACActor, critic: Critic) -> NativeActing | None:
        """None unless the actor is continuous-only, on the CPU, and both networks are plain MLPs
        over vector observations all normalized or none."""
        model = actor.action_model
        if model.branches or not model.continuous_size or next(actor.parameters()).device.type != "cpu":
            return None
        for body in (actor.network_body, critic.network_body):
            if linear_layers(body) is None or len({p.normalize for _, p in body.vector_inputs()}) > 1:
                return None
        return NativeActing(actor, critic)

    def _buffers(self, rows: int) -> None:
        if rows != self._rows:
            self._rows = rows
            self._features = np.empty((1, rows, self.width), np.float32)
            self._critic_features = np.empty((1, rows, self.width), np.float32)
            self._values = np.empty((rows, self.signals), np.float32)
            self._mean = np.empty((rows, self.size), np.float32)
            self._log_sigma = np.empty((rows, self.size), np.float32)
            self._no_choices = np.zeros((rows, 0), np.int64)

    def __call__(self, obs: Sequence[NDArray[np.float32]], allowed: torch.Tensor, deterministic: bool) -> Acted:
        rows = obs[0].shape[0]
        self._buffers(rows)
        tensors = [torch.from_numpy(o) for o in obs]
        done = native_forward([self.processors], self.layers, tensors, self._features)
        done &= native_forward([self.critic_processors], self.critic_layers, tensors, self._critic_features)
        assert done, "create() checks that the inputs are all normalized or none"
        _native.heads_forward(self._features[0], [(*self.mu, self._mean), (*self.log_sigma, self._log_sigma)])
        _native.heads_forward(self._critic_features[0], [(*self.value_heads, self._values)])
        log_sigma = np.clip(self._log_sigma, LOG_SIGMA_MIN, LOG_SIGMA_MAX)
        sigma = np.exp(log_sigma)
        if deterministic:
            unsquashed = self._mean
        else:  # torch's generator, as the module's randn_like
            unsquashed = self._mean + torch.randn(rows, self.size).numpy() * sigma
        entropy = float(np.mean(0.5 * np.log(TWO_PI_E * sigma * sigma + EPSILON)))
        return Acted(np.tanh(unsquashed), self._no_choices, entropy, self._values.T)


def _layer_views(body: NetworkBody) -> list[tuple[NDArray[np.float32], ...]]:
    """[1, out, in] and [1, out] numpy views of each of the body's layers (one group)."""
    layers = linear_layers(body)
    assert layers is not None, "create() checks the body"
    return [(layer.weight.detach().numpy()[None], layer.bias.detach().numpy()[None]) for layer in layers]
