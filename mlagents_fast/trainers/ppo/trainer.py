"""PPO for one behavior, with ML-Agents' semantics: the pieces, put together.

Per step, `act` runs one batched forward for every agent of the behavior across all
environment copies and writes the actions straight into the stepper's action arrays;
`record` stores what the step returned in the rollout ring (buffer/rollout_ring.py). As in
ML-Agents, an update trains whole trajectories only: once more than `buffer_size` steps of
finished trajectories wait, update.py trains on all of them; an unfinished trajectory waits
for a later update. With `threaded: true` the update runs on its own thread while collection
goes on with copies of the networks (one update behind, as ML-Agents' threaded trainers).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from mlagents_fast import _native
from mlagents_fast.buffer.fields import FieldSpec, rollout_fields
from mlagents_fast.buffer.rollout import RolloutBuffer
from mlagents_fast.buffer.rollout_ring import RolloutRing
from mlagents_fast.config.trainer_settings import POCASettings, PPOSettings, TrainerSettings
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.networks.actions import ActionOutput
from mlagents_fast.networks.actor_critic import Actor, Critic
from mlagents_fast.networks.observation_normalizer import ObservationNormalizer
from mlagents_fast.reward_signals.registry import seeded_signals
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.run.timers import hierarchical_timer
from mlagents_fast.spec import ActionTuple, BehaviorSpec
from mlagents_fast.trainers.agent_memories import Memories
from mlagents_fast.trainers.background import BackgroundUpdate
from mlagents_fast.trainers.behavioral_cloning import BehavioralCloning
from mlagents_fast.trainers.flat_adam import FlatAdam
from mlagents_fast.trainers.fused_bodies import parameter_order
from mlagents_fast.trainers.ppo.checkpoint import PPOCheckpoint
from mlagents_fast.trainers.ppo.fused import recurrent as fused_recurrent
from mlagents_fast.trainers.ppo.gradient_step import Paths, choose_paths
from mlagents_fast.trainers.ppo.minibatch import MinibatchSource
from mlagents_fast.trainers.ppo.recurrent import RecurrentActing, RecurrentStep, RecurrentValueEstimator
from mlagents_fast.trainers.ppo.update import PPOUpdate, UpdateStats
from mlagents_fast.trainers.ppo.values import ValueEstimator
from mlagents_fast.trainers.rewards import SignalRewards
from mlagents_fast.trainers.stats import NetworkClock, Stat, TrainerStats

CONTINUOUS_CLIP = 3.0  # sampled continuous actions are clipped to [-3, 3], then divided by 3


def _numpy(tensor: torch.Tensor) -> NDArray[Any]:
    return tensor.numpy()


def _host_numpy(tensor: torch.Tensor) -> NDArray[Any]:
    return tensor.cpu().numpy()


class PPOTrainer:
    """Collects experience for one behavior's `num_agents` slots and updates its policy."""

    def __init__(self, behavior: str, spec: BehaviorSpec, settings: TrainerSettings, num_agents: int, *,
                 seed: int = 0, device: torch.device | str = "cpu", training: bool = True) -> None:  # fmt: skip
        if not isinstance(settings.hyperparameters, self.hyperparameter_class):
            raise UnityTrainerException(f"Behavior {behavior}: the {self.trainer_name} trainer needs "
                                        f"{self.hyperparameter_class.__name__}; got "
                                        f"{type(settings.hyperparameters).__name__}.")  # fmt: skip
        self.behavior, self.spec, self.settings, self.num_agents = behavior, spec, settings, num_agents
        self.hyper: PPOSettings | POCASettings = settings.hyperparameters
        self.training = training  # False: act with the policy, never update it (--inference)
        self.device = torch.device(device)
        self.signals = seeded_signals(settings, spec, seed, device)
        names = [s.name for s in self.signals]
        torch.manual_seed(seed)
        self.rng = _native.Rng(seed)
        net = settings.network_settings
        common: dict[str, Any] = dict(normalize=net.normalize, hidden_units=net.hidden_units, num_layers=net.num_layers,
                                      vis_encode_type=net.vis_encode_type,
                                      goal_conditioning_type=net.goal_conditioning_type, behavior=behavior)  # fmt: skip
        memory = net.memory
        memory_size = memory.memory_size if memory is not None else 0
        self.actor = Actor(spec, **common, memory_size=memory_size).to(self.device)
        self.critic = self.make_critic(names, common, memory_size).to(self.device)
        self.optimizer = FlatAdam(self.parameters_in_order(), lr=self.hyper.learning_rate)
        self.deterministic = net.deterministic
        self.normalizer = ObservationNormalizer(self.actor.network_body, net.normalize)
        self.threaded = settings.threaded and training
        self.acting_actor, self.acting_critic = self.actor, self.critic
        self._background: BackgroundUpdate[UpdateStats] | None = None
        if self.threaded:  # collection goes on with copies of the networks while the update runs
            self.acting_actor, self.acting_critic = copy.deepcopy(self.actor), copy.deepcopy(self.critic)
            self._background = BackgroundUpdate(behavior)
        self.clock = NetworkClock()
        # With memory: every agent's memories between steps, and the recurrent paths (recurrent.py).
        self.memories = Memories(num_agents, memory_size) if memory is not None else None
        self.paths = self.make_paths()
        action = spec.action_spec
        fields = self.rollout_fields(memory_size)
        self.rollout = RolloutRing(num_agents, fields, names, buffer_size=self.hyper.buffer_size,
                                   time_horizon=settings.time_horizon, threaded=self.threaded,
                                   sequence_length=memory.sequence_length if memory is not None else 1)  # fmt: skip
        self.ring, self._arrays = self.rollout.ring, self.rollout.buffer.arrays  # (read every step)
        self.values = self.make_values(names)
        # With memory a minibatch is whole sequences: batch_size rounded down to a multiple of their length.
        rows = (
            self.hyper.batch_size
            if memory is None
            else max(self.hyper.batch_size // memory.sequence_length, 1) * memory.sequence_length
        )
        minibatches = MinibatchSource(self.rollout.buffer, action, names, rows, self.device)
        self.update = self.update_class(self.hyper, settings.max_steps, self.rollout, self.signals, self.values,
                                        minibatches, self.paths.step, self.optimizer, self.rng,
                                        memory.sequence_length if memory is not None else None)  # fmt: skip
        self.learned_rewards = self.update.learned  # (the signals that learn, paid by the update)
        if settings.behavioral_cloning is not None and training:
            hp = self.hyper
            self.update.cloning = BehavioralCloning(settings.behavioral_cloning, self.actor, spec, hp.learning_rate,
                                                    hp.batch_size, hp.num_epoch, seed,
                                                    memory.sequence_length if memory is not None else 1)  # fmt: skip
        self.checkpoint = PPOCheckpoint(
            self.actor, self.critic, self.optimizer, self.normalizer, self.signals, self.rng
        )
        self.step = 0  # agent-steps taken by this behavior (ML-Agents' trainer step)
        self.stats = TrainerStats()
        self._entropy = self.stats.per_step("Policy/Entropy")
        self.rewards = SignalRewards(self.signals, num_agents, self.rollout.buffer.arrays)
        self._on_cpu = self.device.type == "cpu"
        self._obs_planes = [self.rollout.buffer.arrays[f"obs_{i}"] for i in range(len(spec.observation_specs))]

    # ---------------------------------------------------------------- the parts (POCA replaces some)
    trainer_name = "PPO"
    hyperparameter_class: type[PPOSettings | POCASettings] = PPOSettings
    update_class: type[PPOUpdate] = PPOUpdate
    bootstraps_ended_episodes = False  # keep every ended episode's final observations for the update

    def make_critic(self, names: list[str], common: dict[str, Any], memory_size: int) -> nn.Module:
        assert isinstance(self.hyper, PPOSettings)
        shared = self.actor.network_body if self.hyper.shared_critic else None
        return Critic(self.spec, names, **common, shared_body=shared, memory_size=memory_size)

    def parameters_in_order(self) -> list[nn.Parameter]:
        """One Adam over actor and critic (a shared body's parameters once), laid out so that the
        fused path can run both bodies as one batched body."""
        assert isinstance(self.critic, Critic)
        return parameter_order(self.actor, self.critic)

    def make_paths(self) -> Paths:
        """How the networks act and take a gradient step (gradient_step.py, recurrent.py)."""
        assert isinstance(self.critic, Critic) and isinstance(self.acting_critic, Critic)
        learning, acting = (self.actor, self.critic), (self.acting_actor, self.acting_critic)
        if self.memories is None:
            return choose_paths(learning, acting, self.optimizer, self.clock)
        if fused_recurrent.supports(*learning):  # all-vector bodies on the CPU
            fused_acting = fused_recurrent.FusedRecurrentActing(*acting, self.memories)
            return Paths(fused_acting, fused_recurrent.FusedRecurrentStep(*learning, self.optimizer, self.clock), True)
        recurrent = RecurrentActing(*acting, self.device, self.memories)
        return Paths(recurrent, RecurrentStep(*learning, self.optimizer, self.clock), fused=False)

    def rollout_fields(self, memory_size: int) -> dict[str, FieldSpec]:
        action, observations = self.spec.action_spec, self.spec.observation_specs
        fields = rollout_fields([o.shape for o in observations], action.continuous_size, action.discrete_branches,
                                memory_size, [o.dtype for o in observations])  # fmt: skip
        fields["absent"] = FieldSpec.of((), np.bool_)  # the agent asked for no decision at that step
        return fields

    def make_values(self, names: list[str]) -> ValueEstimator:
        assert isinstance(self.critic, Critic)
        memory = self.settings.network_settings.memory
        if memory is None:
            return ValueEstimator(self.rollout, self.critic, names, self.device, self.clock)
        return RecurrentValueEstimator(self.rollout, self.critic, names, self.device, self.clock,
                                       memory.sequence_length)  # fmt: skip

    @property
    def buffer(self) -> RolloutBuffer:
        return self.rollout.buffer

    @property
    def network_seconds(self) -> float:
        return self.clock.seconds

    @property
    def gradient_steps(self) -> int:
        return self.update.gradient_steps

    # ---------------------------------------------------------------- collection
    def act(self, batch: StepBatch, actions: ActionTuple) -> None:
        """Choose actions for every slot from `batch.obs` and write them into `actions`.

        These observations also close the trajectories cut at `time_horizon` on the last step
        (an update bootstraps them from these observations' values); when more than
        `buffer_size` steps of finished trajectories wait, the policy is updated first."""
        if self._on_cpu:  # (a no-op .to() still costs a call per step)
            obs = [torch.from_numpy(o) for o in batch.obs]
        else:
            obs = [torch.from_numpy(o).to(self.device, non_blocking=True) for o in batch.obs]
        if self._background is not None and self._background.finished:
            self.wait_for_update()
        # This step's observations go into the ring first: an update below reads them as the next
        # observations of the trajectories cut on the last step. (The row holds no untrained step.)
        t, buf = self.ring.row, self._arrays
        for plane, o in zip(self._obs_planes, batch.obs, strict=True):
            plane[t] = o
        buf["absent"][t] = False if batch.absent is None else batch.absent
        if self.memories is not None:  # the memories this step starts from
            buf["memory"][t] = self.memories.actor
            if "critic_memory" in buf:  # (POCA's critic does not act: it has none)
                buf["critic_memory"][t] = self.memories.critic
        values, out = self._forward(obs, batch.action_mask)
        self.rollout.finish_cut_trajectories()
        crowded = self.ring.crowded  # (steps agents sat out fill the ring but count for no update)
        if self.ring.ready_rows > self.hyper.buffer_size or crowded:  # ML-Agents: num_experiences > buffer_size
            if self._process_ready_trajectories():
                if crowded:
                    self.wait_for_update()  # (threaded: the ring's rows are wanted back before the next step)
                values, out = self._forward(obs, batch.action_mask)  # with the new weights and statistics
        if self.training:  # as ML-Agents, the statistics only move while the policy trains
            self.normalizer.update(batch.obs)
        host = _numpy if self._on_cpu else _host_numpy
        buf["value_estimates"][:, t] = host(values)
        log_probs = host(out.log_probs)
        c = self.spec.action_spec.continuous_size
        if c:
            sampled = host(out.continuous)
            buf["continuous_action"][t] = sampled
            buf["continuous_log_probs"][t] = log_probs[:, :c]
            np.clip(sampled, -CONTINUOUS_CLIP, CONTINUOUS_CLIP, out=actions.continuous)
            np.divide(actions.continuous, CONTINUOUS_CLIP, out=actions.continuous)
        if self.spec.action_spec.discrete_branches:
            chosen = host(out.discrete)
            buf["discrete_action"][t] = chosen
            buf["discrete_log_probs"][t] = log_probs[:, c:]
            assert batch.action_mask is not None
            buf["action_mask"][t] = batch.action_mask
            actions.discrete[...] = chosen
        self._entropy.append(out.mean_entropy if out.mean_entropy is not None else float(out.entropy.mean()))

    def record(self, batch: StepBatch) -> None:
        """Store the outcome of the step just taken (rewards, ends of episodes and trajectories)."""
        t, buf = self.ring.row, self._arrays
        sat_out = int(np.count_nonzero(buf["absent"][t]))
        self.rewards.pay(t, batch)
        buf["terminated"][t] = batch.terminated
        buf["truncated"][t] = batch.truncated
        done = batch.terminated | batch.truncated
        # Kept until an update estimates their bootstrap (not kept when nothing will train on it); with
        # a signal that learns, every ended episode's (its next observation).
        ended = done if self.learned_rewards or self.bootstraps_ended_episodes else batch.truncated
        if self.training and np.count_nonzero(ended):  # (count_nonzero: a quarter of any()'s cost)
            self.rollout.keep_final_observations(ended, batch.terminal_obs)
        any_done = bool(np.count_nonzero(done))
        if any_done:
            # (an agent that ends on a step it sat out still reports its episode; an opponent's is not ours)
            self.rewards.end_episodes(batch, done, self.stats, None if batch.opponent is None else ~batch.opponent)
        self.rollout.end_step(done, any_done, None if sat_out == 0 else buf["absent"][t])
        if self.memories is not None:
            self.memories.commit(done)
        self.step += self.num_agents - sat_out  # (an agent that asked for no decision took no step)

    # ---------------------------------------------------------------- update
    def _process_ready_trajectories(self) -> bool:
        """Hand the finished trajectories to an update (or, when not training, only report their
        value estimates). True when the acting networks changed and should act again."""
        self.wait_for_update()  # threaded: the update in flight gives its steps back first
        nothing_to_train = self.ring.ready_rows == 0  # (the ring was crowded with steps agents sat out)
        segments = self.rollout.take()
        if nothing_to_train:
            self.rollout.release()
            return False
        if not self.training:
            rows = segments.flat_rows()
            values = np.stack([self.rollout.buffer.flat(f"value_estimates.{s.name}")[rows] for s in self.signals])
            self.stats.add_all(self.update.value_estimate_stats(values, rows))
            self.rollout.release()
            return False
        # As ML-Agents updates the normalizer with each trajectory before estimating its values and
        # training on it, the update and then the policy see the statistics of every step so far
        # (the steps before the first update are acted with the prior, mean 0 and variance 1).
        self.normalizer.push_into(self.actor, self.critic)  # the learner is idle: safe to write
        if self._background is not None:
            step, update = self.step, self.update
            self._background.start(lambda: update(segments, step))
            self.normalizer.push_into(self.acting_actor, self.acting_critic)
        else:
            with hierarchical_timer("_update_policy"):
                self.stats.add_all(self.update(segments, self.step))
            self.rollout.release()
        return True

    def wait_for_update(self) -> None:
        """Threaded mode: finish the update in flight and give its weights to the acting networks."""
        if self._background is None or self._background.pending is None:
            return
        try:
            self.stats.add_all(self._background.take())
        finally:
            self.rollout.release()
        self._copy_to_acting()

    def _copy_to_acting(self) -> None:
        if self.acting_actor is not self.actor:
            self.acting_actor.load_state_dict(self.actor.state_dict())
            self.acting_critic.load_state_dict(self.critic.state_dict())

    def end_episodes(self) -> None:
        """The environments were reset mid-episode (a curriculum's `require_reset`): the episodes
        in progress end unreported, and the steps not trained yet are dropped, as ML-Agents drops
        its agents' unfinished trajectories (their next observations are gone)."""
        self.wait_for_update()
        self.rollout.drop_unfinished()
        self.rewards.forget_episodes()
        self.learned_rewards.forget_episodes()
        if self.memories is not None:
            self.memories.forget()

    def close(self) -> None:
        self.wait_for_update()
        if self._background is not None:
            self._background.close()

    def _forward(
        self, obs: list[torch.Tensor], action_mask: NDArray[np.bool_] | None
    ) -> tuple[torch.Tensor, ActionOutput]:
        """Values and actions for one step of every agent: the one batched forward per step."""
        started = time.perf_counter()
        with torch.inference_mode():
            values, out = self.paths.act(obs, action_mask, self.deterministic)
        self.clock.seconds += time.perf_counter() - started
        return values, out

    # ---------------------------------------------------------------- run loop
    def drain_stats(self) -> list[Stat]:
        return self.stats.drain()

    def mean_recent_return(self) -> float | None:
        return self.stats.mean_recent_return()

    def export_policy(self, path: Path) -> None:
        from mlagents_fast.export import export_onnx  # (onnx loads only when a model is written)

        export_onnx(self.actor, self.spec, path)

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs (checkpoint.py)."""
        self.wait_for_update()
        return self.checkpoint.state_dict(self.step)

    def load_state_dict(self, state: dict[str, Any], *, reset_step: bool = False) -> None:
        """Restore a checkpoint (`reset_step`: --initialize-from, init_path). Trajectories start
        afresh, as in a new ML-Agents process: steps not trained yet are dropped."""
        self.wait_for_update()
        step = self.checkpoint.load_state_dict(state, reset_step)
        self.step = self.step if step is None else step
        self._copy_to_acting()
        self.rollout.drop_unfinished()
        if self.memories is not None:
            self.memories.forget()
