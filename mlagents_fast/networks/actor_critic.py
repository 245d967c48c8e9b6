"""The actor (policy) and the critic (one value head per reward signal), ML-Agents' way."""

from __future__ import annotations

import torch
from torch import nn

from mlagents_fast.networks.actions import ActionModel, ActionOutput
from mlagents_fast.networks.encoders import VectorInput, encoded_size, observation_encoder
from mlagents_fast.networks.layers import LinearEncoder, linear
from mlagents_fast.spec import BehaviorSpec


class NetworkBody(nn.Module):
    """Every observation through its processor, concatenated, then the Swish MLP.

    Goal signals are taken as plain inputs (ML-Agents' `goal_conditioning_type: none`).
    """

    def __init__(self, spec: BehaviorSpec, normalize: bool, hidden_units: int, num_layers: int,
                 vis_encode_type: str) -> None:  # fmt: skip
        super().__init__()
        self.processors = nn.ModuleList(
            observation_encoder(o, normalize, vis_encode_type, hidden_units) for o in spec.observation_specs
        )
        total = sum(encoded_size(o, hidden_units) for o in spec.observation_specs)
        self.body = LinearEncoder(total, num_layers, hidden_units)

    def vector_inputs(self) -> list[tuple[int, VectorInput]]:
        """(observation index, processor) of every vector observation: the ones the normalizer feeds."""
        return [(i, p) for i, p in enumerate(self.processors) if isinstance(p, VectorInput)]

    def forward(self, obs: list[torch.Tensor]) -> torch.Tensor:
        encoded = [p(o) for p, o in zip(self.processors, obs, strict=True)]
        return self.body(encoded[0] if len(encoded) == 1 else torch.cat(encoded, dim=1))


class Actor(nn.Module):
    def __init__(self, spec: BehaviorSpec, normalize: bool, hidden_units: int, num_layers: int,
                 vis_encode_type: str = "simple") -> None:  # fmt: skip
        super().__init__()
        self.network_body = NetworkBody(spec, normalize, hidden_units, num_layers, vis_encode_type)
        self.action_model = ActionModel(hidden_units, spec.action_spec)

    def forward(self, obs: list[torch.Tensor], allowed: torch.Tensor, deterministic: bool = False) -> ActionOutput:
        return self.action_model(self.network_body(obs), allowed, deterministic)

    def evaluate(
        self, obs: list[torch.Tensor], allowed: torch.Tensor, continuous: torch.Tensor, discrete: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.action_model.evaluate(self.network_body(obs), allowed, continuous, discrete)


class Critic(nn.Module):
    """One linear value head per reward signal, on its own network body or, with ML-Agents'
    `shared_critic: true`, on the actor's (`shared_body`)."""

    def __init__(self, spec: BehaviorSpec, signals: list[str], normalize: bool, hidden_units: int,
                 num_layers: int, vis_encode_type: str = "simple",
                 shared_body: NetworkBody | None = None) -> None:  # fmt: skip
        super().__init__()
        self.network_body = shared_body or NetworkBody(spec, normalize, hidden_units, num_layers, vis_encode_type)
        self.value_heads = linear(hidden_units, len(signals))
        self.signals = list(signals)

    def forward(self, obs: list[torch.Tensor]) -> torch.Tensor:
        """Values `[S, B]`, one row per reward signal."""
        return self.value_heads(self.network_body(obs)).T
