"""Small building blocks: Swish, ML-Agents' initialisation, the MLP body."""

from __future__ import annotations

import math

import torch
from torch import nn


class Swish(nn.SiLU):
    """x * sigmoid(x); torch's SiLU is the same function as one fused op (one autograd node, not two)."""


def linear(inputs: int, outputs: int, gain: float = 1.0) -> nn.Linear:
    """A Linear layer initialised as ML-Agents' `linear_layer(KaimingHeNormal, kernel_gain)`, zero bias."""
    layer = nn.Linear(inputs, outputs)
    nn.init.kaiming_normal_(layer.weight, nonlinearity="linear")
    with torch.no_grad():
        layer.weight.mul_(gain)
        layer.bias.zero_()
    return layer


def value_heads(inputs: int, signals: int) -> nn.Linear:
    """One value head per reward signal as the rows of one Linear layer, each row initialised
    as ML-Agents' `ValueHeads` makes its own `linear_layer(inputs, 1)`: Xavier-uniform over
    fan-in `inputs` and fan-out 1, zero bias."""
    layer = nn.Linear(inputs, signals)
    bound = math.sqrt(6.0 / (inputs + 1))
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound)
        layer.bias.zero_()
    return layer


class LinearEncoder(nn.Sequential):
    """`num_layers` x (Linear(hidden_units) + Swish): ML-Agents' network body."""

    def __init__(self, inputs: int, num_layers: int, hidden_units: int, gain: float = 1.0) -> None:
        layers: list[nn.Module] = []
        for i in range(num_layers):
            layers += [linear(inputs if i == 0 else hidden_units, hidden_units, gain), Swish()]
        super().__init__(*layers)
