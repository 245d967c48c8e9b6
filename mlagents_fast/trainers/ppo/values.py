"""Value estimates of the trajectories an update takes, by the critic that is about to train.

As ML-Agents' get_trajectory_value_estimates when a trajectory is processed: a trajectory
that waited for this update was partly acted with an older critic, and its clipped value
loss is anchored to these estimates. Bootstraps are estimated here too: a time_horizon cut
from the agent's next observation (one ring row on), an interrupted episode from its final
observation.
"""

from __future__ import annotations

import time
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast.buffer.rollout_ring import RolloutRing
from mlagents_fast.buffer.trajectories import Segments
from mlagents_fast.networks.actor_critic import Critic
from mlagents_fast.trainers.stats import NetworkClock


class ValueEstimator:
    def __init__(self, ring: RolloutRing, critic: Critic, signals: list[str], device: torch.device,
                 clock: NetworkClock) -> None:  # fmt: skip
        self.ring, self.critic, self.device, self.clock = ring, critic, device, clock
        self.obs_planes = [name for name in ring.buffer.planes if name.startswith("obs_")]
        self.value_planes = [f"value_estimates.{name}" for name in signals]
        self.bootstrap_planes = [f"truncated_values.{name}" for name in signals]

    def estimate(self, segments: Segments, rows: NDArray[np.int64], selected: NDArray[np.bool_],
                 window: NDArray[np.int64]) -> NDArray[np.float32]:  # fmt: skip
        """Write the values of the trajectories' steps (flat ring `rows`) and of their bootstraps
        over those they were acted with; returns the steps' values [S, len(rows)]."""
        buf, agents = self.ring.buffer, self.ring.agents
        fresh = self.step_values(rows)
        for s, value in enumerate(fresh):
            cast(NDArray[np.float32], buf.flat(self.value_planes[s]))[rows] = value
        cut_at = self.ring.cut_at[window]
        steps, cut_agents = np.nonzero(selected & cut_at)
        if len(steps):  # a cut bootstraps from the value of the agent's next observation, one ring row on
            after = (window[steps] + 1) % self.ring.ring.ring_steps * agents + cut_agents
            cut_rows = window[steps] * agents + cut_agents
            self._write_bootstraps(cut_rows, self.values_after(cut_rows, self.observations(after)))
        interrupted = selected & ~cut_at & cast(NDArray[np.bool_], buf["truncated"][window])
        steps, ended_agents = np.nonzero(interrupted)
        if len(steps):  # an interrupted episode bootstraps from the value of its final observation
            ended_rows = window[steps] * agents + ended_agents
            final = [self.ring.final_obs.pop(int(row)) for row in ended_rows]
            obs = [np.stack([f[i] for f in final]) for i in range(len(self.obs_planes))]
            self._write_bootstraps(ended_rows, self.values_after(ended_rows, obs))
        return fresh

    def step_values(self, rows: NDArray[np.int64]) -> NDArray[np.float32]:
        """The values [S, len(rows)] of the steps at flat ring `rows`."""
        return self.critic_values(rows)

    def values_after(self, step_rows: NDArray[np.int64], obs: list[NDArray[Any]]) -> NDArray[np.float32]:
        """The values of `obs`, the observations after the trajectories that end at `step_rows`."""
        return self.critic_on(obs)

    def observations(self, rows: NDArray[np.int64]) -> list[NDArray[Any]]:
        return [np.take(self.ring.buffer.flat(name), rows, axis=0) for name in self.obs_planes]

    def _write_bootstraps(self, rows: NDArray[np.int64], values: NDArray[np.float32]) -> None:
        for s, value in enumerate(values):
            cast(NDArray[np.float32], self.ring.buffer.flat(self.bootstrap_planes[s]))[rows] = value

    def critic_values(self, rows: NDArray[np.int64]) -> NDArray[np.float32]:
        """The learning critic's values [S, len(rows)] of the observations at flat ring `rows`."""
        return self.critic_on(self.observations(rows))

    def critic_on(self, obs: list[NDArray[Any]], chunk: int = 4096) -> NDArray[np.float32]:
        """The learning critic's values [S, B] of these observations ([B, ...] each), in chunks."""
        rows = len(obs[0])
        out = np.empty((len(self.value_planes), rows), np.float32)
        with torch.inference_mode():
            for start in range(0, rows, chunk):
                part = [torch.from_numpy(o[start : start + chunk]).to(self.device) for o in obs]
                started = time.perf_counter()
                out[:, start : start + chunk] = self.critic(part).cpu().numpy()
                self.clock.seconds += time.perf_counter() - started
        return out
