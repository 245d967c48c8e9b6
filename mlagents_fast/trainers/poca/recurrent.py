"""MA-POCA with memory (`network_settings.memory`), as ML-Agents' POCA trainer runs its critic.

- Acting: the actor alone, with every agent's memory carried from step to step and stored in
  the ring (`memory`) as PPO's does; the critic does not run while acting.
- Values and baselines: the critic's two memories (the value's and the baseline's, through the
  one LSTM) are carried per agent from one trajectory to the next of the same episode (ML-Agents'
  `value_memory_dict` / `baseline_memory_dict`) and start from zero with each episode. An
  update runs, per agent, each chain of its trajectories joined by time_horizon cuts through the
  memory in time order (every chain at once, one LSTM call per sequence position), keeping the
  memories at each sequence start (what training starts the sequence from) and after each
  trajectory's last step (its bootstrap).
- Training: PPO's whole sequences (trainers/ppo/recurrent.py) with each step's groupmates, the
  actor from the memory it acted with, the value and the baseline from their memories.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mlagents_fast import _native
from mlagents_fast.buffer.rollout_ring import RolloutRing
from mlagents_fast.networks.actions import ActionOutput
from mlagents_fast.networks.actor_critic import Actor
from mlagents_fast.networks.poca import POCACritic
from mlagents_fast.spec import ActionSpec
from mlagents_fast.trainers.agent_memories import Memories
from mlagents_fast.trainers.poca.step import ActorActing, GroupMinibatch
from mlagents_fast.trainers.poca.values import CHUNK, POCAValueEstimator
from mlagents_fast.trainers.ppo.recurrent import sequence_positions, trajectory_bounds
from mlagents_fast.trainers.stats import NetworkClock

VALUE, BASELINE = 0, 1  # the critic's two memories


class RecurrentActorActing(ActorActing):
    """The actor's actions from every agent's memory."""

    def __init__(self, actor: Actor, signals: int, device: torch.device, memories: Memories) -> None:
        super().__init__(actor, signals, device)
        self.memories = memories

    def __call__(
        self, obs: list[torch.Tensor], action_mask: NDArray[np.bool_] | None, deterministic: bool
    ) -> tuple[torch.Tensor, ActionOutput]:
        rows = obs[0].shape[0]
        actor_memory, _ = self.memories.current(self.device)
        out, after = self.actor.act_with_memory(obs, self.allowed(rows, action_mask), actor_memory, deterministic)
        self.memories.keep(after, None)
        return torch.zeros(self.signals, rows, device=self.device), out


class RecurrentPOCAValueEstimator(POCAValueEstimator):
    """POCAValueEstimator for a critic with memory. After `estimate`, `sequences` (positions in the
    update's rows, -1 padding) and `sequence_memories` [2, sequences, memory_size] (the value's
    and the baseline's at each sequence start) describe the update's sequences."""

    def __init__(self, ring: RolloutRing, critic: POCACritic, signals: list[str], action: ActionSpec,
                 device: torch.device, clock: NetworkClock, sequence_length: int) -> None:  # fmt: skip
        super().__init__(ring, critic, signals, action, device, clock)
        assert critic.memory is not None
        self.lstm = critic.memory
        self.sequence_length = sequence_length
        size = self.lstm.memory_size
        self.carried = np.zeros((2, ring.agents, size), np.float32)  # after each agent's last trajectory
        self.sequences = np.zeros((0, sequence_length), np.int64)
        self.sequence_memories = np.zeros((2, 0, size), np.float32)
        self._final = np.zeros((0, size), np.float32)  # the value's memory after each trajectory
        self._last_rows = np.zeros(0, np.int64)  # each trajectory's last flat ring row

    def forget(self) -> None:
        """The episodes in progress ended unrecorded (the environments were reset)."""
        self.carried[...] = 0.0

    def step_values_and_baselines(self, rows: NDArray[np.int64]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        agents, length = self.ring.agents, self.sequence_length
        starts, lengths = trajectory_bounds(self.ring.trajectory_ends(rows))
        self.sequences = sequence_positions(starts, lengths, length)
        last = rows[starts + lengths - 1]
        self._last_rows = last
        agent = rows[starts] % agents
        over = self.episode_ends()[last]  # the trajectory ended its agent's episode
        # A chain: an agent's trajectories joined by time_horizon cuts; its first continues the
        # memories carried from the agent's last update, a later one starts an episode (from zero).
        first_of_agent = np.ones(len(starts), np.bool_)
        first_of_agent[1:] = agent[1:] != agent[:-1]
        joined = np.zeros(len(starts), np.bool_)
        joined[1:] = ~first_of_agent[1:] & ~over[:-1]
        chain = np.cumsum(~joined) - 1
        chains = int(chain[-1]) + 1 if len(chain) else 0
        initial = np.zeros((2, chains, self.lstm.memory_size), np.float32)
        initial[:, chain[first_of_agent]] = self.carried[:, agent[first_of_agent]]

        with torch.inference_mode():
            states = self._states(self.observations(rows), self.mates)
            outputs, self.sequence_memories, final = self._run_chains(states, initial, chain, lengths)
            values = self._heads(outputs[VALUE], states[VALUE][1])
            baselines = self._heads(outputs[BASELINE], states[BASELINE][1])
        self._final = final[VALUE]
        closes_agent = np.ones(len(starts), np.bool_)
        closes_agent[:-1] = first_of_agent[1:]
        kept = np.where(over[:, None, None], 0.0, final.transpose(1, 0, 2)).astype(np.float32)  # [T, 2, size]
        self.carried[:, agent[closes_agent]] = kept[closes_agent].transpose(1, 0, 2)
        return values, baselines

    def bootstrap_values(self, own: list[NDArray[Any]], last_rows: NDArray[np.int64]) -> NDArray[np.float32]:
        order = np.argsort(self._last_rows)
        trajectory = order[np.searchsorted(self._last_rows, last_rows, sorter=order)]
        memory = torch.from_numpy(self._final[trajectory]).to(self.device)
        with torch.inference_mode():
            tensors = self.group_tensors(own, self.mates_after(last_rows))
            values, _ = self.poca.value_with_memory(*tensors.members(), memory)
        return cast(NDArray[np.float32], values.cpu().numpy())

    def _states(self, own: list[NDArray[Any]], mates: NDArray[np.int64]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """[(encoding [R, hidden], scaled count [R, 1]) of the value, the same of the baseline]."""
        parts: list[list[tuple[torch.Tensor, torch.Tensor]]] = [[], []]
        for start in range(0, len(own[0]), CHUNK):
            part = slice(start, start + CHUNK)
            tensors = self.group_tensors([o[part] for o in own], mates[part])
            parts[VALUE].append(self.poca.value_state(*tensors.members()))
            parts[BASELINE].append(self.poca.baseline_state(*tensors.counterfactual()))
        return [(torch.cat([e for e, _ in p]), torch.cat([c for _, c in p])) for p in parts]

    def _run_chains(
        self, states: list[tuple[torch.Tensor, torch.Tensor]], initial: NDArray[np.float32],
        chain: NDArray[np.int64], lengths: NDArray[np.int64],
    ) -> tuple[list[torch.Tensor], NDArray[np.float32], NDArray[np.float32]]:  # fmt: skip
        """Each chain's sequences in order through the LSTM, value and baseline side by side:
        (outputs [2][R, memory_size / 2], memories at each sequence start [2, sequences, size],
        memories after each trajectory's last step [2, trajectories, size])."""
        lstm, length, sequences = self.lstm, self.sequence_length, self.sequences
        size, rows = lstm.memory_size, len(states[0][0])
        per_trajectory = -(-lengths // length)
        trajectory_of = np.repeat(np.arange(len(lengths)), per_trajectory)
        chain_of = chain[trajectory_of]
        ends_trajectory = np.ones(len(sequences), np.bool_)
        ends_trajectory[:-1] = trajectory_of[1:] != trajectory_of[:-1]
        first_of_chain = np.searchsorted(chain_of, chain_of)  # (sequences lie chain after chain)
        place = np.arange(len(sequences)) - first_of_chain  # each sequence's place in its chain
        steps = (sequences >= 0).sum(axis=1)
        memories = np.zeros((2, len(sequences), size), np.float32)
        final = np.zeros((2, len(lengths), size), np.float32)
        # Both memories run as one batch: the baseline's chains after the value's.
        encoding = torch.cat([states[VALUE][0], states[BASELINE][0]])
        hidden, cell = lstm.split(torch.from_numpy(np.concatenate(list(initial))).to(self.device))
        chains = initial.shape[1]
        outputs = encoding.new_zeros(2 * rows, lstm.hidden_size)
        for k in range(int(place.max()) + 1 if len(place) else 0):
            live = np.flatnonzero(place == k)
            who = torch.from_numpy(np.concatenate([chain_of[live], chain_of[live] + chains])).to(self.device)
            state = (hidden[:, who], cell[:, who])
            memories[:, live] = torch.cat([state[0][0], state[1][0]], 1).cpu().numpy().reshape(2, len(live), size)
            positions = np.concatenate([sequences[live], np.where(sequences[live] >= 0, sequences[live] + rows, -1)])
            chunk = encoding[torch.from_numpy(np.maximum(positions, 0)).to(self.device)]
            counts = torch.from_numpy(np.concatenate([steps[live], steps[live]]))
            packed = pack_padded_sequence(chunk, counts, batch_first=True, enforce_sorted=False)
            out, (hidden_after, cell_after) = lstm.lstm(packed, state)
            unpacked, _ = pad_packed_sequence(out, batch_first=True, total_length=length)
            real = positions >= 0
            real_t = torch.from_numpy(real).to(self.device)
            outputs[torch.from_numpy(positions[real]).to(self.device)] = unpacked[real_t]
            hidden[:, who], cell[:, who] = hidden_after, cell_after
            closing = ends_trajectory[live]
            if closing.any():
                after = torch.cat([hidden_after[0], cell_after[0]], 1).cpu().numpy().reshape(2, len(live), size)
                final[:, trajectory_of[live[closing]]] = after[:, closing]
        return [outputs[:rows], outputs[rows:]], memories, final

    def _heads(self, outputs: torch.Tensor, scaled: torch.Tensor) -> NDArray[np.float32]:
        return cast(NDArray[np.float32], self.poca.heads(outputs, scaled).cpu().numpy())


def group_sequences(update: Any, rows: NDArray[np.int64]) -> Iterator[tuple[GroupMinibatch, NDArray[np.int64]]]:
    """With memory: `num_epoch` passes of shuffled whole sequences, `batch_size // sequence_length`
    a minibatch, each with its steps' groupmates and the memories it starts from, and its steps'
    positions in `rows` (the steps agents sat out run through the memories but count in no loss)."""
    estimator = update.estimator
    assert isinstance(estimator, RecurrentPOCAValueEstimator)
    length, count = estimator.sequence_length, len(rows)
    sequences = np.where(estimator.sequences < 0, count, estimator.sequences)  # `count`: padding
    # Padding repeats a real step: it comes after its sequence's last step, so no output it changes counts.
    padded_rows = np.append(rows, rows[:1])
    padded_mates = np.concatenate([estimator.mates, np.full((1, estimator.mates.shape[1]), -1, np.int64)])
    sat_out = np.append(cast(NDArray[np.bool_], update.ring.buffer.flat("absent"))[rows], True)
    actor_memory = cast(NDArray[np.float32], update.ring.buffer.flat("memory"))[padded_rows[sequences[:, 0]]]
    total = len(sequences)
    per = min(max(update.hyper.batch_size // length, 1), total)
    device = estimator.device
    for _ in range(update.hyper.num_epoch):
        order = _native.shuffled_indices(update.rng, total)
        for start in range(0, total - per + 1, per):
            chosen = order[start : start + per]
            positions = sequences[chosen].reshape(-1)
            counted = ~sat_out[positions]
            if not counted.any():
                continue
            mb = update.group_minibatch(padded_rows[positions], padded_mates[positions])
            mb.mask = torch.from_numpy(counted).to(device)
            mb.memory = torch.from_numpy(actor_memory[chosen]).to(device)
            mb.critic_memory = torch.from_numpy(estimator.sequence_memories[VALUE, chosen]).to(device)
            mb.baseline_memory = torch.from_numpy(estimator.sequence_memories[BASELINE, chosen]).to(device)
            mb.sequence_length = length
            yield mb, positions[counted]
