"""The all-vector actor and critic as plain tensor ops, with a hand-written backward.

For the small MLPs of most ML-Agents configs, a PPO gradient step through autograd costs more
in per-node bookkeeping than in arithmetic (CartPole's 64 x 64 networks on one CPU core: about
1 ms a step, a quarter of it matrix work). `evaluate` keeps what the backward needs, and
`backward` writes every parameter's gradient into its `.grad` (FlatAdam's flat buffer): the
values autograd gives (the tests compare them). `act` is the inference forward.

`ppo_step` is one PPO gradient step's forward and backward. On the CPU the heads with the
loss between them are one native call (`heads_step`: the formulas of `evaluate` +
`ppo_loss_gradients` + the heads' part of `backward`, which the tests compare); the matrix
products stay torch's. On other devices all of it is torch ops. The bodies are fused_bodies.py.
Networks with visual or goal-conditioned inputs are not covered (`supports` says so) and
keep autograd.

Build it after the optimizer that packs the parameters into one flat buffer (FlatAdam), as
the trainer does: the batched bodies and the cached numpy views point into that storage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from mlagents_fast import _native
from mlagents_fast.networks.actions import EPSILON, LOG_2PI, MASK_PENALTY, ActionModel, ActionOutput
from mlagents_fast.networks.actor_critic import Actor, Critic
from mlagents_fast.trainers.fused_bodies import (
    BodyPass,
    SharedBody,
    linear_layers,
    make_bodies,
    native_forward_pays,
)
from mlagents_fast.trainers.ppo.fused.buffers import HeadBuffers, SampleBuffers
from mlagents_fast.trainers.ppo.fused.loss_gradients import ppo_loss_gradients

TWO_PI_E = 2.0 * math.pi * math.e


def _head_grad(layer: nn.Linear, grad_out: NDArray[np.float32]) -> tuple[NDArray[np.float32], ...]:
    """(weight, grad_out, weight_grad, bias_grad) of a head, as `_native.heads_backward` takes it."""
    assert layer.weight.grad is not None and layer.bias.grad is not None
    return layer.weight.detach().numpy(), grad_out, layer.weight.grad.numpy(), layer.bias.grad.numpy()


def _head_forward(layer: nn.Linear, out: NDArray[np.float32]) -> tuple[NDArray[np.float32], ...]:
    """(weight, bias, out) of a head, as `_native.heads_forward` takes it."""
    return layer.weight.detach().numpy(), layer.bias.detach().numpy(), out


def _linear_into(layer: nn.Linear, inputs: torch.Tensor, out: torch.Tensor) -> None:
    torch.addmm(layer.bias, inputs, layer.weight.t(), out=out)


def _linear_param_grads(layer: nn.Linear, grad_out: torch.Tensor, inputs: torch.Tensor) -> None:
    """Write `layer`'s weight and bias gradients for d loss / d output `grad_out` [B, out]."""
    assert layer.weight.grad is not None and layer.bias.grad is not None
    torch.mm(grad_out.t(), inputs, out=layer.weight.grad)
    torch.sum(grad_out, dim=0, out=layer.bias.grad)


@dataclass
class _Evaluation:
    """What `evaluate` keeps for `backward`."""

    bodies: BodyPass
    actor_features: torch.Tensor
    critic_features: torch.Tensor
    continuous_error: torch.Tensor | None = None  # x - mu  [B, C]
    discrete_probs: list[torch.Tensor] = field(default_factory=list)  # per branch [B, n]
    discrete_log_probs: list[torch.Tensor] = field(default_factory=list)
    discrete_entropy: list[torch.Tensor] = field(default_factory=list)  # per branch [B, 1]
    discrete_choice: torch.Tensor | None = None  # [B, D] int64
    allowed: torch.Tensor | None = None


class ManualActorCritic:
    """Forward and backward of an `Actor` and `Critic` pair, on their own parameters (no copies)."""

    def __init__(self, actor: Actor, critic: Critic, with_memory: bool = False) -> None:
        """`with_memory`: bodies with an LSTM after their MLP, which the caller runs (recurrent.py)."""
        self.bodies = make_bodies(actor, critic, with_memory)
        self.action_model: ActionModel = actor.action_model
        self.value_heads: nn.Linear = critic.value_heads
        self._kept: _Evaluation | None = None
        self._native = self.value_heads.weight.device.type == "cpu"
        self._head_buffers: dict[int, HeadBuffers] = {}
        self._sample_buffers: dict[int, SampleBuffers] = {}

    @property
    def native(self) -> bool:
        """Whether the heads, the loss and the Swish backward run natively (on the CPU, by default)."""
        return self._native

    @native.setter
    def native(self, native: bool) -> None:
        self._native = native
        self.bodies.set_native(native)

    @staticmethod
    def supports(actor: Actor, critic: Critic, with_memory: bool = False) -> bool:
        layers = [linear_layers(n.network_body, with_memory=with_memory) for n in (actor, critic)]
        return all(found is not None for found in layers)

    # ------------------------------------------------------------------ inference
    def act(
        self, obs: list[torch.Tensor], action_mask: NDArray[np.bool_] | None, deterministic: bool = False
    ) -> tuple[torch.Tensor, ActionOutput]:
        """Values `[S, B]` and sampled actions, as `critic(obs)` and `actor(obs, allowed, ...)`
        give them; `action_mask` [B, L] is True where a choice is blocked. On the CPU the
        actions are views of buffers that the next call overwrites."""
        model = self.action_model
        rows = obs[0].shape[0]
        if self.native and native_forward_pays(rows, self.value_heads.in_features):
            out = self.sample_buffer(rows)
            if self.bodies.native_features(obs, out.arrays["features"]):
                return self.act_on_features(out, action_mask, deterministic)
        h, h_critic = self.bodies.forward(obs)
        values = F.linear(h_critic, self.value_heads.weight, self.value_heads.bias).t()
        if not self.native:
            branches = sum(model.branches)
            allowed = (
                torch.ones(h.shape[0], branches, device=h.device)
                if action_mask is None
                else torch.from_numpy(~action_mask).to(h.device, torch.float32)
            )
            return values, model(h, allowed, deterministic)
        out = self.sample_buffer(rows)
        if model.continuous_size:
            _linear_into(model.mu, h, out.mu)
        if model.branches:
            _linear_into(model.logits, h, out.logits)
        return values, self._sample(out, action_mask, deterministic)

    def sample_buffer(self, rows: int) -> SampleBuffers:
        """Preallocated head outputs and sampled actions for `rows` agents (reused by every call)."""
        out = self._sample_buffers.get(rows)
        if out is None:
            model = self.action_model
            out = self._sample_buffers[rows] = SampleBuffers.allocate(
                rows, model.continuous_size, model.branches, self.value_heads.out_features,
                self.value_heads.in_features, 1 if isinstance(self.bodies, SharedBody) else 2,
            )  # fmt: skip
        return out

    def act_on_features(
        self, out: SampleBuffers, action_mask: NDArray[np.bool_] | None, deterministic: bool
    ) -> tuple[torch.Tensor, ActionOutput]:
        """Heads on the features `out.features` (actor, critic), all native, then the sampling."""
        if out.actor_heads is None or out.value_head is None:  # numpy views of the heads, made once
            model, arrays = self.action_model, out.arrays
            out.actor_heads = []
            if model.continuous_size:
                out.actor_heads.append(_head_forward(model.mu, arrays["mu"]))
            if model.branches:
                out.actor_heads.append(_head_forward(model.logits, arrays["logits"]))
            out.value_head = [_head_forward(self.value_heads, arrays["values"])]
        features = out.arrays["features"]
        _native.heads_forward(features[0], out.actor_heads)
        _native.heads_forward(features[1 if len(features) > 1 else 0], out.value_head)
        return out.values.t(), self._sample(out, action_mask, deterministic)

    def _sample(self, out: SampleBuffers, action_mask: NDArray[np.bool_] | None, deterministic: bool) -> ActionOutput:
        """Actions from the heads' outputs in `out` (mu, logits), natively."""
        model = self.action_model
        rows = out.entropy.shape[0]
        c, d = model.continuous_size, len(model.branches)
        # Draws in the order the torch action model takes them: normals, then uniforms.
        normals = torch.randn(rows, c).numpy() if c and not deterministic else None
        uniforms = torch.rand(rows, d).numpy() if d and not deterministic else None
        mean_entropy = _native.ppo_head_sample(
            out.arrays["mu"] if c else None, model.log_sigma.detach().numpy() if c else None, normals,
            out.arrays["logits"] if d else None, action_mask, uniforms, model.branches, deterministic,
            out.arrays["continuous"] if c else None, out.arrays["discrete"] if d else None,
            out.arrays["log_probs"], out.arrays["entropy"],
        )  # fmt: skip
        return ActionOutput(out.continuous, out.discrete, out.log_probs, out.entropy, mean_entropy)

    # ------------------------------------------------------------------ training
    @torch.no_grad()
    def ppo_step(
        self, obs: list[torch.Tensor], action_mask: torch.Tensor | None, continuous: torch.Tensor | None,
        discrete: torch.Tensor | None, old_log_probs: torch.Tensor, advantages: torch.Tensor,
        old_values: torch.Tensor, returns: torch.Tensor, epsilon: float, beta: float,
    ) -> tuple[torch.Tensor | float, torch.Tensor | float]:  # fmt: skip
        """Forward, PPO loss and backward of one minibatch: writes every parameter's gradient and
        returns (policy_loss, value_loss). `action_mask` [B, L] is True where a choice is blocked,
        `discrete` [B, D] int32 or int64, `advantages` [B], `old_values` and `returns` [S, B]."""
        if self.native:
            return self._ppo_step_native(obs, action_mask, continuous, discrete, old_log_probs, advantages,
                                         old_values, returns, epsilon, beta)  # fmt: skip
        rows = advantages.shape[0]
        model = self.action_model
        device = advantages.device
        allowed = (
            torch.ones(rows, sum(model.branches), device=device) if action_mask is None else (~action_mask).float()
        )
        chosen = torch.zeros(rows, 0, dtype=torch.int64, device=device) if discrete is None else discrete.long()
        taken = torch.zeros(rows, 0, device=device) if continuous is None else continuous
        log_probs, _, values = self.evaluate(obs, allowed, taken, chosen)
        policy_loss, value_loss, grad_log_probs, grad_values = ppo_loss_gradients(
            log_probs, values, old_log_probs, advantages.unsqueeze(1), old_values, returns, epsilon
        )
        self.backward(grad_log_probs, -beta / rows, grad_values)
        return policy_loss, value_loss

    def _ppo_step_native(
        self, obs: list[torch.Tensor], action_mask: torch.Tensor | None, continuous: torch.Tensor | None,
        discrete: torch.Tensor | None, old_log_probs: torch.Tensor, advantages: torch.Tensor,
        old_values: torch.Tensor, returns: torch.Tensor, epsilon: float, beta: float,
    ) -> tuple[float, float]:  # fmt: skip
        kept = BodyPass()
        h, h_critic = self.bodies.forward(obs, kept)
        policy_loss, value_loss, grad_features = self.heads_step(h, h_critic, action_mask, continuous, discrete,
                                                                 old_log_probs, advantages, old_values, returns,
                                                                 epsilon, beta)  # fmt: skip
        self.bodies.backward(grad_features, kept)
        return policy_loss, value_loss

    def heads_step(
        self, h: torch.Tensor, h_critic: torch.Tensor, action_mask: torch.Tensor | None,
        continuous: torch.Tensor | None, discrete: torch.Tensor | None, old_log_probs: torch.Tensor,
        advantages: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, epsilon: float, beta: float,
    ) -> tuple[float, float, torch.Tensor]:  # fmt: skip
        """The heads on the actor's and the critic's features h, h_critic [B, H], the PPO loss and
        their backward, natively (CPU): writes the heads' gradients; returns (policy_loss,
        value_loss, d loss / d features [2, B, H], valid until the next call)."""
        model = self.action_model
        rows = advantages.shape[0]
        heads = self._head_buffers.get(rows)
        assert self.value_heads.weight.grad is not None
        if heads is None or heads.grad_address != self.value_heads.weight.grad.data_ptr():
            # (Re)built when the parameters' gradient storage moved (an optimizer created after us).
            heads = HeadBuffers.allocate(rows, model.continuous_size, sum(model.branches),
                                          self.value_heads.out_features, self.value_heads.in_features)  # fmt: skip
            arrays = heads.arrays
            heads.actor_heads = [_head_grad(model.mu, arrays["grad_mu"])] if model.continuous_size else []
            if model.branches:
                heads.actor_heads.append(_head_grad(model.logits, arrays["grad_logits"]))
            heads.value_heads = [_head_grad(self.value_heads, arrays["grad_values"])]
            heads.grad_address = self.value_heads.weight.grad.data_ptr()
            self._head_buffers[rows] = heads
        _linear_into(self.value_heads, h_critic, heads.values)
        c = model.continuous_size
        if c:
            _linear_into(model.mu, h, heads.mu)
        if model.branches:
            _linear_into(model.logits, h, heads.logits)
        arrays = heads.arrays
        log_sigma_grad = model.log_sigma.grad.numpy() if c and model.log_sigma.grad is not None else None
        policy_loss, value_loss, _ = _native.ppo_head_loss(
            arrays["mu"] if c else None, model.log_sigma.detach().numpy() if c else None,
            continuous.numpy() if c and continuous is not None else None,
            arrays["logits"] if model.branches else None,
            action_mask.numpy() if action_mask is not None else None,
            discrete.numpy() if discrete is not None else None, model.branches,
            old_log_probs.contiguous().numpy(), advantages.contiguous().numpy(), arrays["values"],
            old_values.contiguous().numpy(), returns.contiguous().numpy(),
            epsilon, beta, arrays["grad_mu"] if c else None, log_sigma_grad,
            arrays["grad_logits"] if model.branches else None, arrays["grad_values"],
        )  # fmt: skip
        # The heads' weight and bias gradients and the gradient reaching each body, natively.
        grad_features = arrays["grad_features"]
        _native.heads_backward(h.contiguous().numpy(), heads.actor_heads, grad_features[0])
        _native.heads_backward(h_critic.contiguous().numpy(), heads.value_heads, grad_features[1])
        return policy_loss, value_loss, heads.grad_features

    @torch.no_grad()
    def evaluate(
        self, obs: list[torch.Tensor], allowed: torch.Tensor, continuous: torch.Tensor, discrete: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log_probs [B, C + D], entropy [B], values [S, B]) of the given actions, as
        `actor.evaluate` and `critic` give them; keeps what `backward` needs."""
        bodies_pass = BodyPass()
        h, h_critic = self.bodies.forward(obs, bodies_pass)
        values = F.linear(h_critic, self.value_heads.weight, self.value_heads.bias).t()
        kept = _Evaluation(bodies_pass, h, h_critic)
        model = self.action_model
        log_probs: list[torch.Tensor] = []
        entropy = torch.zeros(h.shape[0], 1, device=h.device)
        if model.continuous_size:
            error = continuous - F.linear(h, model.mu.weight, model.mu.bias)
            kept.continuous_error = error
            variance = torch.exp(2.0 * model.log_sigma)
            log_probs.append(-error.square() / (2.0 * variance + EPSILON) - (model.log_sigma + 0.5 * LOG_2PI))
            per_dim = 0.5 * torch.log(TWO_PI_E * variance + EPSILON)
            entropy = entropy + per_dim.mean()  # averaged over the dimensions, as ML-Agents
        if model.branches:
            logits = torch.where(allowed > 0.5, F.linear(h, model.logits.weight, model.logits.bias), -MASK_PENALTY)
            start = 0
            for b, size in enumerate(model.branches):
                log_p = torch.log_softmax(logits[:, start : start + size], dim=1)
                p = torch.exp(log_p)
                branch_entropy = -(p * log_p).sum(dim=1, keepdim=True)
                log_probs.append(log_p.gather(1, discrete[:, b : b + 1]))
                entropy = entropy + branch_entropy
                kept.discrete_probs.append(p)
                kept.discrete_log_probs.append(log_p)
                kept.discrete_entropy.append(branch_entropy)
                start += size
            kept.discrete_choice, kept.allowed = discrete, allowed
        self._kept = kept
        return log_probs[0] if len(log_probs) == 1 else torch.cat(log_probs, dim=1), entropy.squeeze(1), values

    @torch.no_grad()
    def backward(self, grad_log_probs: torch.Tensor, grad_entropy: float, grad_values: torch.Tensor) -> None:
        """Write every parameter's gradient (overwriting, not accumulating) for the loss whose
        derivatives are `grad_log_probs` [B, C + D], `grad_entropy` (the same for every row)
        and `grad_values` [S, B], at the last `evaluate`."""
        kept, self._kept = self._kept, None
        if kept is None:
            raise RuntimeError("backward() needs a preceding evaluate().")
        model = self.action_model
        h = kept.actor_features
        grad_h: torch.Tensor | None = None
        c = model.continuous_size
        if c:
            assert kept.continuous_error is not None and model.log_sigma.grad is not None
            error, variance = kept.continuous_error, torch.exp(2.0 * model.log_sigma)
            denominator = 2.0 * variance + EPSILON
            grad_c = grad_log_probs[:, :c]
            grad_mu = grad_c * (2.0 * error / denominator)
            # d log_prob / d log_sigma = 4 var (x - mu)^2 / den^2 - 1; d entropy / d log_sigma = 2 pi e var / (...) / C
            per_row = grad_c * (4.0 * variance * error.square() / denominator.square() - 1.0)
            entropy_term = grad_entropy * h.shape[0] / c * TWO_PI_E * variance / (TWO_PI_E * variance + EPSILON)
            torch.add(per_row.sum(dim=0, keepdim=True), entropy_term, out=model.log_sigma.grad)
            _linear_param_grads(model.mu, grad_mu, h)
            grad_h = torch.mm(grad_mu, model.mu.weight)
        if model.branches:
            assert kept.discrete_choice is not None and kept.allowed is not None
            grad_logits = torch.empty(h.shape[0], sum(model.branches), device=h.device)
            start = 0
            for b, size in enumerate(model.branches):
                p, log_p = kept.discrete_probs[b], kept.discrete_log_probs[b]
                grad_lp = grad_log_probs[:, c + b : c + b + 1]
                # d log p[choice] / d z = onehot - p;  d entropy / d z = -p (log p + entropy)
                branch = grad_logits[:, start : start + size]
                torch.mul(p, -(grad_lp + grad_entropy * (log_p + kept.discrete_entropy[b])), out=branch)
                branch.scatter_add_(1, kept.discrete_choice[:, b : b + 1], grad_lp)
                start += size
            grad_logits = torch.where(kept.allowed > 0.5, grad_logits, 0.0)  # blocked logits are constants
            _linear_param_grads(model.logits, grad_logits, h)
            from_logits = torch.mm(grad_logits, model.logits.weight)
            grad_h = from_logits if grad_h is None else grad_h + from_logits
        assert grad_h is not None
        grad_values_rows = grad_values.t()
        _linear_param_grads(self.value_heads, grad_values_rows, kept.critic_features)
        grad_critic_h = torch.mm(grad_values_rows, self.value_heads.weight)
        self.bodies.backward(torch.stack([grad_h, grad_critic_h]), kept.bodies)
