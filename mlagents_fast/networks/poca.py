"""MA-POCA's centralized critic (ML-Agents' POCAValueNetwork on its MultiAgentNetworkBody).

One network with two questions, for an agent of a group at one step:
- `value`: what the group's state is worth, from every present member's observations;
- `baseline`: what it is worth given everything but the agent's own action (the counterfactual
  baseline), from the agent's observations and each present groupmate's observations with the
  action that groupmate took.

Every member's observations go through the same processors (the shared per-agent encoder; its
variable-length observations through their own entity embeddings and residual self-attention,
as ML-Agents' ObservationEncoder reads them); an entity embedding (one Swish layer of
`hidden_units`) turns each into an entity, observations
alone through one embedding and observations with an action through another; residual
self-attention reads the entities (absent members masked) and averages the present ones; an MLP
of `num_layers` (ML-Agents' kernel gain sqrt(0.125 / hidden_units)) follows, with memory
(`network_settings.memory`) an LSTM after it, then the value heads on its output beside the count
of present members scaled to [-1, 1] against the largest count seen so far (kept with the
weights, as ML-Agents' `_current_max_agents`). With memory, the value and the baseline each
carry a memory of their own through the one LSTM (ML-Agents' critic and baseline memories).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mlagents_fast.networks.attention import EntityEmbedding, ResidualSelfAttention, entity_mask, normal_linear
from mlagents_fast.networks.encoders import encoded_size, image_floats, observation_encoder
from mlagents_fast.networks.layers import LinearEncoder, value_heads
from mlagents_fast.networks.memory import LSTMMemory
from mlagents_fast.spec import BehaviorSpec


def flat_actions(
    continuous: torch.Tensor | None, discrete: torch.Tensor | None, branches: tuple[int, ...]
) -> torch.Tensor:
    """Actions as the critic reads them ([..., C + sum(branches)]): the continuous values, then a
    one-hot of each branch's choice (ML-Agents' AgentAction.to_flat)."""
    parts = [] if continuous is None else [continuous]
    for b, size in enumerate(branches):
        assert discrete is not None
        parts.append(nn.functional.one_hot(discrete[..., b].long(), size).to(torch.float32))
    return torch.cat(parts, dim=-1)


class VariableLengthEncoding(nn.Module):
    """A member's variable-length observations [N, entities, size]: each entity embedded beside the
    encoding of the member's other observations (when it has any), residual self-attention, the
    mean over the present entities ([N, hidden_units])."""

    def __init__(self, own_size: int, shapes: list[tuple[int, ...]], hidden_units: int) -> None:
        super().__init__()
        self.self_encoder = (
            nn.Sequential(normal_linear(own_size, hidden_units, hidden_units), nn.SiLU()) if own_size else None
        )
        self.embeddings = nn.ModuleList(
            EntityEmbedding(size, entities, hidden_units, hidden_units if own_size else 0) for entities, size in shapes
        )
        self.attention = ResidualSelfAttention(hidden_units, sum(entities for entities, _ in shapes))

    def forward(self, own: list[torch.Tensor], entities: list[torch.Tensor]) -> torch.Tensor:
        encoded = None if self.self_encoder is None else self.self_encoder(torch.cat(own, dim=1))
        embedded = torch.cat([e(encoded, x) for e, x in zip(self.embeddings, entities, strict=True)], dim=1)
        out: torch.Tensor = self.attention(embedded, [entity_mask(x) for x in entities])
        return out


class POCACritic(nn.Module):
    def __init__(self, spec: BehaviorSpec, signals: list[str], normalize: bool, hidden_units: int,
                 num_layers: int, vis_encode_type: str = "simple", behavior: str = "",
                 memory_size: int = 0) -> None:  # fmt: skip
        super().__init__()
        self.processors = nn.ModuleList(
            observation_encoder(o, normalize, vis_encode_type, hidden_units, index=i, behavior=behavior)
            for i, o in enumerate(spec.observation_specs)
        )
        encoded = sum(encoded_size(o, hidden_units) for o in spec.observation_specs)
        self.variable = [len(o.shape) == 2 for o in spec.observation_specs]
        self.entity_attention: VariableLengthEncoding | None = None
        if any(self.variable):  # (a member's variable-length observations, read as its own body reads them)
            lengths = [o.shape for o, v in zip(spec.observation_specs, self.variable, strict=True) if v]
            self.entity_attention = VariableLengthEncoding(encoded, lengths, hidden_units)
            encoded += hidden_units
        action = spec.action_spec
        self.branches = action.discrete_branches
        self.action_size = action.continuous_size + sum(action.discrete_branches)
        self.obs_embedding = EntityEmbedding(encoded, 0, hidden_units, self_size=0)
        self.obs_action_embedding = EntityEmbedding(encoded + self.action_size, 0, hidden_units, self_size=0)
        self.attention = ResidualSelfAttention(hidden_units, 0)
        self.body = LinearEncoder(hidden_units, num_layers, hidden_units, gain=math.sqrt(0.125 / hidden_units))
        self.max_agents: torch.Tensor
        self.register_buffer("max_agents", torch.ones(()))  # the most members present in any forward
        self.memory = LSTMMemory(hidden_units, memory_size) if memory_size else None
        self.value_heads = value_heads((memory_size // 2 if memory_size else hidden_units) + 1, len(signals))
        self.signals = list(signals)

    def encode(self, obs: list[torch.Tensor]) -> torch.Tensor:
        """[B, members, encoded] from each observation [B, members, *shape]."""
        batch, members = obs[0].shape[:2]
        flat = [image_floats(o.reshape(batch * members, *o.shape[2:])) for o in obs]
        kinds = list(zip(self.processors, flat, self.variable, strict=True))
        encoded = [p(o) for p, o, variable in kinds if not variable]
        if self.entity_attention is not None:
            encoded.append(self.entity_attention(encoded, [o for _, o, variable in kinds if variable]))
        return torch.cat(encoded, dim=1).reshape(batch, members, -1)

    def value(self, obs: list[torch.Tensor], present: torch.Tensor) -> torch.Tensor:
        """Values [S, B] of the group from every member's observations [B, members, *shape];
        `present` [B, members] is False where a member is absent (its observations are ignored)."""
        return self.heads(*self.value_state(obs, present))

    def baseline(self, own: list[torch.Tensor], mates: list[torch.Tensor], mate_actions: torch.Tensor,
                 mates_present: torch.Tensor) -> torch.Tensor:  # fmt: skip
        """Baselines [S, B] of an agent: its observations [B, *shape], each groupmate's [B, mates,
        *shape] with the action it took (`flat_actions`, [B, mates, A]); `mates_present` [B, mates]."""
        return self.heads(*self.baseline_state(own, mates, mate_actions, mates_present))

    def value_with_memory(self, obs: list[torch.Tensor], present: torch.Tensor, memories: torch.Tensor,
                          sequence_length: int = 1) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """With memory: `value` of N sequences of `sequence_length` steps (rows in sequence order)
        from their initial value memories [N, memory_size], and the memories after them."""
        return self.recurrent_heads(*self.value_state(obs, present), memories, sequence_length)

    def baseline_with_memory(self, own: list[torch.Tensor], mates: list[torch.Tensor], mate_actions: torch.Tensor,
                             mates_present: torch.Tensor, memories: torch.Tensor,
                             sequence_length: int = 1) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """With memory: `baseline` of sequences from their initial baseline memories."""
        state = self.baseline_state(own, mates, mate_actions, mates_present)
        return self.recurrent_heads(*state, memories, sequence_length)

    # The pieces, for estimates that run the memory themselves (trainers/poca/recurrent.py).
    def value_state(self, obs: list[torch.Tensor], present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the body's encoding [B, hidden_units], the scaled count of members [B, 1]) of `value`."""
        return self._state(self.obs_embedding(None, self.encode(obs)), present)

    def baseline_state(self, own: list[torch.Tensor], mates: list[torch.Tensor], mate_actions: torch.Tensor,
                       mates_present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """The same pieces of `baseline`."""
        own_entity = self.obs_embedding(None, self.encode([o.unsqueeze(1) for o in own]))
        itself = torch.ones(own_entity.shape[0], 1, dtype=torch.bool, device=own_entity.device)
        if mates[0].shape[1] == 0:
            return self._state(own_entity, itself)
        mate_entities = self.obs_action_embedding(None, torch.cat([self.encode(mates), mate_actions], dim=2))
        entities = torch.cat([mate_entities, own_entity], dim=1)
        return self._state(entities, torch.cat([mates_present, itself], dim=1))

    def heads(self, encoding: torch.Tensor, scaled_count: torch.Tensor) -> torch.Tensor:
        """Values [S, B] from the encoding (after the memory, when there is one) and the count."""
        return self.value_heads(torch.cat([encoding, scaled_count], dim=1)).t()

    def recurrent_heads(self, encoding: torch.Tensor, scaled_count: torch.Tensor, memories: torch.Tensor,
                        sequence_length: int) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        assert self.memory is not None, "a critic without memory has no memories to start from"
        out, after = self.memory(encoding, memories, sequence_length)
        return self.heads(out, scaled_count), after

    def _state(self, entities: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        absent = (~present).to(torch.float32)
        state = self.attention(entities, [absent])
        count = torch.sum(1.0 - absent, dim=1, keepdim=True)
        with torch.no_grad():
            self.max_agents.copy_(torch.maximum(self.max_agents, count.max()))
        scaled = count * 2.0 / self.max_agents - 1.0
        return self.body(state), scaled
