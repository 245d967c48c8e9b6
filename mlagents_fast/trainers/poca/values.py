"""MA-POCA's value and baseline estimates for an update, by the centralized critic about to train.

As ML-Agents' POCA trainer processes a trajectory: every step gets the group's value (its own and
its present groupmates' observations) and the agent's counterfactual baseline (its observations,
and its groupmates' with the actions they took). Bootstraps are group values too: a time_horizon
cut from the next step's observations; an interrupted episode, or one the agent ended before its
group did (an early finisher still earns what the group goes on to earn), from its final
observations beside its groupmates' next ones. Only an episode that ended with the whole group
bootstraps from 0.
"""

from __future__ import annotations

import time
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast.buffer.rollout_ring import RolloutRing
from mlagents_fast.buffer.trajectories import Segments
from mlagents_fast.networks.poca import POCACritic, flat_actions
from mlagents_fast.spec import ActionSpec
from mlagents_fast.trainers.poca.groups import group_all_done, groupmates
from mlagents_fast.trainers.ppo.values import ValueEstimator
from mlagents_fast.trainers.stats import NetworkClock

CHUNK = 4096


class POCAValueEstimator(ValueEstimator):
    def __init__(self, ring: RolloutRing, critic: POCACritic, signals: list[str], action: ActionSpec,
                 device: torch.device, clock: NetworkClock) -> None:  # fmt: skip
        super().__init__(ring, critic, signals, device, clock)  # type: ignore[arg-type]
        self.poca = critic
        self.action = action
        self.baseline_planes = [f"baseline_estimates.{name}" for name in signals]
        self.mates = np.zeros((0, 0), np.int64)  # the update rows' groupmates (flat ring rows, -1 none)
        self._rows = self._sorter = np.zeros(0, np.int64)
        self.baselines = np.zeros((len(signals), 0), np.float32)  # the update rows' baselines [S, R]
        # Episodes that ended before their group's: GAE bootstraps them as if interrupted.
        self.continues = np.zeros((ring.ring.ring_steps, ring.agents), np.bool_)

    def estimate(self, segments: Segments, rows: NDArray[np.int64], selected: NDArray[np.bool_],
                 window: NDArray[np.int64]) -> NDArray[np.float32]:  # fmt: skip
        buf, agents = self.ring.buffer, self.ring.agents
        group_id = cast(NDArray[np.int32], buf.flat("group_id"))
        absent = cast(NDArray[np.bool_], buf.flat("absent"))
        self.mates = groupmates(rows, group_id, absent, agents)
        self._rows, self._sorter = rows, np.argsort(rows, kind="stable")
        values, baselines = self.step_values_and_baselines(rows)
        for s in range(len(self.value_planes)):
            cast(NDArray[np.float32], buf.flat(self.value_planes[s]))[rows] = values[s]
            cast(NDArray[np.float32], buf.flat(self.baseline_planes[s]))[rows] = baselines[s]
        self.baselines = baselines
        cut_at = self.ring.cut_at
        truncated = cast(NDArray[np.bool_], buf["truncated"])
        ended = self.episode_ends()
        steps, slots = np.nonzero(selected & cut_at[window])
        if len(steps):  # a cut: the group's value at the next step
            cut_rows = window[steps] * agents + slots
            self._write_bootstraps(cut_rows, self.bootstrap_values(self.observations(self._after(cut_rows)), cut_rows))
        self.continues[window] = False
        steps, slots = np.nonzero(selected & ended.reshape(-1, agents)[window])
        if len(steps):
            ended_rows = window[steps] * agents + slots
            final = {row: self.ring.final_obs.pop(row) for row in ended_rows.tolist() if row in self.ring.final_obs}
            early = ~group_all_done(ended_rows, group_id, absent, ended, agents)
            interrupted = truncated.reshape(-1)[ended_rows]
            needs = (early | interrupted) & np.array([row in final for row in ended_rows.tolist()], np.bool_)
            bootstrap_rows = ended_rows[needs]
            if len(bootstrap_rows):
                obs = [
                    np.stack([final[row][i] for row in bootstrap_rows.tolist()]) for i in range(len(self.obs_planes))
                ]
                self._write_bootstraps(bootstrap_rows, self.bootstrap_values(obs, bootstrap_rows))
            continuing = ended_rows[early & needs & ~interrupted]
            self.continues.reshape(-1)[continuing] = True
        return values

    def positions_of(self, ring_rows: NDArray[np.int64]) -> NDArray[np.int64]:
        """The positions of `ring_rows` among the rows of the last `estimate`."""
        found: NDArray[np.int64] = self._sorter[np.searchsorted(self._rows, ring_rows, sorter=self._sorter)]
        return found

    def episode_ends(self) -> NDArray[np.bool_]:
        """Flat ring plane: True where an agent's episode ended (a time_horizon cut is not an end)."""
        buf = self.ring.buffer
        terminated, truncated = cast(NDArray[np.bool_], buf["terminated"]), cast(NDArray[np.bool_], buf["truncated"])
        return (terminated | (truncated & ~self.ring.cut_at)).reshape(-1)

    # The two estimates a critic with memory makes its own way (recurrent.py).
    def step_values_and_baselines(self, rows: NDArray[np.int64]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Values and baselines [S, R] of the update's flat ring `rows` (their groupmates `self.mates`)."""
        return self._values_and_baselines(self.observations(rows), self.mates, with_baselines=True)

    def bootstrap_values(self, own: list[NDArray[Any]], last_rows: NDArray[np.int64]) -> NDArray[np.float32]:
        """The group's values [S, R] of `own` observations after the trajectories that end at the flat
        ring `last_rows`, beside the groupmates present at the step after."""
        values, _ = self._values_and_baselines(own, self.mates_after(last_rows), with_baselines=False)
        return values

    def mates_after(self, last_rows: NDArray[np.int64]) -> NDArray[np.int64]:
        """The present groupmates at the step after each of `last_rows` (the agent's own slot left out)."""
        buf = self.ring.buffer
        return groupmates(self._after(last_rows), cast(NDArray[np.int32], buf.flat("group_id")),
                          cast(NDArray[np.bool_], buf.flat("absent")), self.ring.agents)  # fmt: skip

    def _after(self, rows: NDArray[np.int64]) -> NDArray[np.int64]:
        """The same agents' flat ring rows one step later."""
        agents = self.ring.agents
        return (rows // agents + 1) % self.ring.ring.ring_steps * agents + rows % agents

    def _values_and_baselines(self, own: list[NDArray[Any]], mates: NDArray[np.int64],
                              with_baselines: bool) -> tuple[NDArray[np.float32], NDArray[np.float32]]:  # fmt: skip
        """Values (and baselines) [S, R] of `own` observations [R, ...] with groupmates `mates` [R, M]."""
        count, signals = len(own[0]), len(self.value_planes)
        values = np.empty((signals, count), np.float32)
        baselines = np.empty((signals, count if with_baselines else 0), np.float32)
        with torch.inference_mode():
            for start in range(0, count, CHUNK):
                part = slice(start, start + CHUNK)
                tensors = self.group_tensors([o[part] for o in own], mates[part])
                started = time.perf_counter()
                values[:, part] = self.poca.value(*tensors.members()).cpu().numpy()
                if with_baselines:
                    baselines[:, part] = self.poca.baseline(*tensors.counterfactual()).cpu().numpy()
                self.clock.seconds += time.perf_counter() - started
        return values, baselines

    def group_tensors(self, own: list[NDArray[Any]], mates: NDArray[np.int64]) -> GroupTensors:
        """The critic's inputs for rows with observations `own` and groupmates `mates` (ring rows)."""
        buf, device = self.ring.buffer, self.device
        safe = np.maximum(mates, 0)
        mate_obs = [torch.from_numpy(np.take(buf.flat(name), safe, axis=0)).to(device) for name in self.obs_planes]
        continuous = discrete = None
        if self.action.continuous_size:
            continuous = torch.from_numpy(np.take(buf.flat("continuous_action"), safe, axis=0)).to(device)
        if self.action.discrete_branches:
            discrete = torch.from_numpy(np.take(buf.flat("discrete_action"), safe, axis=0)).to(device)
        return GroupTensors(
            [torch.from_numpy(np.ascontiguousarray(o)).to(device) for o in own], mate_obs,
            flat_actions(continuous, discrete, self.action.discrete_branches),
            torch.from_numpy(mates >= 0).to(device),
        )  # fmt: skip


class GroupTensors:
    """One batch of the critic's inputs: the agents' observations and their groupmates'."""

    def __init__(self, own: list[torch.Tensor], mates: list[torch.Tensor], mate_actions: torch.Tensor,
                 present: torch.Tensor) -> None:  # fmt: skip
        self.own, self.mates, self.mate_actions, self.present = own, mates, mate_actions, present

    def members(self) -> tuple[list[torch.Tensor], torch.Tensor]:
        """(every member's observations [B, 1 + M, ...], who is present [B, 1 + M]) for `value`."""
        obs = [torch.cat([o.unsqueeze(1), m], dim=1) for o, m in zip(self.own, self.mates, strict=True)]
        own = torch.ones(self.present.shape[0], 1, dtype=torch.bool, device=self.present.device)
        return obs, torch.cat([own, self.present], dim=1)

    def counterfactual(self) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """The arguments of `baseline`."""
        return self.own, self.mates, self.mate_actions, self.present
