"""Behavioral cloning (ML-Agents' BCModule), for any trainer whose actor has a `network_body`
and an `action_model` with `branch_logits` (PPO's and SAC's).

After each update the actor takes `num_epoch` passes over the demonstration in shuffled
minibatches of `batch_size` (at most `samples_per_update` steps a pass, when set): the loss is
the mean squared error between the policy's sampled continuous actions and the expert's, plus
the cross-entropy of each branch against the expert's choices (averaged over the branches). Its
own Adam runs at the policy's learning rate x `strength`, decayed linearly to 1e-10 over
`steps` when `steps` > 0 (no more training once there). Stat: Losses/Pretraining Loss.

With memory, as ML-Agents: the demonstration is cut into blocks of `sequence_length`
consecutive steps, shuffled as blocks; a minibatch is `batch_size // sequence_length` of them
(at least one), each run through the LSTM from zero memories (a demonstration keeps none).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlagents_fast.config.trainer_settings import BehavioralCloningSettings
from mlagents_fast.networks.actions import MaskedBranches
from mlagents_fast.networks.actor_critic import NetworkBody
from mlagents_fast.reward_signals.expert import load_expert
from mlagents_fast.reward_signals.learned import tensors
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.spec import BehaviorSpec
from mlagents_fast.trainers.schedules import decayed

FINAL_LEARNING_RATE = 1e-10


class BehavioralCloning:
    def __init__(self, settings: BehavioralCloningSettings, actor: nn.Module, spec: BehaviorSpec,
                 policy_learning_rate: float, batch_size: int, num_epoch: int, seed: int,
                 sequence_length: int = 1) -> None:  # fmt: skip
        self.settings, self.actor, self.spec = settings, actor, spec
        self.expert = load_expert(settings.demo_path, spec, "behavioral_cloning.demo_path")
        self.initial_rate = policy_learning_rate * settings.strength
        body = actor.network_body
        assert isinstance(body, NetworkBody)
        self.memory_size = body.memory.memory_size if body.memory is not None else 0
        self.sequence_length = sequence_length if body.memory is not None else 1
        self.blocks = len(self.expert) // self.sequence_length
        if self.blocks == 0:
            raise UnityTrainerException(
                f"`behavioral_cloning.demo_path` ({settings.demo_path}) holds {len(self.expert)} steps, fewer than "
                f"one sequence of network_settings.memory.sequence_length ({self.sequence_length}) steps that a "
                "policy with memory trains on: record a longer demonstration or use shorter sequences."
            )
        wanted = settings.batch_size or batch_size
        self.sequences_per_batch = min(max(wanted // self.sequence_length, 1), self.blocks)
        self.num_epoch = settings.num_epoch or num_epoch
        # Gradients go into the actor's own .grad tensors (a trainer's flat optimizer may own them), so
        # they are zeroed in place, never replaced.
        self.parameters = [p for p in actor.parameters() if p.requires_grad]
        self.device = self.parameters[0].device
        self.optimizer = torch.optim.Adam(self.parameters, lr=self.initial_rate)
        self._draws = np.random.default_rng(seed)

    def learning_rate(self, step: int) -> float:
        schedule = "linear" if self.settings.steps > 0 else "constant"
        return decayed(schedule, self.initial_rate, FINAL_LEARNING_RATE, step, self.settings.steps)

    def loss(self, index: np.ndarray) -> torch.Tensor:
        batch = self.expert.select(index)
        action = self.spec.action_spec
        body, model = self.actor.network_body, self.actor.action_model
        assert isinstance(body, NetworkBody) and isinstance(model, MaskedBranches)
        obs = tensors(batch.obs, self.device)
        if self.memory_size:
            zeros = torch.zeros(len(index) // self.sequence_length, self.memory_size, device=self.device)
            hidden, _ = body.recurrent(obs, zeros, self.sequence_length)
        else:
            hidden = body(obs)
        allowed = torch.ones(len(index), sum(action.discrete_branches), device=self.device)
        loss = torch.zeros((), device=self.device)
        if action.continuous_size:
            assert batch.continuous_action is not None
            sampled = model(hidden, allowed).continuous
            loss = loss + F.mse_loss(
                sampled, torch.from_numpy(np.asarray(batch.continuous_action, np.float32)).to(self.device)
            )
        if action.discrete_branches:
            assert batch.discrete_action is not None
            chosen = torch.from_numpy(np.asarray(batch.discrete_action, np.int64)).to(self.device)
            branches = model.branch_logits(hidden, allowed)
            cross_entropy = [F.cross_entropy(logits, chosen[:, b]) for b, logits in enumerate(branches)]
            loss = loss + torch.stack(cross_entropy).mean()
        return loss

    def update(self, step: int) -> dict[str, list[float]]:
        """Train on the demonstration after the trainer's update at `step`; Losses/Pretraining Loss."""
        rate = self.learning_rate(step)
        if rate <= FINAL_LEARNING_RATE:
            return {"Losses/Pretraining Loss": [0.0]}
        for group in self.optimizer.param_groups:
            group["lr"] = rate
        size, length = self.sequences_per_batch, self.sequence_length
        batches = self.blocks // size
        limit = self.settings.samples_per_update // size // length  # (0, as when it is unset: every batch)
        if limit > 0:
            batches = min(batches, limit)
        losses = []
        steps = np.arange(length)
        for _ in range(self.num_epoch):
            order = self._draws.permutation(self.blocks)  # blocks of `length` steps (single steps without memory)
            for b in range(batches):
                starts = order[b * size : (b + 1) * size] * length
                loss = self.loss((starts[:, None] + steps).ravel())
                self.optimizer.zero_grad(set_to_none=False)
                loss.backward()
                self.optimizer.step()
                losses.append(float(loss.detach()))
        return {"Losses/Pretraining Loss": [float(np.mean(losses)) if losses else 0.0]}
