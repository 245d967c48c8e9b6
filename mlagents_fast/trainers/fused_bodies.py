"""Swish MLP bodies as plain tensor ops, with a hand-written backward: the fused gradient
steps of PPO (trainers/ppo/fused/) and SAC (trainers/sac/fused.py) run their networks on these.

Three ways to run the pair, one interface (`forward` -> (actor features, critic features),
`backward` from the gradients reaching both, stacked [2, B, H]):

- `SharedBody`: `shared_critic: true`, one body; the two gradients add up.
- `SeparateBodies`: two bodies one after the other.
- `StackedBodies`: two bodies of the same shapes whose parameters lie side by side in
  FlatAdam's flat buffer (`parameter_order` lays them out so) run as one batched body:
  each layer is one [2, ...] batched matrix product over views of that buffer, half the
  calls of `SeparateBodies` (CartPole's step: about 45 us less of 430).

Gradients are written (not accumulated) into the parameters' `.grad`; observations get none.
On the CPU (`native`), a training forward keeps each Swish's sigmoid and output, and the
backward through it (with the bias gradient) is one native pass over them
(`_native.swish_backward`) instead of torch's silu_backward, which recomputes the sigmoid,
and a separate sum.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, cast

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from mlagents_fast import _native
from mlagents_fast.networks.actor_critic import NetworkBody
from mlagents_fast.networks.encoders import VectorInput
from mlagents_fast.ops.normalize import ML_AGENTS_CLIP as NORMALIZER_CLIP

silu_backward = torch.ops.aten.silu_backward


class WithBody(Protocol):
    """A network on a `NetworkBody` (PPO's actor and critic, SAC's actor, critic and Q networks)."""

    @property
    def network_body(self) -> NetworkBody: ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...


def linear_layers(body: NetworkBody, with_actions: bool = False, with_memory: bool = False) -> list[nn.Linear] | None:
    """The body's Linear layers when it is a plain Swish MLP over vector inputs (and, with
    `with_actions`, maybe continuous actions beside them), else None; a body with memory counts
    only `with_memory` (its MLP's layers: the caller runs the LSTM after them)."""
    if body.hyper or (body.memory is not None and not with_memory) or (body.action_inputs and not with_actions):
        return None
    if not all(isinstance(p, VectorInput) for p in body.processors):
        return None
    layers = list(body.body.children())
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    swishes = [m for m in layers if isinstance(m, nn.SiLU)]
    if len(linears) != len(swishes) or len(linears) + len(swishes) != len(layers):
        return None
    return linears


@dataclass
class BodyPass:
    """What a forward keeps for its backward: each layer's input and pre-activation."""

    inputs: list[torch.Tensor] = field(default_factory=list)
    pre_activations: list[torch.Tensor] = field(default_factory=list)  # torch's silu_backward
    sigmoids: list[torch.Tensor] = field(default_factory=list)  # the native backward: sigmoid(z)
    outputs: list[torch.Tensor] = field(default_factory=list)  # and swish(z)


class Bodies(Protocol):
    def forward(self, obs: list[torch.Tensor], keep: BodyPass | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(actor features, critic features), each [B, H]."""
        ...

    def backward(self, grads: torch.Tensor, kept: BodyPass) -> None:
        """Write every layer's gradients from d loss / d features, [2, B, H] (actor, critic)."""
        ...

    def set_native(self, native: bool) -> None:
        """Use the native Swish backward (CPU tensors only) or torch's."""
        ...

    def native_features(self, obs: list[torch.Tensor], out: NDArray[np.float32]) -> bool:
        """Inference features into `out` [G, B, H] (G = 1 shared body, 2 actor and critic) in one
        native call, for a few rows on the CPU; False when this layout has no native forward."""
        ...


# The native inference forward wins while torch's per-call cost outweighs the products:
# up to rows x width x width of about 48k (measured, one core: CartPole's 8 agents x 64 units
# take 19 us against torch's 36; 12 x 128 take 198 against 71). Above it torch's run.
NATIVE_FORWARD_MAX_WORK = 48 * 1024


def native_forward_pays(rows: int, width: int) -> bool:
    return rows * width * width <= NATIVE_FORWARD_MAX_WORK


def native_forward(processors: list[list[VectorInput]], layers: list[tuple[NDArray[np.float32], ...]],
                    obs: list[torch.Tensor], out: NDArray[np.float32]) -> bool:  # fmt: skip
    """`_native.swish_mlp_forward` over the groups' processors and stacked layers."""
    x = obs[0].numpy() if len(obs) == 1 else np.concatenate([o.numpy() for o in obs], axis=1)
    mean = variance = None
    if any(p.normalize for group in processors for p in group):
        if not all(p.normalize for group in processors for p in group):
            return False
        mean = np.stack([np.concatenate([p.running_mean.numpy() for p in group]) for group in processors])
        variance = np.stack([np.concatenate([p.running_variance.numpy() for p in group]) for group in processors])
    _native.swish_mlp_forward(x, mean, variance, NORMALIZER_CLIP, layers, out)
    return True


def swish(z: torch.Tensor, keep: BodyPass | None, native: bool) -> torch.Tensor:
    """swish(z), keeping what the chosen backward needs."""
    if keep is None:
        return F.silu(z)
    if not native:
        keep.pre_activations.append(z)
        return F.silu(z)
    sigmoid = torch.sigmoid(z)
    output = z.mul_(sigmoid)  # z itself is not needed again
    keep.sigmoids.append(sigmoid)
    keep.outputs.append(output)
    return output


def swish_backward(
    grad: torch.Tensor, kept: BodyPass, layer: int, native: bool, bias_grad: torch.Tensor
) -> torch.Tensor:
    """d loss / d z of layer `layer` from d loss / d swish(z), [G, B, H] or [B, H]; writes the
    layer's bias gradient ([G, H] or [H], the sum over rows)."""
    if not native:
        grad = silu_backward(grad, kept.pre_activations[layer])
        torch.sum(grad, dim=grad.dim() - 2, out=bias_grad)
        return grad
    grad = grad.contiguous()
    blocks = (grad, kept.sigmoids[layer], kept.outputs[layer], bias_grad)
    g, sigmoid, output, bias = (t.numpy() if grad.dim() == 3 else t.numpy()[None] for t in blocks)
    _native.swish_backward(sigmoid, output, g, bias)
    return grad


def encode(processors: list[VectorInput], obs: list[torch.Tensor]) -> torch.Tensor:
    encoded = []
    for processor, x in zip(processors, obs, strict=True):
        if processor.normalize:
            x = ((x - processor.running_mean) / processor.running_variance.sqrt()).clamp_(
                -NORMALIZER_CLIP, NORMALIZER_CLIP
            )
        encoded.append(x)
    return encoded[0] if len(encoded) == 1 else torch.cat(encoded, dim=1)


class Body:
    """One Swish MLP body over normalized, concatenated vector observations."""

    def __init__(self, body: NetworkBody, layers: list[nn.Linear]) -> None:
        self.processors = [p for p in body.processors if isinstance(p, VectorInput)]
        # The parameter objects themselves (updated in place by the optimizer and by
        # load_state_dict), held here to skip nn.Module's attribute lookup on every call.
        self.weights = [layer.weight for layer in layers]
        self.biases = [layer.bias for layer in layers]
        self.native = self.weights[0].device.type == "cpu"

    def run(self, obs: list[torch.Tensor], keep: BodyPass | None = None) -> torch.Tensor:
        return self.run_encoded(encode(self.processors, obs), keep)

    def run_encoded(self, h: torch.Tensor, keep: BodyPass | None = None) -> torch.Tensor:
        for weight, bias in zip(self.weights, self.biases, strict=True):
            z = F.linear(h, weight, bias)
            if keep is not None:
                keep.inputs.append(h)
            h = swish(z, keep, self.native)
        return h

    def run_backward(self, grad: torch.Tensor, kept: BodyPass) -> None:
        for i in reversed(range(len(self.weights))):
            weight, bias = self.weights[i], self.biases[i]
            assert weight.grad is not None and bias.grad is not None
            grad = swish_backward(grad, kept, i, self.native, bias.grad)
            torch.mm(grad.t(), kept.inputs[i], out=weight.grad)
            if i:
                grad = torch.mm(grad, weight)


class SharedBody:
    def __init__(self, body: Body) -> None:
        self.body = body
        self._layers: list[tuple[NDArray[np.float32], ...]] | None = None  # numpy views, made once

    def forward(self, obs: list[torch.Tensor], keep: BodyPass | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body.run(obs, keep)
        return h, h

    def backward(self, grads: torch.Tensor, kept: BodyPass) -> None:
        self.body.run_backward(grads[0] + grads[1], kept)

    def set_native(self, native: bool) -> None:
        self.body.native = native

    def native_features(self, obs: list[torch.Tensor], out: NDArray[np.float32]) -> bool:
        if self._layers is None:
            self._layers = [(w.detach().numpy()[None], b.detach().numpy()[None])
                            for w, b in zip(self.body.weights, self.body.biases, strict=True)]  # fmt: skip
        return native_forward([self.body.processors], self._layers, obs, out)


class SeparateBodies:
    def __init__(self, actor: Body, critic: Body) -> None:
        self.actor, self.critic = actor, critic
        self._critic_pass: BodyPass | None = None

    def forward(self, obs: list[torch.Tensor], keep: BodyPass | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        critic_keep = None if keep is None else BodyPass()
        self._critic_pass = critic_keep
        return self.actor.run(obs, keep), self.critic.run(obs, critic_keep)

    def backward(self, grads: torch.Tensor, kept: BodyPass) -> None:
        assert self._critic_pass is not None, "backward() needs a forward() that kept its pass"
        self.actor.run_backward(grads[0], kept)
        self.critic.run_backward(grads[1], self._critic_pass)

    def set_native(self, native: bool) -> None:
        self.actor.native = self.critic.native = native

    def native_features(self, obs: list[torch.Tensor], out: NDArray[np.float32]) -> bool:
        return False  # the two bodies' parameters are not side by side


def side_by_side(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor | None:
    """A [2, *shape] view over two same-shaped tensors that lie one after the other in memory."""
    if first.shape != second.shape or not (first.is_contiguous() and second.is_contiguous()):
        return None
    if second.data_ptr() != first.data_ptr() + first.numel() * first.element_size():
        return None
    return first.detach().as_strided((2, *first.shape), (first.numel(), *first.stride()))


class StackedBodies:
    def __init__(self, actor: Body, critic: Body, weights: list[torch.Tensor], biases: list[torch.Tensor],
                 weight_grads: list[torch.Tensor], bias_grads: list[torch.Tensor]) -> None:  # fmt: skip
        self.actor, self.critic = actor, critic
        self.weights, self.biases = weights, biases  # [2, out, in], [2, out]
        self.transposed = [w.transpose(1, 2) for w in weights]
        self.bias_rows = [b.unsqueeze(1) for b in biases]  # [2, 1, out]
        self.weight_grads, self.bias_grads = weight_grads, bias_grads
        self.normalizes = any(p.normalize for p in [*actor.processors, *critic.processors])
        self.native = actor.native
        self._layers: list[tuple[NDArray[np.float32], ...]] | None = None  # numpy views, made once

    @staticmethod
    def create(actor: Body, critic: Body) -> StackedBodies | None:
        """Stacked views of the two bodies' parameters and gradients, or None when they are not
        laid out side by side (or differ in shape)."""
        if len(actor.weights) != len(critic.weights):
            return None
        views: list[list[torch.Tensor]] = [[], [], [], []]
        for pair in (*zip(actor.weights, critic.weights, strict=True), *zip(actor.biases, critic.biases, strict=True)):
            if pair[0].grad is None or pair[1].grad is None:
                return None
            values, grads = side_by_side(pair[0], pair[1]), side_by_side(pair[0].grad, pair[1].grad)
            if values is None or grads is None:
                return None
            is_weight = pair[0].dim() == 2
            views[0 if is_weight else 1].append(values)
            views[2 if is_weight else 3].append(grads)
        return StackedBodies(actor, critic, *views)

    def forward(self, obs: list[torch.Tensor], keep: BodyPass | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.normalizes:
            h = torch.stack([encode(self.actor.processors, obs), encode(self.critic.processors, obs)])
        else:
            x = encode(self.actor.processors, obs)
            h = x.unsqueeze(0).expand(2, *x.shape)
        return self.run_stacked(h, keep)

    def forward_encoded(self, x: torch.Tensor, keep: BodyPass | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """From inputs both bodies encode alike (networks sharing their statistics), [B, I]."""
        return self.run_stacked(x.unsqueeze(0).expand(2, *x.shape), keep)

    def run_stacked(self, h: torch.Tensor, keep: BodyPass | None) -> tuple[torch.Tensor, torch.Tensor]:
        for transposed, bias in zip(self.transposed, self.bias_rows, strict=True):
            z = torch.baddbmm(bias, h, transposed)
            if keep is not None:
                keep.inputs.append(h)
            h = swish(z, keep, self.native)
        return h[0], h[1]

    def backward(self, grads: torch.Tensor, kept: BodyPass) -> None:
        grad = grads
        for i in reversed(range(len(self.weights))):
            grad = swish_backward(grad, kept, i, self.native, self.bias_grads[i])
            torch.bmm(grad.transpose(1, 2), kept.inputs[i], out=self.weight_grads[i])
            if i:
                grad = torch.bmm(grad, self.weights[i])

    def set_native(self, native: bool) -> None:
        self.native = native

    def native_features(self, obs: list[torch.Tensor], out: NDArray[np.float32]) -> bool:
        if self._layers is None:
            self._layers = [(w.numpy(), b.numpy()) for w, b in zip(self.weights, self.biases, strict=True)]
        return native_forward([self.actor.processors, self.critic.processors], self._layers, obs, out)


def make_bodies(actor: WithBody, critic: WithBody, with_memory: bool = False) -> Bodies:
    actor_layers = linear_layers(actor.network_body, with_memory=with_memory)
    critic_layers = linear_layers(critic.network_body, with_memory=with_memory)
    if actor_layers is None or critic_layers is None:
        raise ValueError("The manual backward needs plain MLP bodies over vector observations; see supports().")
    actor_body = Body(actor.network_body, actor_layers)
    if critic.network_body is actor.network_body:
        return SharedBody(actor_body)
    critic_body = Body(critic.network_body, critic_layers)
    return StackedBodies.create(actor_body, critic_body) or SeparateBodies(actor_body, critic_body)


def pairs_side_by_side(pairs: list[tuple[nn.Linear, nn.Linear]]) -> list[nn.Parameter]:
    """Per pair of same-shaped layers, the two weights, then the two biases."""
    return [cast(nn.Parameter, t) for a, c in pairs for t in (a.weight, c.weight, a.bias, c.bias)]


def parameter_order(actor: WithBody, critic: WithBody, with_actions: bool = False,
                    extra_pairs: list[tuple[nn.Linear, nn.Linear]] | None = None) -> list[nn.Parameter]:  # fmt: skip
    """Every parameter of the two networks once, each body layer's two weights (then biases)
    side by side, so a flat buffer packed in this order lets `StackedBodies` run; then the
    `extra_pairs` (heads of the same shape) side by side, then the rest in module order."""
    ordered: list[nn.Parameter] = []
    actor_layers = linear_layers(actor.network_body, with_actions)
    critic_layers = linear_layers(critic.network_body, with_actions)
    separate = critic.network_body is not actor.network_body
    if separate and actor_layers is not None and critic_layers is not None and len(actor_layers) == len(critic_layers):
        ordered = pairs_side_by_side([*zip(actor_layers, critic_layers, strict=True), *(extra_pairs or [])])
    seen = {id(p) for p in ordered}
    for p in [*actor.parameters(), *critic.parameters()]:
        if id(p) not in seen:
            seen.add(id(p))
            ordered.append(p)
    return ordered
