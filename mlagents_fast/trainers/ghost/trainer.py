"""Self-play (ML-Agents' ghost trainer) around a PPO, POCA or SAC trainer, on a behavior whose
slots belong to teams (envs/teams.py's TeamsVectorEnv makes one of a name's `?team=` behaviors;
Tennis has its two teams in one behavior).

One team learns at a time (`TeamRotation`, shared by every self-play behavior of the run, so an
asymmetric game's behaviors take turns too): the wrapped trainer acts for every slot, but sees the
other teams' slots as absent (it trains nothing on them and counts no step of theirs); their
actions are then replaced by a snapshot's (`SnapshotWindow`: the learner's weights saved every
`save_steps`, swapped in every `swap_steps` steps of the opponents and whenever the learning team
changes, the latest with probability `play_against_latest_model_ratio`). The learning team's
trainer hands the turn over after `team_change` of its steps, or when it stops training. Each game
the learning team finishes (not interrupted) moves the ELO (`Self-play/ELO`); it is kept with the
checkpoints. Only the learning team's episodes are reported.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from mlagents_fast.config.trainer_settings import SelfPlaySettings
from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.spec import ActionTuple
from mlagents_fast.trainers.ghost.snapshots import LATEST, SnapshotWindow
from mlagents_fast.trainers.ghost.teams import TeamRotation, game_result
from mlagents_fast.trainers.ppo.trainer import CONTINUOUS_CLIP, PPOTrainer
from mlagents_fast.trainers.stats import Stat

logger = logging.getLogger(__name__)


class GhostTrainer:
    def __init__(self, inner: Any, self_play: SelfPlaySettings, teams: NDArray[np.int32],
                 rotation: TeamRotation | None = None, seed: int = 0) -> None:  # fmt: skip
        """`inner`: the trainer of the behavior (its `actor` is what the snapshots hold); `teams`:
        the team of each of its slots; `rotation`: the run's (a new one when this is its only
        self-play behavior)."""
        self.inner, self.teams, self.self_play, self.seed = inner, teams, self_play, seed
        self.behavior, self.spec, self.settings = inner.behavior, inner.spec, inner.settings
        self.opponent = copy.deepcopy(inner.actor)
        self.window = SnapshotWindow(self_play, lambda: copy.deepcopy(inner.actor.state_dict()), seed)
        self.rotation = rotation if rotation is not None else TeamRotation()
        for team in dict.fromkeys(teams.tolist()):
            self.rotation.subscribe(team, self)
        self._turn_seen, self._turn_start = self.rotation.turn, inner.step
        self.opponent_steps = 0
        memory = self.settings.network_settings.memory
        self._opponent_memory = None if memory is None else np.zeros((len(teams), memory.memory_size), np.float32)
        self._absent = np.zeros(len(teams), np.bool_)
        self._opponent = np.zeros(len(teams), np.bool_)  # the slots the snapshot plays
        self._sides_of = -1  # the learning team `_learning` and `_opponents` were made for
        self._learning = np.zeros(len(teams), np.bool_)
        self._opponents = np.zeros(0, np.intp)
        self._view: tuple[StepBatch, StepBatch] | None = None  # (the environment's batch, the learner's view)
        self._elo_stats: list[float] = []

    @property
    def step(self) -> int:
        return self.inner.step

    @property
    def training(self) -> bool:
        return self.inner.training

    @training.setter
    def training(self, value: bool) -> None:
        self.inner.training = value

    @property
    def current_elo(self) -> float:
        return self.window.current_elo

    @property
    def opponent_elo(self) -> float:
        return self.window.opponent_elo

    def change_current_elo(self, change: float) -> None:
        self.window.change_current_elo(change)

    def change_opponent_elo(self, change: float) -> None:
        self.window.change_opponent_elo(change)

    def _sides(self) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
        """(the learning team's slots, the opponents' slot indices), remade only when the learning
        team changes (another behavior's trainer may hand the turn over between two steps)."""
        team = self.rotation.learning_team
        if team != self._sides_of:
            self._sides_of = team
            self._learning = self.teams == team
            self._opponents = np.flatnonzero(~self._learning)
        return self._learning, self._opponents

    def _as_learner_sees(self, batch: StepBatch) -> StepBatch:
        """`batch` with the other teams' slots absent (the view is made once: the environment's
        arrays are the same objects every step; only the absent flags are refilled)."""
        learning, _ = self._sides()
        np.logical_not(learning, out=self._opponent)
        np.copyto(self._absent, self._opponent)
        if batch.absent is not None:
            self._absent |= batch.absent
        if self._view is None or self._view[0] is not batch:
            self._view = (batch, dataclasses.replace(batch, absent=self._absent, opponent=self._opponent))
        return self._view[1]

    def act(self, batch: StepBatch, actions: ActionTuple) -> None:
        self.inner.act(self._as_learner_sees(batch), actions)
        _, opponents = self._sides()
        if not len(opponents):
            return
        obs = [torch.from_numpy(o[opponents]).to(self.inner.device) for o in batch.obs]
        branches = self.spec.action_spec.discrete_branches
        if batch.action_mask is not None:
            allowed = torch.from_numpy(~batch.action_mask[opponents]).to(self.inner.device, torch.float32)
        else:
            allowed = torch.ones(len(opponents), sum(branches), device=self.inner.device)
        with torch.inference_mode():
            if self._opponent_memory is None:
                out = self.opponent(obs, allowed, deterministic=self.inner.deterministic)
            else:  # (with memory: each opponent slot from its own, as a separate policy keeps them)
                memories = torch.from_numpy(self._opponent_memory[opponents]).to(self.inner.device)
                out, after = self.opponent.act_with_memory(obs, allowed, memories, self.inner.deterministic)
                self._opponent_memory[opponents] = after.cpu().numpy()
        if self.spec.action_spec.continuous_size:
            sampled = out.continuous.cpu().numpy()
            if isinstance(
                self.inner, PPOTrainer
            ):  # (PPO's and POCA's samples are clipped, then scaled; SAC's squashed)
                sampled = np.clip(sampled, -CONTINUOUS_CLIP, CONTINUOUS_CLIP) / CONTINUOUS_CLIP
            actions.continuous[opponents] = sampled
        if branches:
            actions.discrete[opponents] = out.discrete.cpu().numpy()

    def record(self, batch: StepBatch) -> None:
        learning, opponents = self._sides()
        self.inner.record(self._as_learner_sees(batch))
        if self._opponent_memory is not None:  # an ended episode's next one starts from zero
            self._opponent_memory[batch.terminated | batch.truncated] = 0.0
        self.opponent_steps += len(opponents)
        games = np.flatnonzero(learning & batch.terminated)  # finished games (not interrupted ones)
        for slot in games.tolist():
            self.rotation.record_game(game_result(float(batch.reward[slot] + batch.group_reward[slot])))
        if len(games):
            self._elo_stats.append(self.window.current_elo)
        if learning.any() and (not self.inner.training
                               or self.inner.step - self._turn_start > self.self_play.team_change):  # fmt: skip
            self.rotation.hand_over()
        changed = self.rotation.turn != self._turn_seen
        if changed:  # another team learns from here: trajectories start afresh, the opponents swap
            self._turn_seen, self._turn_start = self.rotation.turn, self.inner.step
            self.inner.end_episodes()
        weights = self.window.advance(self.inner.step, self.opponent_steps, swap=changed)
        if weights is not None:
            self.opponent.load_state_dict(weights)

    def drain_stats(self) -> list[Stat]:
        stats = self.inner.drain_stats()
        if self._elo_stats:
            stats.append(Stat("Self-play/ELO", self._elo_stats))
            self._elo_stats = []
        return stats

    def mean_recent_return(self) -> float | None:
        return self.inner.mean_recent_return()

    def state_dict(self) -> dict[str, Any]:
        """The wrapped trainer's state, with the ELOs and the snapshots (the opponents' weights)."""
        window = self.window
        return {**self.inner.state_dict(), "self_play": {"elos": list(window.elos), "snapshots": list(window.snapshots),
                                                         "next_snapshot": window.next_slot}}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any], *, reset_step: bool = False) -> None:
        self.inner.load_state_dict(state, reset_step=reset_step)
        saved = state.get("self_play")
        if saved is not None and not reset_step:
            self.window.restore([float(e) for e in saved["elos"]], list(saved.get("snapshots", [])),
                                int(saved.get("next_snapshot", 0)))  # fmt: skip
        else:  # (--initialize-from, or a checkpoint saved without self-play): a new window from these weights
            if not reset_step:
                logger.warning(f"Behavior {self.behavior!r}: the checkpoint resumed holds no self-play snapshots "
                               f"or ELO (it was saved without `self_play`); self-play starts a new window from "
                               f"the restored weights, at ELO {self.self_play.initial_elo}.")  # fmt: skip
            self.window = SnapshotWindow(self.self_play, self.window.weights, self.seed)
        self.opponent.load_state_dict(self.inner.actor.state_dict())
        self.window.opponent = LATEST
        self._turn_start = self.inner.step

    def export_policy(self, path: Path) -> None:
        self.inner.export_policy(path)

    def wait_for_update(self) -> None:
        self.inner.wait_for_update()

    def end_episodes(self) -> None:
        self.inner.end_episodes()

    def close(self) -> None:
        self.inner.close()
