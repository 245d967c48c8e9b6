"""Goal conditioning by hypernetwork (ML-Agents' `goal_conditioning_type: hyper`).

The goal signal does not join the other inputs: a small network turns it into the weights
of the body's last layer, so what the body computes depends multiplicatively on the goal.
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
from torch import nn

from mlagents_fast.networks.layers import Swish, linear

# Batches with at most this many distinct goals generate each goal's weights once (see
# HyperNetwork._forward_shared); more, and the per-row generation is no dearer.
MAX_SHARED_GOALS = 8


class HyperNetwork(nn.Module):
    """A Linear(input_size, output_size) whose weight matrix is generated from `goal`."""

    def __init__(self, input_size: int, output_size: int, goal_size: int, layer_size: int, num_layers: int = 2):
        super().__init__()
        self.input_size, self.output_size = input_size, output_size
        layers: list[nn.Module] = []
        for i in range(num_layers):
            layers += [linear(goal_size if i == 0 else layer_size, layer_size), Swish()]
        flat_output = linear(layer_size, input_size * output_size)
        with torch.no_grad():  # ML-Agents re-draws the generator's weights small and uniform
            bound = math.sqrt(1.0 / (layer_size * input_size))
            flat_output.weight.uniform_(-bound, bound)
        self.hypernet = nn.Sequential(*layers, nn.LayerNorm(layer_size, elementwise_affine=False), flat_output)
        self.output_bias = nn.Parameter(torch.zeros(output_size))
        self._acting_cache: tuple[object, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and not torch.onnx.is_in_onnx_export():
            distinct, which = torch.unique(goal, dim=0, return_inverse=True)
            if distinct.shape[0] <= MAX_SHARED_GOALS and distinct.shape[0] < goal.shape[0]:
                return self._forward_shared(x, distinct, which)
        weights = self.hypernet(goal).view(-1, self.input_size, self.output_size)
        return torch.bmm(x.unsqueeze(1), weights).squeeze(1) + self.output_bias

    def _forward_shared(self, x: torch.Tensor, distinct: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
        """The same layer when the batch holds only a few distinct goals (GridWorld's two):
        their weight matrices are generated once each instead of once per row, every row
        is multiplied by all of them in one product, and each row keeps the block of its
        own goal. The generator's last layer is most of the network's arithmetic (128 x
        16384 per row), so this is what makes small-batch updates cheap on the CPU."""
        count = distinct.shape[0]
        side_by_side = self._side_by_side(distinct)
        every_goal = torch.mm(x, side_by_side).view(-1, count, self.output_size)
        own = which.view(-1, 1, 1).expand(-1, 1, self.output_size)
        return every_goal.gather(1, own).squeeze(1) + self.output_bias

    def _side_by_side(self, distinct: torch.Tensor) -> torch.Tensor:
        """The generated weight matrices of the `distinct` goals side by side, [in, U * out].

        Without autograd (acting) they are kept until a generator parameter changes: the
        parameters only move at an update, and acting asks for the same goals every step.
        With autograd, the generator's last layer adds its weight gradient straight into
        the existing `.grad` (see _GeneratorOutput)."""
        count = distinct.shape[0]
        trunk = cast(nn.Sequential, self.hypernet[:-1])
        generator = cast(nn.Linear, self.hypernet[-1])
        if not torch.is_grad_enabled():
            key = (tuple(p._version for p in self.hypernet.parameters()), distinct.numpy().tobytes())
            if self._acting_cache is not None and self._acting_cache[0] == key:
                return self._acting_cache[1]
            flat = torch.addmm(generator.bias, trunk(distinct), generator.weight.t())
        else:
            flat = _GeneratorOutput.apply(trunk(distinct), generator.weight, generator.bias)
        weights = flat.view(count, self.input_size, self.output_size)
        side_by_side = weights.permute(1, 0, 2).reshape(self.input_size, count * self.output_size)
        if not torch.is_grad_enabled():
            self._acting_cache = (key, side_by_side)
        return side_by_side


class _GeneratorOutput(torch.autograd.Function):
    """`h @ weight.T + bias` for the few rows of distinct goals, whose weight gradient
    (16384 x 128 for GridWorld, from a product over only U rows) is added in place into
    `weight.grad` when it exists, as the flat optimizer keeps it, instead of being formed
    in a fresh 8 MB tensor and then added (on the CPU, a product into fresh memory measured
    1.8 ms against 0.24 ms into the existing buffer). Without a `.grad` yet, the gradient
    is returned as usual."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(h, weight)
        return torch.addmm(bias, h, weight.t())

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        h, weight = ctx.saved_tensors
        grad_h = torch.mm(grad_out, weight) if ctx.needs_input_grad[0] else None
        grad_weight = None
        if ctx.needs_input_grad[1]:
            if weight.grad is not None and weight.grad.shape == weight.shape:
                weight.grad.addmm_(grad_out.t(), h)
            else:
                grad_weight = torch.mm(grad_out.t(), h)
        grad_bias = grad_out.sum(0) if ctx.needs_input_grad[2] else None
        return grad_h, grad_weight, grad_bias


class ConditionalEncoder(nn.Module):
    """`num_layers` x (layer + Swish) where the last layer is a HyperNetwork of the goal."""

    def __init__(self, input_size: int, goal_size: int, hidden_units: int, num_layers: int) -> None:
        super().__init__()
        self.plain = nn.ModuleList(
            nn.Sequential(linear(input_size if i == 0 else hidden_units, hidden_units), Swish())
            for i in range(num_layers - 1)
        )
        self.conditional = HyperNetwork(input_size if num_layers == 1 else hidden_units, hidden_units, goal_size,
                                        hidden_units)  # fmt: skip
        self.activation = Swish()

    def forward(self, x: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        for layer in self.plain:
            x = layer(x)
        return self.activation(self.conditional(x, goal))
