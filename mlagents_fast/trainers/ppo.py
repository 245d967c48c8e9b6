"""PPO for one behavior, with ML-Agents' semantics, in one place.

Per step, `act` runs one batched forward for every agent of the behavior across all
environment copies and writes the actions straight into the stepper's action arrays;
`record` stores what the step returned. Steps go into a ring (trainers/trajectories.py)
and, as in ML-Agents, an update trains whole trajectories only:

- an agent's trajectory ends with its episode or after `time_horizon` steps, bootstrapped
  from the value of the next observation (ML-Agents' AgentProcessor); an interrupted episode
  bootstraps from its final observation, a terminated one does not;
- once more than `buffer_size` steps of finished trajectories wait, `update` trains on all of
  them; every unfinished trajectory waits for a later update, so no episode is bootstrapped
  where an update happens to fall;
- GAE per reward signal with its own gamma (native kernel), returns = advantages + values,
  the advantage is the mean over signals, normalized over the buffer;
- `num_epoch` passes of shuffled minibatches of `batch_size`: clipped surrogate with
  per-action-dimension ratios, 0.5 x clipped value loss averaged over value heads, minus
  beta x entropy; one Adam over actor and critic; linear or constant schedules for the
  learning rate, epsilon and beta.
"""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast import _native
from mlagents_fast.buffer.fields import rollout_fields
from mlagents_fast.buffer.gather import Gatherer
from mlagents_fast.buffer.rollout import RolloutBuffer
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.networks.actions import ActionOutput
from mlagents_fast.networks.actor_critic import Actor, Critic
from mlagents_fast.networks.encoders import VectorInput
from mlagents_fast.ops.advantages import gae
from mlagents_fast.ops.normalize import RunningNormalizer
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.run.timers import hierarchical_timer
from mlagents_fast.spec import ActionTuple, BehaviorSpec
from mlagents_fast.trainers.flat_adam import FlatAdam
from mlagents_fast.trainers.manual_backward import ManualActorCritic
from mlagents_fast.trainers.mlp_bodies import parameter_order
from mlagents_fast.trainers.ppo_loss import ppo_loss
from mlagents_fast.trainers.schedules import BETA_FLOOR, EPSILON_FLOOR, LEARNING_RATE_FLOOR, decayed
from mlagents_fast.trainers.trajectories import Segments, TrajectoryRing, ring_steps_needed

ADVANTAGE_EPSILON = 1e-10
CONTINUOUS_CLIP = 3.0  # sampled continuous actions are clipped to [-3, 3], then divided by 3


def f32(array: NDArray[Any]) -> NDArray[np.float32]:
    return cast(NDArray[np.float32], array)


def _signal_settings(settings: Any) -> list[tuple[str, float, float]]:
    """(name, gamma, strength) of each reward signal; only `extrinsic` is computed here."""
    signals = []
    for key, signal in dict(settings.reward_signals).items():
        name = str(getattr(key, "value", key)).lower()
        if name != "extrinsic":
            raise UnityTrainerException(f"Reward signal {name!r} is not available yet; only 'extrinsic' is.")
        signals.append((name, float(signal.gamma), float(signal.strength)))
    return signals


def trajectory_means(values: NDArray[np.float32], closes: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Mean of `values` [S, M] over each trajectory of M steps laid one after another, where
    `closes` [M] is True at each trajectory's last step (the last step closes one in any case).
    Returns float64 [S, trajectories], in order. Native: it runs once per update, when a chain
    of numpy calls would run cold."""
    return _native.trajectory_means(np.ascontiguousarray(values, np.float32), np.ascontiguousarray(closes))


def _pinned(shape: tuple[int, ...], dtype: np.dtype[np.generic]) -> NDArray[np.generic]:
    """Page-locked host memory (for an accelerator's non-blocking copies), seen as numpy."""
    return torch.empty(shape, dtype=torch.from_numpy(np.empty(0, dtype)).dtype, pin_memory=True).numpy()


def _numpy(tensor: torch.Tensor) -> NDArray[Any]:
    return tensor.numpy()


def _host_numpy(tensor: torch.Tensor) -> NDArray[Any]:
    return tensor.cpu().numpy()


def _signal_rows(planes: list[torch.Tensor]) -> torch.Tensor:
    """Per-signal planes [B] as one [S, B] tensor (a view when there is one signal)."""
    return planes[0].unsqueeze(0) if len(planes) == 1 else torch.stack(planes)


def _mean(losses: list[torch.Tensor | float], absolute: bool = False) -> float:
    """Mean of per-minibatch losses; tensors (possibly on an accelerator) are stacked first, so
    the update pays one device-to-host transfer, not one per minibatch."""
    if not losses:
        return 0.0
    if isinstance(losses[0], torch.Tensor):
        stacked = torch.stack(cast(list[torch.Tensor], losses))
        return float((stacked.abs() if absolute else stacked).mean().item())
    values = [abs(float(x)) if absolute else float(x) for x in losses]
    return sum(values) / len(values)


class PPOTrainer:
    """Collects experience for one behavior's `num_agents` slots and updates its policy."""

    def __init__(
        self,
        behavior: str,
        spec: BehaviorSpec,
        settings: Any,
        num_agents: int,
        *,
        seed: int = 0,
        device: torch.device | str = "cpu",
        training: bool = True,
    ) -> None:
        self.behavior, self.spec, self.settings = behavior, spec, settings
        self.training = training  # False: act with the policy, never update it (--inference)
        self.hyper, net = settings.hyperparameters, settings.network_settings
        self.device = torch.device(device)
        self.num_agents = num_agents
        self.signals = _signal_settings(settings)
        torch.manual_seed(seed)
        self.rng = _native.Rng(seed)
        common: dict[str, Any] = dict(
            normalize=bool(net.normalize), hidden_units=int(net.hidden_units), num_layers=int(net.num_layers),
            vis_encode_type=str(getattr(net.vis_encode_type, "value", net.vis_encode_type)),
            goal_conditioning_type=str(getattr(net, "goal_conditioning_type", "hyper")),
        )  # fmt: skip
        self.actor = Actor(spec, **common).to(self.device)
        shared = self.actor.network_body if bool(getattr(self.hyper, "shared_critic", False)) else None
        self.critic = Critic(spec, [s[0] for s in self.signals], **common, shared_body=shared).to(self.device)
        # One Adam over actor and critic (a shared body's parameters once), laid out so that the
        # manual backward can run both bodies as one batched body.
        self.optimizer = FlatAdam(parameter_order(self.actor, self.critic), lr=float(self.hyper.learning_rate))
        self._gradients_checked = False
        self.deterministic = bool(getattr(net, "deterministic", False))
        self.normalizers = {i: RunningNormalizer(spec.observation_specs[i].shape[0])
                            for i, _ in self.actor.network_body.vector_inputs()} if net.normalize else {}  # fmt: skip

        action = spec.action_spec
        # `threaded: true`: an update runs on a background thread while collection goes on with
        # copies of the networks (one update behind, as in ML-Agents' threaded trainers); the
        # copies take the new weights when the update is done.
        self.threaded = bool(getattr(settings, "threaded", False)) and training
        self.buffer_size, self.time_horizon = int(self.hyper.buffer_size), int(settings.time_horizon)
        ring_steps = ring_steps_needed(self.buffer_size, num_agents, self.time_horizon, threaded=self.threaded)
        fields = rollout_fields([o.shape for o in spec.observation_specs], action.continuous_size,
                                action.discrete_branches)  # fmt: skip
        self.buffer = RolloutBuffer(ring_steps, num_agents, fields, [s[0] for s in self.signals])
        self.ring = TrajectoryRing(ring_steps, num_agents)
        self.acting_actor, self.acting_critic = self.actor, self.critic
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future[dict[str, list[float]]] | None = None
        if self.threaded:
            self.acting_actor, self.acting_critic = copy.deepcopy(self.actor), copy.deepcopy(self.critic)
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"update-{behavior}")
        # All-vector MLPs skip autograd: a hand-written backward on the same parameters (see
        # trainers/manual_backward.py); other networks (visual, goal-conditioned) use autograd.
        self.manual: ManualActorCritic | None = None
        self.acting_manual: ManualActorCritic | None = None
        if ManualActorCritic.supports(self.actor, self.critic):
            self.manual = ManualActorCritic(self.actor, self.critic)
            self.acting_manual = ManualActorCritic(self.acting_actor, self.acting_critic)
        self.step = 0  # agent-steps taken by this behavior (ML-Agents' trainer step)
        # The number of recorded steps at which each agent's open trajectory reaches time_horizon,
        # and the earliest of them: a step checks one integer, the agents only when one is due.
        self._cut_due = np.full(num_agents, self.time_horizon, np.int64)
        self._next_cut = self.time_horizon
        # Agents whose trajectory was cut at `time_horizon` on the last step: they are finished
        # once the next act has put the observation that follows into the ring.
        self._cut = np.zeros(num_agents, np.bool_)
        self._cut_pending = False
        self._cut_at = np.zeros((ring_steps, num_agents), np.bool_)  # where the ring's trajectories were cut
        # Final observations of interrupted episodes, by flat ring row, until an update estimates them.
        self._final_obs: dict[int, list[NDArray[np.float32]]] = {}
        self.stats: dict[str, list[float]] = defaultdict(list)
        rows = max(num_agents, int(self.hyper.batch_size))
        self._allowed_all = torch.ones(rows, sum(action.discrete_branches), device=self.device)
        self._no_continuous = torch.zeros(rows, 0, device=self.device)
        self._no_discrete = torch.zeros(rows, 0, dtype=torch.int64, device=self.device)
        # Seconds spent in the networks' forward and backward passes (for the benchmarks' share).
        self.network_seconds = 0.0
        self.gradient_steps = 0  # minibatch steps taken (the benchmarks compare work with it)
        self._minibatch_rows = int(self.hyper.batch_size)
        self._gatherer: tuple[Gatherer, dict[str, torch.Tensor]] | None = None
        self._staging: Gatherer | None = None  # an accelerator's update rows, in pinned host memory
        self._extrinsic = np.zeros(num_agents, np.float32)
        self._obs_planes = [f"obs_{i}" for i in range(len(spec.observation_specs))]
        self._returns_planes = [f"returns.{name}" for name, _, _ in self.signals]
        self._value_planes = [f"value_estimates.{name}" for name, _, _ in self.signals]
        self._on_cpu = self.device.type == "cpu"
        self._ends_flat = (cast(NDArray[np.bool_], self.buffer.flat("terminated")),
                           cast(NDArray[np.bool_], self.buffer.flat("truncated")))  # fmt: skip
        self._host = _numpy if self._on_cpu else _host_numpy  # a tensor's values as numpy
        self._signal_returns = np.zeros((len(self.signals), num_agents), np.float32)  # this episode's, per agent

    # ---------------------------------------------------------------- collection
    def act(self, batch: StepBatch, actions: ActionTuple) -> None:
        """Choose actions for every slot from `batch.obs` and write them into `actions`.

        These observations also close the trajectories cut at `time_horizon` on the last step
        (an update bootstraps them from these observations' values); when more than
        `buffer_size` steps of finished trajectories wait, the policy is updated first.
        """
        if self._on_cpu:  # (a no-op .to() still costs a call per step)
            obs = [torch.from_numpy(o) for o in batch.obs]
        else:
            obs = [torch.from_numpy(o).to(self.device, non_blocking=True) for o in batch.obs]
        self._take_finished_update()
        # This step's observations go into the ring first: an update below reads them as the next
        # observations of the trajectories cut on the last step. (The row holds no untrained step.)
        t, buf = self.ring.row, self.buffer.arrays
        for name, o in zip(self._obs_planes, batch.obs, strict=True):
            buf[name][t] = o
        values, out = self._forward(obs, batch.action_mask)
        host = self._host
        if self._cut_pending:  # their next observations are in the ring now (the update estimates the bootstrap)
            self.ring.finish(self._cut)
            self._cut[...] = False
            self._cut_pending = False
        if self.ring.ready_rows > self.buffer_size:  # ML-Agents: update_buffer.num_experiences > buffer_size
            if self._process_ready_trajectories():
                values, out = self._forward(obs, batch.action_mask)  # with the new weights and statistics
        if self.training:  # as ML-Agents, the statistics only move while the policy trains
            for index, normalizer in self.normalizers.items():
                normalizer.update(batch.obs[index])
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
        mean_entropy = out.mean_entropy if out.mean_entropy is not None else float(out.entropy.mean())
        self.stats["Policy/Entropy"].append(mean_entropy)

    def record(self, batch: StepBatch) -> None:
        """Store the outcome of the step just taken (rewards, ends of episodes and trajectories)."""
        t, buf = self.ring.row, self.buffer.arrays
        # The extrinsic signal is the agent's reward plus its group's (ML-Agents' ExtrinsicRewardProvider).
        np.add(batch.reward, batch.group_reward, out=self._extrinsic)
        rewards = buf["rewards"]
        for s, (_, _, strength) in enumerate(self.signals):
            paid = np.multiply(self._extrinsic, strength, out=rewards[s, t])
            np.add(self._signal_returns[s], paid, out=self._signal_returns[s])
        buf["terminated"][t] = batch.terminated
        buf["truncated"][t] = batch.truncated
        if self.training and np.count_nonzero(batch.truncated):  # (count_nonzero: a quarter of any()'s cost)
            # An interrupted episode bootstraps from the value of its final observation, estimated
            # when an update takes the trajectory; until then the observation waits here (not kept
            # when nothing will train on it).
            ended = np.flatnonzero(batch.truncated)
            final = [o[ended] for o in batch.terminal_obs]  # copies
            for j, agent in enumerate(ended.tolist()):
                self._final_obs[t * self.num_agents + agent] = [f[j] for f in final]
        done = batch.terminated | batch.truncated
        any_done = bool(np.count_nonzero(done))
        if any_done:
            self.stats["Environment/Cumulative Reward"] += batch.episode_return[done].tolist()
            # ML-Agents' AgentProcessor counts the decisions after the first: K actions report K - 1.
            self.stats["Environment/Episode Length"] += np.maximum(batch.episode_length[done] - 1, 0).tolist()
            for s, (name, _, _) in enumerate(self.signals):  # what each signal paid over the episode
                self.stats[f"Policy/{name.capitalize()} Reward"] += self._signal_returns[s, done].tolist()
                self._signal_returns[s, done] = 0.0
        # A trajectory also ends after `time_horizon` steps, bootstrapped from the next value.
        recorded, cut = self.ring.written + 1, self._cut
        if any_done:  # a new trajectory starts with the next step
            self._cut_due[done] = recorded + self.time_horizon
        if recorded >= self._next_cut:
            np.greater_equal(recorded, self._cut_due, out=cut)
            self._cut_pending = bool(np.count_nonzero(cut))
            if self._cut_pending:
                buf["truncated"][t] |= cut
                self._cut_due[cut] = recorded + self.time_horizon
        if any_done or self._cut_pending:
            self._next_cut = int(self._cut_due.min())
        self._cut_at[t] = cut
        self.ring.advance()
        if any_done:
            self.ring.finish(done)
        self.step += self.num_agents

    # ---------------------------------------------------------------- update
    def _process_ready_trajectories(self) -> bool:
        """Hand the finished trajectories to an update (or, when not training, only report their
        value estimates). True when the acting networks changed and should act again."""
        self.wait_for_update()  # threaded: the update in flight gives its steps back first
        segments = self.ring.take()
        if not self.training:
            rows = segments.flat_rows()
            values = np.stack([self.buffer.flat(name)[rows] for name in self._value_planes])
            self._merge_stats(self._value_estimate_stats(f32(values), rows))
            self.ring.release()
            return False
        # As ML-Agents updates the normalizer with each trajectory before estimating its values and
        # training on it, the update and then the policy see the statistics of every step so far
        # (the steps before the first update are acted with the prior, mean 0 and variance 1).
        if self.threaded:
            self._start_update(segments)
            self._sync_normalizers(self.acting_actor, self.acting_critic)
        else:
            self._sync_normalizers(self.actor, self.critic)
            with hierarchical_timer("_update_policy"):
                self._merge_stats(self.update(segments, self.step))
            self.ring.release()
        return True

    def update(self, segments: Segments, step: int) -> dict[str, list[float]]:
        """One PPO update on the trajectories of `segments`; schedules are taken at `step`.
        Returns the stats."""
        rows, values = self._advantages(segments)
        hp, settings = self.hyper, self.settings
        max_steps = int(settings.max_steps)
        lr = decayed(hp.learning_rate_schedule, float(hp.learning_rate), LEARNING_RATE_FLOOR, step, max_steps)
        epsilon = decayed(hp.epsilon_schedule, float(hp.epsilon), EPSILON_FLOOR, step, max_steps)
        beta = decayed(hp.beta_schedule, float(hp.beta), BETA_FLOOR, step, max_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        count = len(rows)
        size = min(self._minibatch_rows, count)
        keys, fetch = self._minibatch_source(rows)
        policy_losses: list[torch.Tensor | float] = []
        value_losses: list[torch.Tensor | float] = []
        for _ in range(int(hp.num_epoch)):
            order = keys(_native.shuffled_indices(self.rng, count))
            for start in range(0, count - size + 1, size):  # a last partial minibatch is dropped, as ML-Agents does
                policy_loss, value_loss = self._minibatch_step(fetch(order[start : start + size]), epsilon, beta)
                policy_losses.append(policy_loss)
                value_losses.append(value_loss)
        policy_mean, value_mean = _mean(policy_losses, absolute=True), _mean(value_losses)
        stats = {"Losses/Policy Loss": [policy_mean], "Losses/Value Loss": [value_mean],
                 "Policy/Learning Rate": [lr], "Policy/Epsilon": [epsilon], "Policy/Beta": [beta]}  # fmt: skip
        stats.update(self._value_estimate_stats(values, rows))
        return stats

    def _value_estimate_stats(self, values: NDArray[np.float32], rows: NDArray[np.int64]) -> dict[str, list[float]]:
        """Policy/<Signal> Value Estimate: one mean per trajectory, as ML-Agents adds one per
        trajectory it processes (training or not). `values` [S, M] are those of the flat ring
        `rows`, agent by agent in time order; every agent's steps end with a trajectory's end."""
        ends = self._ends_flat
        means = trajectory_means(values, ends[0][rows] | ends[1][rows])
        return {f"Policy/{name.capitalize()} Value Estimate": means[s].tolist() for s, (name, _, _) in
                enumerate(self.signals)}  # fmt: skip

    def _start_update(self, segments: Segments) -> None:
        """Threaded mode: hand the trajectories to the update thread; collection goes on."""
        assert self._executor is not None and self._pending is None
        self._sync_normalizers(self.actor, self.critic)  # the learner is idle: safe to write
        self._pending = self._executor.submit(self.update, segments, self.step)

    def _take_finished_update(self) -> None:
        if self._pending is not None and self._pending.done():
            self.wait_for_update()

    def wait_for_update(self) -> None:
        """Threaded mode: finish the update in flight and give its weights to the acting networks."""
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        try:
            self._merge_stats(pending.result())
        finally:
            self.ring.release()
        self.acting_actor.load_state_dict(self.actor.state_dict())
        self.acting_critic.load_state_dict(self.critic.state_dict())

    def close(self) -> None:
        self.wait_for_update()
        if self._executor is not None:
            self._executor.shutdown()

    def _merge_stats(self, stats: dict[str, list[float]]) -> None:
        for key, values in stats.items():
            self.stats[key] += values

    def _advantages(self, segments: Segments) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """GAE of the trajectories in `segments`, written into the buffer's advantages and returns.

        Returns the flat ring rows of the trajectories' steps (agent by agent in time order) and
        their value estimates [S, M]. GAE runs over the window of steps that covers every segment;
        each trajectory ends inside its segment, with an episode end or a time_horizon cut, so the
        window's other steps never enter the recursion.
        """
        buf, window = self.buffer.arrays, segments.window_rows()
        selected = segments.selected()
        rows = segments.flat_rows(selected, window)
        fresh = self._estimate_values(rows, selected, window)
        # The window's steps, in time order (copies: the window may wrap around the ring).
        rewards, values = f32(np.take(buf["rewards"], window, axis=1)), f32(np.take(buf["value_estimates"], window, 1))
        truncated_values = f32(np.take(buf["truncated_values"], window, axis=1))
        terminated, truncated = np.take(buf["terminated"], window, axis=0), np.take(buf["truncated"], window, axis=0)
        gammas = np.array([s[1] for s in self.signals], np.float32)
        unused_bootstrap = np.zeros((len(self.signals), self.num_agents), np.float32)
        advantages, returns = gae(
            rewards, values, terminated, truncated, unused_bootstrap, gammas, float(self.hyper.lambd),
            truncated_values,
        )  # fmt: skip
        by_agent = selected.T  # the order of `rows`
        mean_advantage = (advantages[0] if len(advantages) == 1 else advantages.mean(axis=0)).T[by_agent]
        normalized = (mean_advantage - mean_advantage.mean()) / (mean_advantage.std() + ADVANTAGE_EPSILON)
        cast(NDArray[np.float32], self.buffer.flat("advantages"))[rows] = normalized
        for s, name in enumerate(self._returns_planes):
            cast(NDArray[np.float32], self.buffer.flat(name))[rows] = returns[s].T[by_agent]
        return rows, fresh

    def _estimate_values(
        self, rows: NDArray[np.int64], selected: NDArray[np.bool_], window: NDArray[np.int64]
    ) -> NDArray[np.float32]:
        """Value estimates of the trajectories' steps (flat ring `rows`), and the bootstrap values
        of their time_horizon cuts, by the critic as it is now, written over those it acted with.

        As ML-Agents' get_trajectory_value_estimates when a trajectory is processed: a trajectory
        that waited for this update was partly acted with the critic before the last one, and its
        clipped value loss is anchored to these estimates. Returns them, [S, len(rows)]."""
        buf, agents = self.buffer, self.num_agents
        fresh = self._critic_values(rows)
        for s, value in enumerate(fresh):
            cast(NDArray[np.float32], buf.flat(self._value_planes[s]))[rows] = value
        cut_at = self._cut_at[window]
        steps, cut_agents = np.nonzero(selected & cut_at)
        if len(steps):  # a cut bootstraps from the value of the agent's next observation, one ring row on
            after = (window[steps] + 1) % self.ring.ring_steps * agents + cut_agents
            self._write_bootstraps(window[steps] * agents + cut_agents, self._critic_values(after))
        interrupted = selected & ~cut_at & cast(NDArray[np.bool_], self.buffer["truncated"][window])
        steps, ended_agents = np.nonzero(interrupted)
        if len(steps):  # an interrupted episode bootstraps from the value of its final observation
            ended_rows = window[steps] * agents + ended_agents
            final = [self._final_obs.pop(int(row)) for row in ended_rows]
            obs = [np.stack([f[i] for f in final]) for i in range(len(self._obs_planes))]
            self._write_bootstraps(ended_rows, self._critic_on(obs))
        return fresh

    def _write_bootstraps(self, rows: NDArray[np.int64], values: NDArray[np.float32]) -> None:
        for s, value in enumerate(values):
            cast(NDArray[np.float32], self.buffer.flat(f"truncated_values.{self.signals[s][0]}"))[rows] = value

    def _critic_values(self, rows: NDArray[np.int64]) -> NDArray[np.float32]:
        """The learning critic's values [S, len(rows)] of the observations at flat ring `rows`."""
        return self._critic_on([np.take(self.buffer.flat(name), rows, axis=0) for name in self._obs_planes])

    def _critic_on(self, obs: list[NDArray[Any]], chunk: int = 4096) -> NDArray[np.float32]:
        """The learning critic's values [S, B] of these observations ([B, ...] each), in chunks."""
        rows = len(obs[0])
        out = np.empty((len(self.signals), rows), np.float32)
        with torch.inference_mode():
            for start in range(0, rows, chunk):
                part = [torch.from_numpy(o[start : start + chunk]).to(self.device) for o in obs]
                started = time.perf_counter()
                out[:, start : start + chunk] = self.critic(part).cpu().numpy()
                self.network_seconds += time.perf_counter() - started
        return out

    def _minibatch_planes(self) -> list[str]:
        return [p for p in self.buffer.planes if p not in ("terminated", "truncated")
                and not p.startswith(("rewards.", "truncated_values."))]  # fmt: skip

    def _minibatch_source(
        self, rows: NDArray[np.int64]
    ) -> tuple[Callable[[NDArray[np.int64]], Any], Callable[[Any], dict[str, torch.Tensor]]]:
        """(keys, fetch) for the flat ring `rows` of this update: `keys(order)` turns an epoch's
        order of positions in `rows` into what `fetch(keys[a:b])` reads a minibatch from.

        On the CPU the keys are ring rows, and a native gather fills preallocated arrays that
        torch views without a copy. On an accelerator this update's rows are gathered once into
        pinned memory and go over in one host-to-device copy, as does each epoch's order;
        minibatches are indexed there.
        """
        if self._on_cpu:
            if self._gatherer is None:
                gatherer = self.buffer.gatherer(self._minibatch_rows, self._minibatch_planes())
                self._gatherer = gatherer, {k: torch.from_numpy(v) for k, v in gatherer.batch.items()}
            gatherer, tensors = self._gatherer

            def gather(ring_rows: NDArray[np.int64]) -> dict[str, torch.Tensor]:
                gatherer.gather(ring_rows)
                return tensors

            return (lambda order: rows[order]), gather
        if self._staging is None:  # pinned once, as large as the ring: an update never trains more
            self._staging = self.buffer.gatherer(self.buffer.rows, self._minibatch_planes(), _pinned)
        staged = self._staging.gather(rows)
        on_device = {k: torch.from_numpy(v).to(self.device, non_blocking=True) for k, v in staged.items()}

        def index(at: torch.Tensor) -> dict[str, torch.Tensor]:
            return {k: v.index_select(0, at) for k, v in on_device.items()}

        return (lambda order: torch.from_numpy(order).to(self.device, non_blocking=True)), index

    def _minibatch_step(
        self, mb: dict[str, torch.Tensor], epsilon: float, beta: float
    ) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """One gradient step on a minibatch already on the device; returns the (detached) losses."""
        obs = [mb[name] for name in self._obs_planes]
        action = self.spec.action_spec
        size = obs[0].shape[0]
        if action.continuous_size and action.discrete_branches:
            old = torch.cat([mb["continuous_log_probs"], mb["discrete_log_probs"]], dim=1)
        else:
            old = mb["continuous_log_probs"] if action.continuous_size else mb["discrete_log_probs"]
        returns = _signal_rows([mb[name] for name in self._returns_planes])
        old_values = _signal_rows([mb[name] for name in self._value_planes])
        started = time.perf_counter()
        if self.manual is not None:
            policy_loss, value_loss = self.manual.ppo_step(
                obs, mb.get("action_mask"), mb.get("continuous_action"), mb.get("discrete_action"), old,
                mb["advantages"], old_values, returns, epsilon, beta,
            )  # fmt: skip
            self.network_seconds += time.perf_counter() - started
        else:
            continuous = mb["continuous_action"] if action.continuous_size else self._no_continuous[:size]
            if action.discrete_branches:
                discrete, allowed = mb["discrete_action"].long(), (~mb["action_mask"]).float()
            else:
                discrete, allowed = self._no_discrete[:size], self._allowed_all[:size]
            log_probs, entropy = self.actor.evaluate(obs, allowed, continuous, discrete)
            values = self.critic(obs)  # [S, B]
            loss, policy_loss, value_loss = ppo_loss(log_probs, values, entropy, old, mb["advantages"].unsqueeze(1),
                                                     old_values, returns, epsilon, beta)  # fmt: skip
            self.optimizer.zero_grad()
            loss.backward()
            self.network_seconds += time.perf_counter() - started
            if not self._gradients_checked:
                self.optimizer.check_gradients_in_place()
                self._gradients_checked = True
        self.optimizer.step()
        self.gradient_steps += 1
        return policy_loss, value_loss

    # ---------------------------------------------------------------- helpers
    def _forward(
        self, obs: list[torch.Tensor], action_mask: NDArray[np.bool_] | None
    ) -> tuple[torch.Tensor, ActionOutput]:
        """Values and actions for one step of every agent: the one batched forward per step."""
        started = time.perf_counter()
        with torch.inference_mode():
            if self.acting_manual is not None:
                values, out = self.acting_manual.act(obs, action_mask, self.deterministic)
            else:
                values = self.acting_critic(obs)
                out = self.acting_actor(obs, self._allowed(action_mask), deterministic=self.deterministic)
        self.network_seconds += time.perf_counter() - started
        return values, out

    def _allowed(self, action_mask: NDArray[np.bool_] | None) -> torch.Tensor:
        if action_mask is None:
            return self._allowed_all
        return torch.from_numpy(~action_mask).to(self.device, torch.float32)

    def _sync_normalizers(self, *networks: Actor | Critic) -> None:
        """Copy the native running statistics into these networks' normalizer buffers."""
        if not self.normalizers:
            return
        for index, normalizer in self.normalizers.items():
            mean = torch.as_tensor(normalizer.mean, dtype=torch.float32)
            variance = torch.as_tensor(normalizer.variance, dtype=torch.float32)
            for network in networks:
                cast(VectorInput, network.network_body.processors[index]).set_statistics(mean, variance)

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs, as tensors and plain values (loadable with weights_only).

        Module names follow ML-Agents' checkpoints ("Policy", "Optimizer:critic", ...).
        """
        self.wait_for_update()
        state: dict[str, Any] = {
            "Policy": self.actor.state_dict(),
            "Optimizer:critic": self.critic.state_dict(),
            "Optimizer:value_optimizer": self.optimizer.state_dict(),
            "global_step": self.step,
            "rng": {
                "native": [int(w) for w in self.rng.state()],
                "torch": torch.get_rng_state(),
            },
        }
        for index, normalizer in self.normalizers.items():
            state[f"normalizer:obs_{index}"] = {k: torch.from_numpy(np.asarray(v)) for k, v in
                                                normalizer.state_dict().items()}  # fmt: skip
        return state

    def load_state_dict(self, state: dict[str, Any], *, reset_step: bool = False) -> None:
        """Restore a checkpoint. `reset_step` (--initialize-from, init_path) loads the networks,
        normalizer and optimizer as ML-Agents does, but keeps the step count (so the schedules)
        at zero and this run's own random streams. Trajectories start afresh, as in a new
        ML-Agents process: steps not trained yet are dropped."""
        self.wait_for_update()
        self.actor.load_state_dict(state["Policy"])
        self.critic.load_state_dict(state["Optimizer:critic"])
        for index, normalizer in self.normalizers.items():
            saved = state.get(f"normalizer:obs_{index}")
            if saved is not None:
                normalizer.load_state_dict({k: v.numpy() for k, v in saved.items()})
        self.optimizer.load_state_dict(state["Optimizer:value_optimizer"])
        if not reset_step:
            self.step = int(state["global_step"])
            rng = state.get("rng", {})
            if "native" in rng:
                self.rng.set_state(rng["native"])
            if "torch" in rng:
                torch.set_rng_state(rng["torch"])
        # The networks keep the statistics they were saved with (those baked into the ONNX of the
        # same step), so the loaded policy is the saved one; the running statistics reach them at
        # the next update.
        if self.threaded:
            self.acting_actor.load_state_dict(self.actor.state_dict())
            self.acting_critic.load_state_dict(self.critic.state_dict())
        self.ring.drop_unfinished()
        self._final_obs.clear()
        self._cut_due[...] = self.ring.written + self.time_horizon
        self._next_cut = self.ring.written + self.time_horizon
        self._cut[...] = False
        self._cut_pending = False

    def drain_stats(self) -> dict[str, list[float]]:
        """The values gathered since the last call, by ML-Agents stat name."""
        stats, self.stats = self.stats, defaultdict(list)
        return dict(stats)
