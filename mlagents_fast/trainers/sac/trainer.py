"""SAC for one behavior, with ML-Agents' semantics (its OffPolicyTrainer and TorchSACOptimizer).

Per step, `act` runs one batched forward of the squashed-Gaussian actor for every agent; `record`
adds each agent's transition (observations, actions, rewards, the next observations, whether the
episode terminated) to the replay ring. An interrupted episode's transition bootstraps from its
final observation, as ML-Agents clears `done` on an interrupted step; off-policy, a
`time_horizon` cut needs nothing more (every transition carries its next observation).

Updates, as ML-Agents: none before `buffer_init_steps` agent-steps or `batch_size` transitions;
then as many gradient steps (update.py) as keep `(step - buffer_init_steps) / updates` at most
`steps_per_update`.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast import _native
from mlagents_fast.config.trainer_settings import SACSettings, TrainerSettings
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.networks.actor_critic import Critic, NetworkBody
from mlagents_fast.networks.observation_normalizer import ObservationNormalizer, share_statistics
from mlagents_fast.reward_signals import LearnedRewardSignal
from mlagents_fast.reward_signals.registry import seeded_signals
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.spec import ActionTuple, BehaviorSpec
from mlagents_fast.trainers.agent_memories import Memories
from mlagents_fast.trainers.background import BackgroundUpdate
from mlagents_fast.trainers.behavioral_cloning import BehavioralCloning
from mlagents_fast.trainers.rewards import SignalRewards
from mlagents_fast.trainers.sac.acting import ModuleActing, NativeActing, RecurrentActing
from mlagents_fast.trainers.sac.networks import QNetwork, SACActor
from mlagents_fast.trainers.sac.replay_batches import ReplayBatches, replay_fields
from mlagents_fast.trainers.sac.replay_file import load_replay, save_replay
from mlagents_fast.trainers.sac.rounds import RoundPlan, UpdateRound
from mlagents_fast.trainers.sac.sequences import SequenceAssembler
from mlagents_fast.trainers.sac.update import EntropyCoefficients, SACStep
from mlagents_fast.trainers.schedules import LEARNING_RATE_FLOOR, decayed
from mlagents_fast.trainers.stats import NetworkClock, Stat, TrainerStats, TrajectoryMeans

logger = logging.getLogger(__name__)


class SACTrainer:
    """Collects transitions for one behavior's `num_agents` slots and trains its policy off-policy."""

    def __init__(self, behavior: str, spec: BehaviorSpec, settings: TrainerSettings, num_agents: int, *,
                 seed: int = 0, device: torch.device | str = "cpu", training: bool = True) -> None:  # fmt: skip
        if not isinstance(settings.hyperparameters, SACSettings):
            raise UnityTrainerException(f"Behavior {behavior}: the SAC trainer needs SAC hyperparameters; got "
                                        f"{type(settings.hyperparameters).__name__}.")  # fmt: skip
        self.hyper: SACSettings = settings.hyperparameters
        if training and self.hyper.batch_size > self.hyper.buffer_size:  # (ML-Agents accepts it too)
            logger.warning(f"Behavior {behavior}: hyperparameters.batch_size ({self.hyper.batch_size}) is larger than "
                           f"buffer_size ({self.hyper.buffer_size}); the replay buffer never holds a minibatch, so "
                           "SAC will not update the policy.")  # fmt: skip
        self.behavior, self.spec, self.settings, self.num_agents = behavior, spec, settings, num_agents
        self.training, self.device = training, torch.device(device)
        self.signals = seeded_signals(settings, spec, seed, device)
        self.learned = [cast(LearnedRewardSignal, s) for s in self.signals if s.learns]
        names = [s.name for s in self.signals]
        torch.manual_seed(seed)
        self.rng = _native.Rng(seed)
        net, action = settings.network_settings, spec.action_spec

        memory = net.memory
        memory_size = memory.memory_size if memory is not None else 0

        def body(action_inputs: int = 0) -> NetworkBody:
            return NetworkBody(spec, net.normalize, net.hidden_units, net.num_layers, net.vis_encode_type,
                               net.goal_conditioning_type, behavior, action_inputs, memory_size)  # fmt: skip

        self.actor = SACActor(spec, body(), net.hidden_units).to(self.device)
        self.q1 = QNetwork(spec, names, body(action.continuous_size), net.hidden_units).to(self.device)
        self.q2 = QNetwork(spec, names, body(action.continuous_size), net.hidden_units).to(self.device)
        self.critic = Critic(spec, names, net.normalize, net.hidden_units, net.num_layers, net.vis_encode_type,
                             net.goal_conditioning_type, behavior=behavior,
                             memory_size=memory_size).to(self.device)  # fmt: skip
        self.target = copy.deepcopy(self.critic)  # hard copy at the start, then soft updates
        # Every network reads the same statistics: one set of tensors, written once per push.
        share_statistics(self.actor.network_body, *(n.network_body for n in (self.q1, self.q2, self.critic,
                                                                           self.target)))  # fmt: skip
        self.coefficients = EntropyCoefficients(self.hyper.init_entcoef, len(action.discrete_branches)).to(self.device)
        # The gradient steps draw the policy's noise from their own generator, apart from acting's.
        self.update_generator = torch.Generator(self.device).manual_seed(seed)
        self.gradient_step = SACStep(self.actor, self.q1, self.q2, self.critic, self.target, self.coefficients,
                                     [s.gamma for s in self.signals], self.hyper.tau, self.hyper.learning_rate,
                                     generator=self.update_generator)  # fmt: skip
        self.normalizer = ObservationNormalizer(self.actor.network_body, net.normalize)
        self.cloning = None  # (one pass over the demonstration a round, as ML-Agents' SAC: num_epoch 1)
        if settings.behavioral_cloning is not None and training:
            self.cloning = BehavioralCloning(settings.behavioral_cloning, self.actor, spec, self.hyper.learning_rate,
                                             self.hyper.batch_size, 1, seed,
                                             memory.sequence_length if memory is not None else 1)  # fmt: skip
        # `threaded: true`: gradient steps run on their own thread while collection goes on with a
        # copy of the actor, one update behind (ML-Agents' threaded trainers).
        self.acting_actor, self.acting_critic = self.actor, self.critic
        self._background: BackgroundUpdate[UpdateRound] | None = None
        if settings.threaded and training:
            self.acting_actor, self.acting_critic = copy.deepcopy(self.actor), copy.deepcopy(self.critic)
            self._background = BackgroundUpdate(behavior)
        # With memory: every agent's memories between steps, and whole sequences into the replay ring.
        self.memories = Memories(num_agents, memory_size) if memory is not None else None
        self.acting: ModuleActing | NativeActing | RecurrentActing
        if self.memories is not None:
            self.acting = RecurrentActing(self.acting_actor, self.acting_critic, self.device, self.memories)
        else:
            self.acting = NativeActing.create(self.acting_actor, self.acting_critic) or ModuleActing(
                self.acting_actor, self.acting_critic, self.device)  # fmt: skip
        # ML-Agents' Policy/<Signal> Value: V of a trajectory's observations, one mean per trajectory
        self.trajectory_values = TrajectoryMeans(len(names), num_agents, settings.time_horizon)
        self._round_start, self._round_size = 0, 1  # the step the update in flight started at, its gradient steps
        self.deterministic = net.deterministic
        length = memory.sequence_length if memory is not None else 1
        self.batches = ReplayBatches(spec, names, self.hyper.buffer_size, self.hyper.batch_size, self.device,
                                     memory_size=memory_size, sequence_length=length)  # fmt: skip
        self.replay = self.batches.buffer
        self.sequences = SequenceAssembler(self.replay, num_agents, length, settings.time_horizon) if memory else None
        # This step's transition of every agent, gathered as the step goes, then added in one call.
        fields = replay_fields(spec, names, memory_size)
        # The signals pay straight into the step's reward fields (views of one [S, 1, N] array).
        rewards = np.zeros((len(names), 1, num_agents), np.float32)
        self.step_arrays = {name: rewards[names.index(name[len("reward_") :]), 0] if name.startswith("reward_") else
                            np.zeros((num_agents, *f.shape), f.dtype) for name, f in fields.items()}  # fmt: skip
        # SignalRewards reads a rollout's [T, N, ...] fields: this step's, as a rollout of one step.
        one_step = {name: a[None] for name, a in self.step_arrays.items() if not name.startswith(("next_", "reward_"))}
        self.rewards = SignalRewards(self.signals, num_agents, {**one_step, "rewards": rewards}, evaluate_learned=True)
        count = len(spec.observation_specs)
        self._obs_planes = [self.step_arrays[f"obs_{i}"] for i in range(count)]
        self._next_obs_planes = [self.step_arrays[f"next_obs_{i}"] for i in range(count)]
        self._transition = [self.step_arrays[name] for name in self.replay.names]  # in the replay's field order
        self._asked: NDArray[np.bool_] | None = None  # who asked for a decision at the step acted on
        self._allowed_all = torch.ones(num_agents, sum(action.discrete_branches), device=self.device)
        # ML-Agents counts update steps (and reward signal update steps) from 1
        self.step, self.updates, self.signal_updates, self.gradient_steps = 0, 1, 1, 0
        self.stats = TrainerStats()
        # Acting's seconds and the gradient steps' (an update thread's, when threaded): one clock
        # per thread, so neither loses the other's additions.
        self.clock, self.update_clock = NetworkClock(), NetworkClock()
        self._entropy = self.stats.per_step("Policy/Entropy")

    # ---------------------------------------------------------------- collection
    def act(self, batch: StepBatch, actions: ActionTuple) -> None:
        """Choose actions for every slot from `batch.obs` and write them into `actions`."""
        allowed = self._allowed_all if batch.action_mask is None else torch.from_numpy(~batch.action_mask).to(
            self.device, torch.float32)  # fmt: skip
        started = time.perf_counter()
        out = self.acting(batch.obs, allowed, self.deterministic)
        self.clock.seconds += time.perf_counter() - started
        step = self.step_arrays
        for plane, o in zip(self._obs_planes, batch.obs, strict=True):
            plane[...] = o
        # the agents that sit this step out (they ask for no decision) make no transition
        self._asked = None if batch.absent is None or not np.count_nonzero(batch.absent) else ~batch.absent
        if self.spec.action_spec.continuous_size:
            step["continuous_action"][...] = actions.continuous[...] = out.continuous
        if self.spec.action_spec.discrete_branches:
            step["discrete_action"][...] = actions.discrete[...] = out.discrete
            assert batch.action_mask is not None
            step["action_mask"][...] = batch.action_mask
        if self.memories is not None:  # the memories this step started from
            step["memory"][...] = self.memories.actor
            step["critic_memory"][...] = self.memories.critic
            # A step an agent sat out runs through its memory (as acting did) but counts in no loss.
            step["step_mask"][...] = True if self._asked is None else self._asked
        if self.training:
            self.normalizer.update(batch.obs)
        self._entropy.append(out.entropy)
        self.trajectory_values.add(out.values)

    def record(self, batch: StepBatch) -> None:
        """Add the step's transitions, report ended episodes, and train as ML-Agents' ratio allows."""
        self.rewards.pay(0, batch)
        done = batch.terminated | batch.truncated
        any_done = bool(np.count_nonzero(done))
        if self.training:
            ended = np.flatnonzero(done) if any_done else None
            for i, (next_obs, o) in enumerate(zip(self._next_obs_planes, batch.obs, strict=True)):
                next_obs[...] = o  # the next observation; an ended episode's final one
                if ended is not None:
                    next_obs[ended] = batch.terminal_obs[i][ended]
            self.step_arrays["done"][...] = batch.terminated  # interrupted episodes bootstrap
            if self.sequences is None:
                asked = self._asked
                self.batches.add(self._transition if asked is None else [a[asked] for a in self._transition])
            else:
                self.sequences.add(self._transition, done)
        if self.memories is not None:
            self.memories.commit(done)
        if any_done:
            self.rewards.end_episodes(batch, done, self.stats, None if batch.opponent is None else ~batch.opponent)
        means = self.trajectory_values.finish(done)
        if means is not None:
            for signal, signal_means in zip(self.signals, means, strict=True):
                self.stats.add(f"Policy/{signal.stat_name} Value", signal_means.tolist())
        self.step += self.num_agents - (0 if self._asked is None else int(np.count_nonzero(~self._asked)))
        if self.training:
            self._update()

    # ---------------------------------------------------------------- update
    def _update(self) -> None:
        """Train as far as the ratio allows now, or, threaded, hand that to the update thread."""
        hp = self.hyper
        if self.replay.size < hp.batch_size or self.step < hp.buffer_init_steps:
            return
        if self._background is not None and self._background.pending is not None:
            # Collection runs ahead of the update in flight by as many steps as it trains on, then
            # waits for it: the ratio holds however fast the environment steps, and the acting
            # policy changes at the same steps whatever the timing (it is one round behind).
            if self.step - self._round_start < self._round_size * hp.steps_per_update:
                return
            self.wait_for_update()
        self.normalizer.push_into(self.actor)  # (the other networks share its statistics)
        plan = self._plan_round(self.step)
        if self._background is None:
            self._report(self._run_round(plan))
        else:
            self._round_start, self._round_size = self.step, max(len(plan.minibatches), 1)
            self._background.start(lambda: self._run_round(plan))

    def _plan_round(self, step: int) -> RoundPlan:
        """As many gradient steps as keep (step - buffer_init_steps) / update_steps <= steps_per_update
        (ML-Agents counts update steps from 1), and as many reward signal updates as their own ratio
        allows, with every minibatch drawn now, on the collecting thread."""
        hp = self.hyper
        due = 0
        while (step - hp.buffer_init_steps) / (self.updates + due) > hp.steps_per_update:
            due += 1
        self.updates += due
        # Signals that learn (curiosity, GAIL...) train on their own ratio, on replay samples.
        signal_batches = []
        if any(signal.learns for signal in self.signals):
            while (step - hp.buffer_init_steps) / self.signal_updates > hp.reward_signal_steps_per_update:
                signal_batches.append(self.batches.signal_batch(self.rng))
                self.signal_updates += 1
        learning_rate = decayed(hp.learning_rate_schedule, hp.learning_rate, LEARNING_RATE_FLOOR, step,
                                self.settings.max_steps)  # fmt: skip
        minibatches = self.batches.draw(due, self.rng, self.learned) if due else []
        return RoundPlan(learning_rate, minibatches, signal_batches, step)

    def _run_round(self, plan: RoundPlan) -> UpdateRound:
        """The round's gradient steps, then its reward signal updates; their counts and summed stats."""
        done = UpdateRound()
        for minibatch in plan.minibatches:
            started = time.perf_counter()
            done.add(done.policy, self.gradient_step(minibatch, plan.learning_rate))
            self.update_clock.seconds += time.perf_counter() - started  # (with Adam's step, unlike PPO's clock)
            done.policy_steps += 1
        for batch in plan.signal_batches:
            for signal in self.signals:
                if signal.learns:
                    done.add(done.signals, signal.update(batch))
            done.signal_steps += 1
        if self.cloning is not None and done.policy_steps:  # after the round's updates, as ML-Agents
            done.cloning = self.cloning.update(plan.step)
        return done

    def _report(self, done: UpdateRound) -> None:
        """One mean per round, as ML-Agents reports the mean of an update's minibatches."""
        if done.policy_steps:
            self.gradient_steps += done.policy_steps
            for key, total in done.policy.items():
                self.stats.add(key, (total / done.policy_steps,))
        for key, total in done.signals.items():
            self.stats.add(key, (total / done.signal_steps,))
        self.stats.add_all(done.cloning)

    def end_episodes(self) -> None:
        """The environments were reset mid-episode (a curriculum's `require_reset`): the episodes
        in progress end unreported. Their transitions so far stay in the replay buffer."""
        self.rewards.forget_episodes()
        self.trajectory_values.forget()
        self._forget_memories()

    def _forget_memories(self) -> None:
        """With memory: every agent starts from zero, its trajectory in progress dropped."""
        if self.memories is not None and self.sequences is not None:
            self.memories.forget()
            self.sequences.forget()

    @property
    def network_seconds(self) -> float:
        return self.clock.seconds + self.update_clock.seconds

    # ---------------------------------------------------------------- run loop
    def drain_stats(self) -> list[Stat]:
        return self.stats.drain()

    def mean_recent_return(self) -> float | None:
        return self.stats.mean_recent_return()

    def export_policy(self, path: Path) -> None:
        from mlagents_fast.export import export_onnx  # (onnx loads only when a model is written)

        export_onnx(self.actor, self.spec, path)

    def wait_for_update(self) -> None:
        """Threaded: finish the update in flight and give its weights to the acting policy."""
        if self._background is None or self._background.pending is None:
            return
        self._report(self._background.take())
        self.acting_actor.load_state_dict(self.actor.state_dict())
        self.acting_critic.load_state_dict(self.critic.state_dict())

    def close(self) -> None:
        self.wait_for_update()
        if self._background is not None:
            self._background.close()

    # ---------------------------------------------------------------- checkpoints
    def save_files(self, folder: Path) -> None:
        """With `save_replay_buffer`, the replay buffer beside the checkpoints (replay_file.py)."""
        if self.hyper.save_replay_buffer:
            save_replay(self.replay, folder)

    def load_files(self, folder: Path) -> None:
        """`--resume` with `save_replay_buffer`: refill the replay buffer (replay_file.py)."""
        if self.hyper.save_replay_buffer:
            load_replay(self.replay, folder, self.behavior)

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs but the replay buffer, under ML-Agents' module names."""
        self.wait_for_update()
        step = self.gradient_step
        return {
            "Policy": self.actor.state_dict(),
            "Optimizer:q1_network": self.q1.state_dict(),
            "Optimizer:q2_network": self.q2.state_dict(),
            "Optimizer:value_network": self.critic.state_dict(),
            "Optimizer:target_network": self.target.state_dict(),
            "Optimizer:log_ent_coef": self.coefficients.state_dict(),
            "Optimizer:optimizer": step.optimizer.state_dict(),
            "global_step": self.step,
            "update_steps": self.updates,
            "reward_signal_update_steps": self.signal_updates,
            "rng": {
                "native": [int(w) for w in self.rng.state()],
                "torch": torch.get_rng_state(),
                "update": self.update_generator.get_state(),
            },
            **self.normalizer.state_dict(),
            **{f"reward_signal:{s.name}": state for s in self.signals if (state := s.state_dict())},
        }

    def load_state_dict(self, state: dict[str, Any], *, reset_step: bool = False) -> None:
        """Restore a checkpoint (`reset_step`: --initialize-from, init_path: networks, coefficients
        and optimizers, with this run's step, schedules and random streams)."""
        self.wait_for_update()
        step = self.gradient_step
        self.actor.load_state_dict(state["Policy"])
        self.q1.load_state_dict(state["Optimizer:q1_network"])
        self.q2.load_state_dict(state["Optimizer:q2_network"])
        self.critic.load_state_dict(state["Optimizer:value_network"])
        self.target.load_state_dict(state["Optimizer:target_network"])
        self.coefficients.load_state_dict(state["Optimizer:log_ent_coef"])
        step.optimizer.load_state_dict(state["Optimizer:optimizer"])
        self.normalizer.load_state_dict(state)
        for signal in self.signals:
            if f"reward_signal:{signal.name}" in state:
                signal.load_state_dict(state[f"reward_signal:{signal.name}"])
        if not reset_step:
            self.step, self.updates = int(state["global_step"]), int(state["update_steps"])
            self.signal_updates = int(state.get("reward_signal_update_steps", 1))
            rng = state.get("rng", {})
            if "native" in rng:
                self.rng.set_state(rng["native"])
            if "torch" in rng:
                torch.set_rng_state(rng["torch"])
            if "update" in rng:
                self.update_generator.set_state(rng["update"])
        if self.acting_actor is not self.actor:
            self.acting_actor.load_state_dict(self.actor.state_dict())
            self.acting_critic.load_state_dict(self.critic.state_dict())
        self._forget_memories()  # trajectories start afresh
