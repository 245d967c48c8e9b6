"""Goal conditioning by hypernetwork (ML-Agents' `goal_conditioning_type: hyper`).

The goal signal does not join the other inputs: a small network turns it into the weights
of the body's last layer, so what the body computes depends multiplicatively on the goal.
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
from torch import nn

from mlagents_fast import _native
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
        # (a goal that is itself learned, a camera's encoding, takes the per-row way: unique() has no gradient)
        if x.device.type == "cpu" and not goal.requires_grad and not torch.onnx.is_in_onnx_export():
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
        With autograd, the generator's last layer is _GeneratorOutput."""
        count = distinct.shape[0]
        trunk = cast(nn.Sequential, self.hypernet[:-1])
        generator = cast(nn.Linear, self.hypernet[-1])
        if not torch.is_grad_enabled():
            key = (tuple(p._version for p in self.hypernet.parameters()), distinct.numpy().tobytes())
            if self._acting_cache is not None and self._acting_cache[0] == key:
                return self._acting_cache[1]
            by_output = _generate(trunk(distinct), generator.weight, generator.bias)
        else:
            by_output = _GeneratorOutput.apply(trunk(distinct), generator.weight, generator.bias)
        # [in * out, U] -> [in, U, out] -> [in, U * out]
        side_by_side = by_output.view(self.input_size, self.output_size, count).permute(0, 2, 1)
        side_by_side = side_by_side.reshape(self.input_size, count * self.output_size)
        if not torch.is_grad_enabled():
            self._acting_cache = (key, side_by_side)
        return side_by_side


def _generate(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """(h @ weight.T + bias).T, [outputs, U]: the generator's output for each of the U rows of
    `h`, one column each. As `weight @ h.T` the product streams the wide weight once (on the
    CPU 0.8 ms for GridWorld's 16384 x 128 from a cold cache, against 2.2 ms as `h @ weight.T`)."""
    return torch.addmm(bias.unsqueeze(1), weight, h.t())


class _GeneratorOutput(torch.autograd.Function):
    """`_generate` with a backward that makes one pass over the wide weight and its gradient.

    On the CPU (float32) the native `wide_linear_backward` forms the input gradient and adds
    the weight gradient (16384 x 128 for GridWorld, from only U rows) in place into
    `weight.grad` when it exists, as the flat optimizer keeps it: torch's products took three
    passes, the weight gradient in a fresh 8 MB tensor then added, 3.3 ms against 1.2 ms for
    GridWorld from a cold cache. Elsewhere, torch's products, still adding into `.grad`."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(h, weight)
        return _generate(h, weight, bias)

    @staticmethod
    def backward(ctx: Any, grad_by_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        h, weight = ctx.saved_tensors
        grad_out = grad_by_output.t().contiguous()  # [U, outputs], small
        wanted = ctx.needs_input_grad[1]
        accumulate = wanted and weight.grad is not None and weight.grad.shape == weight.shape
        grad_weight = weight.grad if accumulate else torch.zeros_like(weight)
        assert grad_weight is not None
        native = (
            weight.device.type == "cpu" and weight.dtype == h.dtype == torch.float32
            and weight.is_contiguous() and grad_weight.is_contiguous()
        )  # fmt: skip
        if native:
            h = h.detach().contiguous()
            grad_h = torch.empty_like(h)
            grad_bias = torch.zeros(weight.shape[0], dtype=weight.dtype)
            _native.wide_linear_backward(h.numpy(), weight.detach().numpy(), grad_out.numpy(),
                                         grad_weight.numpy(), grad_bias.numpy(), grad_h.numpy())  # fmt: skip
            if accumulate:  # it wrote through numpy: mark the in-place change for autograd
                torch.autograd.graph.increment_version(grad_weight)
        else:
            grad_h = torch.mm(grad_out, weight)
            grad_weight.addmm_(grad_out.t(), h)
            grad_bias = grad_out.sum(0)
        return grad_h, grad_weight if wanted and not accumulate else None, grad_bias


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
