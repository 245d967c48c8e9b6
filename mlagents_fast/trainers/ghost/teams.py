"""Behavior ids with a team (`Name?team=<id>`) and the controller that says which team learns.

As ML-Agents' behavior_id_utils and GhostController: the id is read as a URL (the path the
behavior's name, the query its team, 0 when absent); teams take turns to learn, in the order
they first appeared, one turn every `team_change` steps; after each game the learning team's
ELO moves by the result against the expectation from both ratings (no K factor), and the
opponent's by the opposite.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class BehaviorId:
    behavior_id: str  # as the environment names it: "Tennis?team=1"
    name: str  # "Tennis"
    team: int  # 1

    @staticmethod
    def parse(behavior_id: str) -> BehaviorId:
        """`Name?team=<id>` (team 0 when there is no query). A team that is not a whole number is a
        ValueError naming the id."""
        parsed = urlparse(behavior_id)
        teams = parse_qs(parsed.query).get("team", ["0"])
        try:
            team = int(teams[0])
        except ValueError:
            raise ValueError(f"Behavior {behavior_id!r}: its team must be a whole number (Name?team=0).") from None
        return BehaviorId(behavior_id, parsed.path, team)


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
