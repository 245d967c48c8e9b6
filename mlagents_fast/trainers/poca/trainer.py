"""MA-POCA for one behavior (ML-Agents' `trainer_type: poca`): PPO's trainer (trainers/ppo) with
a centralized critic over each agent's group (networks/poca.py).

What differs from PPO:
- the critic: values of the group from every present member, and each agent's counterfactual
  baseline; the actor (and its ONNX export) is PPO's, one policy for every agent;
- each step records the agents' groups and which agents sat out (asked for no decision);
- an agent's extrinsic reward adds its present groupmates' rewards (ML-Agents' POCA adds
  groupmate rewards) to its own and its group's;
- the update (update.py) estimates values and baselines by group, takes lambda returns, and
  trains with the advantage returns - baseline and the baseline loss (loss.py); with memory,
  on whole sequences, the critic's memories carried per agent by the update (recurrent.py);
- `Environment/Group Cumulative Reward`: the group reward an agent collected over its episode,
  reported when its whole group has ended.
An agent without a group (group id 0) is a group of one: its baseline is its value.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from mlagents_fast.buffer.fields import FieldSpec
from mlagents_fast.config.trainer_settings import POCASettings, TrainerSettings
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.networks.poca import POCACritic
from mlagents_fast.spec import ActionTuple, BehaviorSpec
from mlagents_fast.trainers.poca.groups import group_all_done
from mlagents_fast.trainers.poca.recurrent import RecurrentActorActing, RecurrentPOCAValueEstimator
from mlagents_fast.trainers.poca.step import ActorActing, POCAStep
from mlagents_fast.trainers.poca.update import POCAUpdate
from mlagents_fast.trainers.poca.values import POCAValueEstimator
from mlagents_fast.trainers.ppo.gradient_step import Paths
from mlagents_fast.trainers.ppo.trainer import PPOTrainer
from mlagents_fast.trainers.ppo.values import ValueEstimator

logger = logging.getLogger(__name__)


class POCATrainer(PPOTrainer):
    trainer_name = "POCA"
    hyperparameter_class = POCASettings
    update_class = POCAUpdate
    bootstraps_ended_episodes = True  # an early finisher bootstraps from its final observations

    def __init__(self, behavior: str, spec: BehaviorSpec, settings: TrainerSettings, num_agents: int, *,
                 seed: int = 0, device: torch.device | str = "cpu", training: bool = True) -> None:  # fmt: skip
        super().__init__(behavior, spec, settings, num_agents, seed=seed, device=device, training=training)
        self._group_reward = np.zeros(num_agents, np.float64)  # each agent's episode so far
        self._groups_seen = False  # (a behavior without groups is told once)
        self._extrinsic = next((s for s, signal in enumerate(self.signals) if signal.name == "extrinsic"), None)

    # ---------------------------------------------------------------- the parts that differ from PPO
    def make_critic(self, names: list[str], common: dict[str, Any], memory_size: int) -> nn.Module:
        net = self.settings.network_settings
        return POCACritic(self.spec, names, net.normalize, net.hidden_units, net.num_layers, net.vis_encode_type,
                          self.behavior, memory_size)  # fmt: skip

    def parameters_in_order(self) -> list[nn.Parameter]:
        return list({id(p): p for p in [*self.actor.parameters(), *self.critic.parameters()]}.values())

    def make_paths(self) -> Paths:
        assert isinstance(self.critic, POCACritic)
        acting = (
            ActorActing(self.acting_actor, len(self.signals), self.device)
            if self.memories is None
            else RecurrentActorActing(self.acting_actor, len(self.signals), self.device, self.memories)
        )
        return Paths(acting, POCAStep(self.actor, self.critic, self.optimizer, self.clock), fused=False)

    def rollout_fields(self, memory_size: int) -> dict[str, FieldSpec]:
        fields = super().rollout_fields(memory_size)
        fields["group_id"] = FieldSpec.of((), np.int32)
        fields["baseline_estimates"] = FieldSpec.of((), np.float32, per_signal=True)
        fields.pop("critic_memory", None)  # (the critic's memories are carried by the update: recurrent.py)
        return fields

    def make_values(self, names: list[str]) -> ValueEstimator:
        assert isinstance(self.critic, POCACritic)
        memory = self.settings.network_settings.memory
        if memory is None:
            return POCAValueEstimator(self.rollout, self.critic, names, self.spec.action_spec, self.device, self.clock)
        return RecurrentPOCAValueEstimator(self.rollout, self.critic, names, self.spec.action_spec, self.device,
                                           self.clock, memory.sequence_length)  # fmt: skip

    # ---------------------------------------------------------------- collection
    def act(self, batch: StepBatch, actions: ActionTuple) -> None:
        self._arrays["group_id"][self.ring.row] = batch.group_id  # at this step, before an update reads it
        super().act(batch, actions)

    def record(self, batch: StepBatch) -> None:
        t = self.ring.row
        super().record(batch)
        group_id = self._arrays["group_id"][t]
        present = ~self._arrays["absent"][t]
        if self._extrinsic is not None and np.count_nonzero(group_id):
            # Each agent's reward adds its present groupmates' (times the signal's strength).
            grouped = present & (group_id > 0)
            rewards = np.where(grouped, batch.reward, 0.0)
            ids, inverse = np.unique(np.where(grouped, group_id, 0), return_inverse=True)
            totals = np.bincount(inverse, weights=rewards, minlength=len(ids))[inverse] - rewards
            strength = self.signals[self._extrinsic].strength
            self._arrays["rewards"][self._extrinsic, t] += np.where(grouped, strength * totals, 0.0).astype(np.float32)
        if not self._groups_seen:
            self._groups_seen = True
            if not np.count_nonzero(group_id):
                logger.warning(f"Behavior {self.behavior}: trainer_type poca, but its environment puts no agent in a "
                               "group (group_id 0): each agent trains as a group of one (its baseline is its value), "
                               "as independent agents, as ML-Agents does.")  # fmt: skip
        self._group_reward += batch.group_reward
        done = batch.terminated | batch.truncated
        if np.count_nonzero(done):
            slots = np.flatnonzero(done)
            rows = t * self.num_agents + slots
            buf = self.rollout.buffer
            ended = cast(NDArray[np.bool_], buf.flat("terminated")) | cast(NDArray[np.bool_], buf.flat("truncated"))
            whole = group_all_done(rows, cast(NDArray[np.int32], buf.flat("group_id")),
                                   cast(NDArray[np.bool_], buf.flat("absent")), ended, self.num_agents)  # fmt: skip
            reported = slots[whole]
            if len(reported):
                self.stats.add("Environment/Group Cumulative Reward", self._group_reward[reported].tolist())
            self._group_reward[slots] = 0.0

    def end_episodes(self) -> None:
        super().end_episodes()
        self._group_reward[...] = 0.0
        if isinstance(self.values, RecurrentPOCAValueEstimator):
            self.values.forget()
