"""PPO with memory (`network_settings.memory`), ML-Agents' way, on the same rollout ring.

- Acting: every agent's actor and critic memories are carried from step to step (`Memories`),
  stored in the ring beside the step (`memory`, `critic_memory`: the memories before it), and
  start from zero with each episode.
- Sequences: an update cuts each trajectory into sequences of `sequence_length` steps from its
  first step, the last one padded at its end (ML-Agents' AgentBuffer `get_batch`); a sequence is
  a row of ring positions with -1 for padding, and the native gather reads padding as zeros.
- Values: the critic that is about to train runs over each whole trajectory from the memory
  stored at its first step (all trajectories at once, one LSTM call per `sequence_length`
  steps), giving every step's value, the critic's memory at each sequence start (what training
  starts each sequence from), and the memory after the last step (for the bootstrap).
- Training: shuffled whole sequences, `batch_size // sequence_length` of them a minibatch; the
  actor starts each from the memory stored when it acted, as ML-Agents; the losses are masked
  means over the steps that are not padding.
"""

from __future__ import annotations

import time
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mlagents_fast.buffer.rollout_ring import RolloutRing
from mlagents_fast.networks.actions import ActionOutput
from mlagents_fast.networks.actor_critic import Actor, Critic
from mlagents_fast.trainers.agent_memories import Memories
from mlagents_fast.trainers.flat_adam import FlatAdam
from mlagents_fast.trainers.ppo.gradient_step import ModuleActing, taken_actions
from mlagents_fast.trainers.ppo.loss import ppo_loss
from mlagents_fast.trainers.ppo.minibatch import Minibatch
from mlagents_fast.trainers.ppo.values import ValueEstimator
from mlagents_fast.trainers.stats import NetworkClock


class RecurrentActing(ModuleActing):
    """Acting through the modules with every agent's memories."""

    def __init__(self, actor: Actor, critic: Critic, device: torch.device, memories: Memories) -> None:
        super().__init__(actor, critic, device)
        self.memories = memories

    def __call__(
        self, obs: list[torch.Tensor], action_mask: NDArray[np.bool_] | None, deterministic: bool
    ) -> tuple[torch.Tensor, ActionOutput]:
        allowed = self.allowed(obs[0].shape[0], action_mask)
        actor_memory, critic_memory = self.memories.current(self.device)
        out, actor_after = self.actor.act_with_memory(obs, allowed, actor_memory, deterministic)
        values, critic_after = self.critic.values_with_memory(obs, critic_memory)
        self.memories.keep(actor_after, critic_after)
        return values, out


def trajectory_bounds(ends: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(first position, length) of each trajectory in rows laid one trajectory after another,
    `ends` True at each one's last row (the last row ends one in any case)."""
    rows = len(ends)
    closes = ends.copy()
    if rows:
        closes[-1] = True
    starts = np.flatnonzero(np.concatenate([[True], closes[:-1]])).astype(np.int64) if rows else np.zeros(0, np.int64)
    return starts, np.diff(np.append(starts, rows)).astype(np.int64)


def sequence_positions(
    starts: NDArray[np.int64], lengths: NDArray[np.int64], sequence_length: int
) -> NDArray[np.int64]:
    """[sequences, sequence_length]: the positions of each trajectory's rows cut into sequences
    from its first row, -1 on the padding after its last (trajectories in order, each one's
    sequences in time order)."""
    per_trajectory = -(-lengths // sequence_length)
    first_sequence = np.concatenate([[0], np.cumsum(per_trajectory)[:-1]]).astype(np.int64)
    trajectory = np.repeat(np.arange(len(starts)), lengths)
    position = np.arange(int(lengths.sum()), dtype=np.int64)
    offset = position - starts[trajectory]
    out = np.full((int(per_trajectory.sum()), sequence_length), -1, np.int64)
    out[first_sequence[trajectory] + offset // sequence_length, offset % sequence_length] = position
    return out


class RecurrentValueEstimator(ValueEstimator):
    """ValueEstimator for a critic with memory: values by trajectory, from the stored memories.
    After `estimate`, `sequences` and `sequence_memories` describe the update's sequences."""

    def __init__(self, ring: RolloutRing, critic: Critic, signals: list[str], device: torch.device,
                 clock: NetworkClock, sequence_length: int) -> None:  # fmt: skip
        super().__init__(ring, critic, signals, device, clock)
        self.sequence_length = sequence_length
        self.sequences = np.zeros((0, sequence_length), np.int64)
        self.sequence_memories = np.zeros((0, 0), np.float32)
        self._final_memory = np.zeros((0, 0), np.float32)  # after each trajectory's last step
        self._last_rows = np.zeros(0, np.int64)  # each trajectory's last flat ring row

    def step_values(self, rows: NDArray[np.int64]) -> NDArray[np.float32]:
        starts, lengths = trajectory_bounds(self.ring.trajectory_ends(rows))
        self.sequences = sequence_positions(starts, lengths, self.sequence_length)
        self._last_rows = rows[starts + lengths - 1]
        obs = [np.take(self.ring.buffer.flat(name), rows, axis=0) for name in self.obs_planes]
        memory = cast(NDArray[np.float32], self.ring.buffer.flat("critic_memory"))[rows[starts]]
        started = time.perf_counter()
        with torch.inference_mode():
            values = self._run_trajectories(obs, memory, starts, lengths)
        self.clock.seconds += time.perf_counter() - started
        return values

    def _run_trajectories(self, obs: list[NDArray[Any]], memory: NDArray[np.float32], starts: NDArray[np.int64],
                          lengths: NDArray[np.int64]) -> NDArray[np.float32]:  # fmt: skip
        """Every trajectory through the critic from its first memory, all at once, one LSTM call
        per sequence_length steps (packed: each trajectory stops at its own last step)."""
        body = self.critic.network_body
        lstm = body.memory
        assert lstm is not None
        rows, count, length = int(lengths.sum()), len(starts), self.sequence_length
        encoded = torch.cat([body([torch.from_numpy(o[i : i + 4096]).to(self.device) for o in obs])
                             for i in range(0, rows, 4096)])  # fmt: skip
        trajectory = torch.from_numpy(np.repeat(np.arange(count), lengths)).to(self.device)
        offset = torch.from_numpy(np.arange(rows) - np.repeat(starts, lengths)).to(self.device)
        longest = int(lengths.max())
        padded = encoded.new_zeros(count, longest, encoded.shape[1])
        padded[trajectory, offset] = encoded
        hidden, cell = lstm.split(torch.from_numpy(memory).to(self.device))
        outputs = encoded.new_zeros(count, longest, lstm.hidden_size)
        sequence_memories = np.zeros((len(self.sequences), lstm.memory_size), np.float32)
        per_trajectory = -(-lengths // length)
        first_sequence = np.concatenate([[0], np.cumsum(per_trajectory)[:-1]])
        for k in range(-(-longest // length)):
            live = np.flatnonzero(lengths > k * length)
            live_t = torch.from_numpy(live).to(self.device)
            state = (hidden[:, live_t], cell[:, live_t])
            sequence_memories[first_sequence[live] + k] = torch.cat([state[0][0], state[1][0]], 1).cpu().numpy()
            steps = np.minimum(lengths[live] - k * length, length)
            chunk = padded[live_t, k * length : (k + 1) * length]
            packed = pack_padded_sequence(chunk, torch.from_numpy(steps), batch_first=True, enforce_sorted=False)
            out, (hidden_after, cell_after) = lstm.lstm(packed, state)
            unpacked, _ = pad_packed_sequence(out, batch_first=True, total_length=chunk.shape[1])
            outputs[live_t, k * length : (k + 1) * length] = unpacked
            hidden[:, live_t], cell[:, live_t] = hidden_after, cell_after
        self.sequence_memories = sequence_memories
        self._final_memory = torch.cat([hidden[0], cell[0]], dim=1).cpu().numpy()
        values = self.critic.value_heads(outputs[trajectory, offset]).T
        return cast(NDArray[np.float32], values.cpu().numpy())

    def values_after(self, step_rows: NDArray[np.int64], obs: list[NDArray[Any]]) -> NDArray[np.float32]:
        """Bootstraps: the values of the observations after the trajectories that end at
        `step_rows`, from the memory after their last step."""
        order = np.argsort(self._last_rows)
        trajectory = order[np.searchsorted(self._last_rows, step_rows, sorter=order)]
        memory = torch.from_numpy(self._final_memory[trajectory]).to(self.device)
        with torch.inference_mode():
            values, _ = self.critic.values_with_memory([torch.from_numpy(o).to(self.device) for o in obs], memory)
        return cast(NDArray[np.float32], values.cpu().numpy())


class RecurrentStep:
    """The gradient step on whole sequences: the modules from the sequences' first memories,
    the masked PPO loss, autograd's backward."""

    def __init__(self, actor: Actor, critic: Critic, optimizer: FlatAdam, clock: NetworkClock) -> None:
        self.actor, self.critic, self.optimizer, self.clock = actor, critic, optimizer, clock

    def __call__(self, mb: Minibatch, epsilon: float, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        assert mb.memory is not None and mb.critic_memory is not None and mb.mask is not None
        length = mb.sequence_length
        continuous, discrete, allowed = taken_actions(mb, self.actor.action_model.branches)
        started = time.perf_counter()
        log_probs, entropy = self.actor.evaluate(mb.obs, allowed, continuous, discrete, mb.memory[::length], length)
        values, _ = self.critic.values_with_memory(mb.obs, mb.critic_memory, length)
        loss, policy_loss, value_loss = ppo_loss(log_probs, values, entropy, mb.old_log_probs,
                                                 mb.advantages.unsqueeze(1), mb.old_values, mb.returns, epsilon,
                                                 beta, mb.mask)  # fmt: skip
        self.optimizer.zero_grad()
        loss.backward()
        self.clock.seconds += time.perf_counter() - started
        self.optimizer.step()
        return policy_loss, value_loss
