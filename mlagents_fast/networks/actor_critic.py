"""The actor (policy) and the critic (one value head per reward signal), ML-Agents' way."""

from __future__ import annotations

import torch
from torch import nn

from mlagents_fast.networks.actions import ActionModel, ActionOutput
from mlagents_fast.networks.attention import EntityEmbedding, ResidualSelfAttention, entity_mask, normal_linear
from mlagents_fast.networks.conditioning import ConditionalEncoder
from mlagents_fast.networks.encoders import VectorInput, encoded_size, image_floats, observation_encoder
from mlagents_fast.networks.layers import LinearEncoder, value_heads
from mlagents_fast.networks.memory import LSTMMemory
from mlagents_fast.spec import BehaviorSpec, ObservationType


class NetworkBody(nn.Module):
    """Every observation through its processor, then the Swish MLP.

    Goal signals (ObservationType.GOAL_SIGNAL) are inputs like every observation and, with
    `goal_conditioning_type: hyper` (ML-Agents' default), also condition the last layer through
    a hypernetwork, as in ML-Agents' NetworkBody.

    An observation no processor can take (a visual one smaller than the encoder's minimum, a
    variable-length one) is an `encoders.NetworkError` here, naming `behavior` when given.
    """

    def __init__(self, spec: BehaviorSpec, normalize: bool, hidden_units: int, num_layers: int,
                 vis_encode_type: str, goal_conditioning_type: str = "hyper", behavior: str = "",
                 action_inputs: int = 0, memory_size: int = 0) -> None:  # fmt: skip
        """`action_inputs`: continuous actions fed beside the encoded observations (SAC's Q networks).
        `memory_size`: an LSTM of that memory after the MLP (`recurrent`), whose outputs, half
        the memory wide, are then the body's."""
        super().__init__()
        self.action_inputs = action_inputs
        self.processors = nn.ModuleList(
            observation_encoder(o, normalize, vis_encode_type, hidden_units, index=index, behavior=behavior)
            for index, o in enumerate(spec.observation_specs)
        )
        goals = [o.observation_type == ObservationType.GOAL_SIGNAL for o in spec.observation_specs]
        sizes = [encoded_size(o, hidden_units) for o in spec.observation_specs]
        # (a variable-length goal has no encoding of its own to condition on: it is read as any other, as ML-Agents)
        goal_size = sum(size for size, goal in zip(sizes, goals, strict=True) if goal)
        self.hyper = goal_conditioning_type == "hyper" and goal_size > 0
        self.goal_mask = goals
        # Variable-length observations: their entities (beside an encoding of the others) through attention.
        self.variable = [len(o.shape) == 2 for o in spec.observation_specs]
        self.attention = self.self_encoder = None
        if any(self.variable):
            own = sum(sizes)
            self.self_encoder = (
                nn.Sequential(normal_linear(own, hidden_units, hidden_units), nn.SiLU()) if own else None
            )
            self.embeddings = nn.ModuleList(
                EntityEmbedding(o.shape[1], o.shape[0], hidden_units, hidden_units if own else 0)
                for o, variable in zip(spec.observation_specs, self.variable, strict=True) if variable
            )  # fmt: skip
            entities = sum(o.shape[0] for o, v in zip(spec.observation_specs, self.variable, strict=True) if v)
            self.attention = ResidualSelfAttention(hidden_units, entities)
            sizes.append(hidden_units)
        inputs = sum(sizes) + action_inputs
        self.body: nn.Module
        if self.hyper:
            self.body = ConditionalEncoder(inputs, goal_size, hidden_units, num_layers)
        else:
            self.body = LinearEncoder(inputs, num_layers, hidden_units)
        self.memory = LSTMMemory(hidden_units, memory_size) if memory_size else None
        self.output_size = memory_size // 2 if memory_size else hidden_units

    def vector_inputs(self) -> list[tuple[int, VectorInput]]:
        """(observation index, processor) of every vector observation: the ones the normalizer feeds."""
        return [(i, p) for i, p in enumerate(self.processors) if isinstance(p, VectorInput)]

    def forward(self, obs: list[torch.Tensor], actions: torch.Tensor | None = None) -> torch.Tensor:
        kinds = list(zip(self.processors, obs, self.variable, self.goal_mask, strict=True))
        own = [p(image_floats(o)) for p, o, variable, _ in kinds if not variable]
        encoded = list(own)
        if self.attention is not None:
            encoded.append(self.attend(own, [o for _, o, variable, _ in kinds if variable]))
        if actions is not None:
            encoded.append(actions)
        inputs = encoded[0] if len(encoded) == 1 else torch.cat(encoded, dim=1)
        if not self.hyper:
            return self.body(inputs)
        goals = [e for e, (_, _, _, goal) in zip(own, [k for k in kinds if not k[2]], strict=True) if goal]
        return self.body(inputs, goals[0] if len(goals) == 1 else torch.cat(goals, dim=1))

    def attend(self, encoded: list[torch.Tensor], entities: list[torch.Tensor]) -> torch.Tensor:
        """The attention's mean over the present entities of every variable-length observation."""
        assert self.attention is not None
        own = None
        if self.self_encoder is not None:
            own = self.self_encoder(encoded[0] if len(encoded) == 1 else torch.cat(encoded, dim=1))
        embedded = torch.cat([e(own, x) for e, x in zip(self.embeddings, entities, strict=True)], dim=1)
        out: torch.Tensor = self.attention(embedded, [entity_mask(x) for x in entities])
        return out

    def recurrent(self, obs: list[torch.Tensor], memories: torch.Tensor,
                  sequence_length: int = 1) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """With memory: the encoding of N sequences of `sequence_length` steps (rows in sequence
        order) from their initial `memories` [N, memory_size], and the memories after them."""
        assert self.memory is not None, "recurrent() needs a body with memory"
        return self.memory(self(obs), memories, sequence_length)


class Actor(nn.Module):
    def __init__(self, spec: BehaviorSpec, normalize: bool, hidden_units: int, num_layers: int,
                 vis_encode_type: str = "simple", goal_conditioning_type: str = "hyper",
                 behavior: str = "", memory_size: int = 0) -> None:  # fmt: skip
        super().__init__()
        self.network_body = NetworkBody(spec, normalize, hidden_units, num_layers, vis_encode_type,
                                        goal_conditioning_type, behavior, memory_size=memory_size)  # fmt: skip
        self.action_model = ActionModel(self.network_body.output_size, spec.action_spec)

    def forward(self, obs: list[torch.Tensor], allowed: torch.Tensor, deterministic: bool = False) -> ActionOutput:
        return self.action_model(self.network_body(obs), allowed, deterministic)

    def act_with_memory(self, obs: list[torch.Tensor], allowed: torch.Tensor, memories: torch.Tensor,
                        deterministic: bool = False) -> tuple[ActionOutput, torch.Tensor]:  # fmt: skip
        """One step of every agent from its memory: the actions and the memories after the step."""
        h, memories = self.network_body.recurrent(obs, memories)
        return self.action_model(h, allowed, deterministic), memories

    def evaluate(
        self, obs: list[torch.Tensor], allowed: torch.Tensor, continuous: torch.Tensor, discrete: torch.Tensor,
        memories: torch.Tensor | None = None, sequence_length: int = 1,
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """Log-probabilities and entropies of the taken actions; with memory, of sequences from
        their initial `memories`."""
        if memories is None:
            h = self.network_body(obs)
        else:
            h, _ = self.network_body.recurrent(obs, memories, sequence_length)
        return self.action_model.evaluate(h, allowed, continuous, discrete)


class Critic(nn.Module):
    """One linear value head per reward signal, on its own network body or, with ML-Agents'
    `shared_critic: true`, on the actor's (`shared_body`)."""

    def __init__(self, spec: BehaviorSpec, signals: list[str], normalize: bool, hidden_units: int,
                 num_layers: int, vis_encode_type: str = "simple", goal_conditioning_type: str = "hyper",
                 shared_body: NetworkBody | None = None, behavior: str = "", memory_size: int = 0) -> None:  # fmt: skip
        super().__init__()
        self.network_body = shared_body or NetworkBody(
            spec, normalize, hidden_units, num_layers, vis_encode_type, goal_conditioning_type, behavior,
            memory_size=memory_size,
        )  # fmt: skip
        self.value_heads = value_heads(self.network_body.output_size, len(signals))
        self.signals = list(signals)

    def forward(self, obs: list[torch.Tensor]) -> torch.Tensor:
        """Values `[S, B]`, one row per reward signal."""
        return self.value_heads(self.network_body(obs)).T

    def values_with_memory(self, obs: list[torch.Tensor], memories: torch.Tensor,
                           sequence_length: int = 1) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """With memory: the values `[S, B]` of sequences from their initial `memories`, and the
        memories after them."""
        h, memories = self.network_body.recurrent(obs, memories, sequence_length)
        return self.value_heads(h).T, memories
