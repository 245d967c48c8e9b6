"""Which team learns, and ELO (ML-Agents' GhostController: one for the whole run, shared by every
self-play behavior; behavior ids with teams are envs/teams.py's `BehaviorId`).

Teams take turns to learn, in the order they first appeared; the trainer of the learning team
hands the turn over after `team_change` of its steps (or when it stops training). A game moves the
learning team's ELO by its result less the expectation from both ratings (no K factor), and the
rating of the policy it played against by the opposite.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol


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


class TeamOwner(Protocol):
    """The self-play trainer that plays a team (one trainer may own several teams)."""

    @property
    def training(self) -> bool: ...

    @property
    def current_elo(self) -> float: ...

    @property
    def opponent_elo(self) -> float: ...

    def change_current_elo(self, change: float) -> None: ...

    def change_opponent_elo(self, change: float) -> None: ...


class TeamRotation:
    """Which team learns: the teams in the order they subscribed, one turn each. `turn` counts the
    changes, so each trainer (and the controller, which resets the environments) sees them."""

    def __init__(self) -> None:
        self._queue: deque[int] = deque()
        self._owners: dict[int, TeamOwner] = {}
        self.learning_team = -1
        self.turn = 0
        self._turn_taken = 0  # the last turn `take_change()` reported

    def subscribe(self, team: int, owner: TeamOwner) -> None:
        known = self._owners.get(team)
        if known is not None:
            if known is not owner:
                raise ValueError(f"Two self-play behaviors play team {team}: give each behavior its own team ids.")
            return
        self._owners[team] = owner
        if self.learning_team < 0:
            self.learning_team = team
        else:
            self._queue.append(team)

    def hand_over(self) -> None:
        """The next team in line whose trainer still trains learns from here (no change when none does)."""
        if not any(self._owners[team].training for team in self._queue):
            return
        while True:
            self._queue.append(self.learning_team)
            self.learning_team = self._queue.popleft()
            if self._owners[self.learning_team].training:
                break
        self.turn += 1

    def take_change(self) -> bool:
        """Whether the learning team changed since the last call (the environments then reset)."""
        changed, self._turn_taken = self._turn_taken != self.turn, self.turn
        return changed

    def record_game(self, result: float) -> float:
        """A game the learning team finished (1 won, 0.5 drawn, 0 lost), as ML-Agents rates it: against
        the rating of the policy the other team plays; both move. Returns the learner's change."""
        others = [owner for team, owner in self._owners.items() if team != self.learning_team]
        if not others:
            return 0.0
        learner = self._owners[self.learning_team]
        change = elo_change(learner.current_elo, others[-1].opponent_elo, result)
        for owner in others:
            owner.change_opponent_elo(change)
        learner.change_current_elo(change)
        return change
