"""Hand-written gradients of the signals' losses, for networks that are Swish MLPs over vector
observations (every built-in vector environment's): the losses of curiosity.py, rnd.py and
gail.py (which stay the reference, checked against these in the tests, and the path for cameras,
goal conditioning and VAIL), computed without autograd.

Why: a signal trains on every minibatch of every epoch, as ML-Agents does, on networks of a few
hundred units and 64 rows; autograd's bookkeeping, not the products, then set the time (a
curiosity step took 1.9 ms against about 0.35 ms of arithmetic). Here each step is the matrix
products and a few element-wise ops per layer, the gradients accumulated straight into the
optimizer's flat buffer. GAIL's gradient penalty, a gradient of a gradient, is written out
through the same layers (see `GailGradients`).

Notation: a layer computes z = h W^T + b, then h' = swish(z) = z sigmoid(z); swish'(z) =
sigmoid + swish (1 - sigmoid); swish''(z) = sigmoid (1 - sigmoid) (2 + z (1 - 2 sigmoid)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from mlagents_fast.networks.actor_critic import NetworkBody
from mlagents_fast.networks.encoders import VectorInput
from mlagents_fast.ops.normalize import ML_AGENTS_CLIP as NORMALIZER_CLIP
from mlagents_fast.trainers.fused_bodies import linear_layers


@dataclass
class Kept:
    """What a forward keeps for its backward: each layer's input, pre-activation, sigmoid and output."""

    inputs: list[torch.Tensor] = field(default_factory=list)
    pre_activations: list[torch.Tensor] = field(default_factory=list)
    sigmoids: list[torch.Tensor] = field(default_factory=list)
    outputs: list[torch.Tensor] = field(default_factory=list)
    head_input: torch.Tensor | None = None
    slopes: dict[int, torch.Tensor] = field(default_factory=dict)  # made once, for the backward and the penalty

    def swish_slope(self, layer: int) -> torch.Tensor:
        if layer not in self.slopes:
            sigmoid = self.sigmoids[layer]
            self.slopes[layer] = torch.addcmul(sigmoid, self.outputs[layer], 1.0 - sigmoid)
        return self.slopes[layer]

    def swish_curvature(self, layer: int) -> torch.Tensor:
        sigmoid, z = self.sigmoids[layer], self.pre_activations[layer]
        return sigmoid * (1.0 - sigmoid) * (2.0 + z * (1.0 - 2.0 * sigmoid))


def accumulate_linear(layer: nn.Linear, grad_out: torch.Tensor, inputs: torch.Tensor) -> None:
    """Add d loss / d (weight, bias) of `layer` given d loss / d its output, [B, out]."""
    assert layer.weight.grad is not None and layer.bias.grad is not None
    layer.weight.grad.addmm_(grad_out.t(), inputs)
    layer.bias.grad.add_(grad_out.sum(0))


class SwishStack:
    """Linear + Swish layers, then linear heads (their outputs side by side), or no heads."""

    def __init__(self, layers: list[nn.Linear], heads: list[nn.Linear] | None = None) -> None:
        self.layers, self.heads = layers, heads or []
        self.head_sizes = [head.out_features for head in self.heads]

    def forward(self, x: torch.Tensor, kept: Kept | None = None) -> torch.Tensor:
        h = x
        for layer in self.layers:
            z = F.linear(h, layer.weight, layer.bias)
            sigmoid = torch.sigmoid(z)
            if kept is not None:
                kept.inputs.append(h)
                kept.pre_activations.append(z)
                kept.sigmoids.append(sigmoid)
            h = z * sigmoid
            if kept is not None:
                kept.outputs.append(h)
        if not self.heads:
            return h
        if kept is not None:
            kept.head_input = h
        outputs = [F.linear(h, head.weight, head.bias) for head in self.heads]
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=1)

    def backward(self, grad: torch.Tensor, kept: Kept, input_grad: bool,
                 extra: tuple[slice, list[torch.Tensor]] | None = None) -> torch.Tensor | None:  # fmt: skip
        """Accumulate every parameter's gradient from d loss / d output; return d loss / d input
        when `input_grad`. `extra` = (rows, [per layer]): added to d loss / d z of each layer on
        those rows (the gradient penalty's second-order part)."""
        if self.heads:
            assert kept.head_input is not None
            grads = torch.split(grad, self.head_sizes, dim=1) if len(self.heads) > 1 else (grad,)
            h_grad = None
            for head, head_grad in zip(self.heads, grads, strict=True):
                accumulate_linear(head, head_grad, kept.head_input)
                part = head_grad @ head.weight
                h_grad = part if h_grad is None else h_grad + part
            assert h_grad is not None
            grad = h_grad
        for i in reversed(range(len(self.layers))):
            grad = grad * kept.swish_slope(i)
            if extra is not None:
                grad[extra[0]] += extra[1][i]
            accumulate_linear(self.layers[i], grad, kept.inputs[i])
            if i or input_grad:
                grad = grad @ self.layers[i].weight
        return grad if input_grad else None


def body_stack(body: NetworkBody, with_actions: bool = False, heads: Sequence[nn.Module] = ()) -> SwishStack | None:
    """The stack of a network body that is a plain Swish MLP over vector inputs (with these
    linear heads after it), else None."""
    layers = linear_layers(body, with_actions)
    return None if layers is None else stack(layers, heads)


def stack_of(module: nn.Module, heads: Sequence[nn.Module] = ()) -> SwishStack | None:
    """A `LinearEncoder` (Linear + Swish pairs) as a stack, with these linear heads; else None."""
    children = list(module.children())
    layers = [m for m in children if isinstance(m, nn.Linear)]
    if len(children) != 2 * len(layers) or not all(isinstance(m, nn.SiLU) for m in children[1::2]):
        return None
    return stack(layers, heads)


def stack(layers: list[nn.Linear], heads: Sequence[nn.Module]) -> SwishStack | None:
    linear_heads = [head for head in heads if isinstance(head, nn.Linear)]
    return SwishStack(layers, linear_heads) if len(linear_heads) == len(heads) else None


def processors(body: NetworkBody) -> list[VectorInput]:
    return [p for p in body.processors if isinstance(p, VectorInput)]


def input_slope(processor: VectorInput, x: torch.Tensor) -> torch.Tensor | None:
    """d encoded / d x of a vector input, element-wise ([B, size]; None where it is 1): the
    normalizer's 1 / sqrt(variance) where the clip lets the value through, 0 where it clips."""
    if not processor.normalize:
        return None
    scale = 1.0 / torch.sqrt(processor.running_variance)
    normalized = (x - processor.running_mean) * scale
    return scale * (normalized.abs() <= NORMALIZER_CLIP)
