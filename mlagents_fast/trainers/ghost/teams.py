"""Which team learns, and ELO (ML-Agents' GhostController; behavior ids with teams are
envs/teams.py's `BehaviorId`).

Teams take turns to learn, in the order they first appeared, one turn every `team_change` steps;
after each game the learning team's ELO moves by the result against the expectation from both
ratings (no K factor), and the opponent's by the opposite.
"""

from __future__ import annotations

from collections import deque


def expected_score(rating: float, opponent: float) -> float:
    """The chance of winning that ELO gives `rating` against `opponent`."""
    own, other = 10.0 ** (rating / 400.0), 10.0 ** (opponent / 400.0)
    return own / (own + other)


def elo_change(rating: float, opponent: float, result: float) -> float:
    """How much a game moves `rating` (the opponent's moves by the opposite): the result (1 a win,
    0.5 a draw, 0 a loss) less its expectation."""
    return result - expected_score(rating, opponent)


def game_result(final_reward: float) -> float:
    """A game's result from the reward that ended it (with the group reward): won, drawn or lost."""
    return 1.0 if final_reward > 0 else (0.0 if final_reward < 0 else 0.5)


class TeamRotation:
    """Which team learns: the teams in the order they subscribed, one turn each, changed every
    `team_change` steps of the learner."""

    def __init__(self, team_change: int) -> None:
        self.team_change = team_change
        self._queue: deque[int] = deque()
        self.learning_team = -1
        self._last_change = 0
        self.changed = False  # since the last `take_change()`

    def subscribe(self, team: int) -> None:
        if team == self.learning_team or team in self._queue:
            return
        if self.learning_team < 0:
            self.learning_team = team
        else:
            self._queue.append(team)

    def advance(self, step: int) -> None:
        """At the learner's `step`: hand over to the next team when its turn is due."""
        if step - self._last_change > self.team_change and self._queue:
            self._queue.append(self.learning_team)
            self.learning_team = self._queue.popleft()
            self._last_change = step
            self.changed = True

    def take_change(self) -> bool:
        """Whether the learning team changed since the last call (the environments then reset)."""
        changed, self.changed = self.changed, False
        return changed
