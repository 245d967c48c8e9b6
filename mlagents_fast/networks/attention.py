"""Variable-length observations (ML-Agents' BufferSensor): entities read through attention.

A variable-length observation is `[max entities, features]`; an entity of all zeros (squared sum
below 0.01) is absent. As ML-Agents' attention.py:

- `EntityEmbedding`: each entity, beside the encoding of the agent's other observations ("self")
  when there are any, through one Swish layer of `hidden_units`;
- `ResidualSelfAttention`: layer norm, 4-head attention over the entities of every
  variable-length observation together (absent ones masked; scores over sqrt(embedding)), an
  output projection added back, layer norm, then the mean over the present entities;
- the network body takes that mean beside the other observations' encodings.

Layers are initialised as ML-Agents' (normal weights with gain sqrt(0.125 / embedding), zero
biases); its layer norm has no learned scale or shift.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ABSENT_BELOW = 0.01  # an entity whose squared sum is below this is padding
NEG_INF = -1e6
HEADS = 4
EPSILON = 1e-7
NORM_EPSILON = 1e-5


def entity_mask(entities: torch.Tensor) -> torch.Tensor:
    """[B, entities]: 1.0 where an entity is absent (all zeros), else 0.0."""
    with torch.no_grad():
        return (torch.sum(entities**2, dim=2) < ABSENT_BELOW).float()


def normal_linear(inputs: int, outputs: int, embedding: int) -> nn.Linear:
    layer = nn.Linear(inputs, outputs)
    with torch.no_grad():
        layer.weight.normal_().mul_(math.sqrt(0.125 / embedding))
        layer.bias.zero_()
    return layer


def layer_norm(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=-1, keepdim=True)
    variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(variance + NORM_EPSILON)


class EntityEmbedding(nn.Module):
    """The entities of one variable-length observation, each beside `self_size` floats of self."""

    def __init__(self, entity_size: int, max_entities: int, embedding: int, self_size: int) -> None:
        super().__init__()
        self.entity_size, self.max_entities, self.self_size = entity_size, max_entities, self_size
        self.encoder = nn.Sequential(normal_linear(self_size + entity_size, embedding, embedding), nn.SiLU())

    def forward(self, own: torch.Tensor | None, entities: torch.Tensor) -> torch.Tensor:
        """[B, entities, embedding] from `entities` [B, entities, features] and `own` [B, self_size]."""
        if self.self_size:
            assert own is not None
            entities = torch.cat([own.unsqueeze(1).expand(-1, entities.shape[1], -1), entities], dim=2)
        out: torch.Tensor = self.encoder(entities)
        return out


class ResidualSelfAttention(nn.Module):
    def __init__(self, embedding: int, max_entities: int) -> None:
        super().__init__()
        self.embedding, self.max_entities = embedding, max_entities
        self.head_size = embedding // HEADS
        self.query, self.key, self.value, self.out = (normal_linear(embedding, embedding, embedding) for _ in range(4))

    def forward(self, entities: torch.Tensor, masks: list[torch.Tensor]) -> torch.Tensor:
        """The mean [B, embedding] over the present entities of `entities` [B, N, embedding]
        (every variable-length observation's, side by side), `masks` their absent flags."""
        mask = torch.cat(masks, dim=1)  # [B, N], 1 = absent
        x = layer_norm(entities)
        batch, count = x.shape[0], x.shape[1]

        def heads(t: torch.Tensor) -> torch.Tensor:  # [B, N, E] -> [B, heads, N, E / heads]
            return t.reshape(batch, count, HEADS, self.head_size).permute(0, 2, 1, 3)

        query, key, value = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = torch.matmul(query, key.transpose(2, 3))
        absent = mask.reshape(batch, 1, 1, count)
        scores = (1 - absent) * scores / math.sqrt(self.embedding) + absent * NEG_INF
        attended = torch.matmul(torch.softmax(scores, dim=3), value)  # [B, heads, N, E / heads]
        attended = attended.permute(0, 2, 1, 3).reshape(batch, count, self.embedding)
        output = layer_norm(self.out(attended) + x)
        present = (1 - mask).unsqueeze(2)
        return torch.sum(output * present, dim=1) / (torch.sum(1 - mask, dim=1, keepdim=True) + EPSILON)
