"""The policies the other teams play (ML-Agents' GhostTrainer snapshots).

Every `save_steps` steps the learner's weights are saved into a window of the last `window`
snapshots, each with the learner's ELO when it was saved; every `swap_steps` steps of the
opponents the opponent takes the learner's latest weights with probability
`play_against_latest_model_ratio`, else a snapshot drawn uniformly from the window. As in
ML-Agents, the window starts with the initial weights, which the opponent plays until the first
swap. The last rating is the learner's; a game (teams.py's `TeamRotation.record_game`) moves it and
the rating of what the opponent played.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlagents_fast.config.trainer_settings import SelfPlaySettings

LATEST = -1  # the opponent plays the learner's current weights


class SnapshotWindow:
    def __init__(self, settings: SelfPlaySettings, weights: Callable[[], Any], seed: int = 0) -> None:
        """`weights()` returns a copy of the learner's weights (what a snapshot keeps)."""
        self.settings, self.weights = settings, weights
        self.snapshots: list[Any] = []
        self.elos = [settings.initial_elo] * (settings.window + 1)  # [..snapshots.., the learner]
        self._next = 0  # the window slot the next snapshot takes
        self._last_save = self._last_swap = 0
        self._draws = np.random.default_rng(seed)
        self.save()
        self.opponent = 0  # the initial weights

    @property
    def current_elo(self) -> float:
        return self.elos[-1]

    @property
    def next_slot(self) -> int:
        """The window slot the next snapshot takes."""
        return self._next

    def restore(self, elos: list[float], snapshots: list[Any], next_slot: int) -> None:
        """A checkpoint's ELOs and snapshots (`--resume`)."""
        if len(elos) != len(self.elos) or len(snapshots) > self.settings.window:
            window = self.settings.window
            raise ValueError(f"The checkpoint's self-play window holds {len(snapshots)} snapshots and "
                             f"{len(elos)} ratings; this run's `self_play.window` is {window}.")  # fmt: skip
        self.elos[:] = elos
        self.snapshots = snapshots
        self._next = next_slot % self.settings.window

    def save(self) -> None:
        snapshot = self.weights()
        if len(self.snapshots) < self.settings.window:
            self.snapshots.append(snapshot)
        else:
            self.snapshots[self._next] = snapshot
        self.elos[self._next] = self.current_elo
        self._next = (self._next + 1) % self.settings.window

    def choose(self) -> Any:
        """The weights the opponent plays next (the learner's, or a snapshot's) and remembers which."""
        if not self.snapshots or self._draws.uniform() < self.settings.play_against_latest_model_ratio:
            self.opponent = LATEST
            return self.weights()
        self.opponent = int(self._draws.integers(len(self.snapshots)))
        return self.snapshots[self.opponent]

    def advance(self, learner_step: int, opponent_step: int, swap: bool = False) -> Any | None:
        """Save and swap when due (or `swap` now: the learning team changed); returns the weights
        the opponent should now play, or None."""
        if learner_step - self._last_save > self.settings.save_steps:
            self.save()
            self._last_save = learner_step
        if swap or opponent_step - self._last_swap > self.settings.swap_steps:
            self._last_swap = opponent_step
            return self.choose()
        return None

    @property
    def opponent_elo(self) -> float:
        """The rating of what the opponent plays (the learner's own when it plays the latest)."""
        return self.elos[self.opponent]  # (LATEST is the last slot, the learner's)

    def change_opponent_elo(self, change: float) -> None:
        self.elos[self.opponent] -= change

    def change_current_elo(self, change: float) -> None:
        self.elos[-1] += change
