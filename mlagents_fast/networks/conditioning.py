"""Goal conditioning by hypernetwork (ML-Agents' `goal_conditioning_type: hyper`).

The goal signal does not join the other inputs: a small network turns it into the weights
of the body's last layer, so what the body computes depends multiplicatively on the goal.
"""

from __future__ import annotations

import torch
from torch import nn

from mlagents_fast.networks.layers import Swish, linear


class HyperNetwork(nn.Module):
    """A Linear(input_size, output_size) whose weight matrix is generated from `goal`."""

    def __init__(self, input_size: int, output_size: int, goal_size: int, layer_size: int, num_layers: int = 2):
        super().__init__()
        self.input_size, self.output_size = input_size, output_size
        layers: list[nn.Module] = []
        for i in range(num_layers):
            layers += [linear(goal_size if i == 0 else layer_size, layer_size), Swish()]
        self.hypernet = nn.Sequential(
            *layers,
            nn.LayerNorm(layer_size, elementwise_affine=False),
            linear(layer_size, input_size * output_size, gain=0.1),
        )
        self.output_bias = nn.Parameter(torch.zeros(output_size))

    def forward(self, x: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        weights = self.hypernet(goal).view(-1, self.input_size, self.output_size)
        return torch.bmm(x.unsqueeze(1), weights).squeeze(1) + self.output_bias


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
