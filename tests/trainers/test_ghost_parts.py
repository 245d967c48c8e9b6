"""Self-play's parts (trainers/ghost/): team ids, the team rotation, ELO as ML-Agents computes it,
and the snapshot window the opponents play from."""

from __future__ import annotations

import pytest

from mlagents_fast.config.trainer_settings import SelfPlaySettings
from mlagents_fast.envs.teams import BehaviorId
from mlagents_fast.trainers.ghost.snapshots import LATEST, SnapshotWindow
from mlagents_fast.trainers.ghost.teams import TeamRotation, elo_change, expected_score, game_result


def test_behavior_ids_carry_their_team() -> None:
    assert BehaviorId.parse("Tennis?team=1") == BehaviorId("Tennis?team=1", "Tennis", 1)
    assert BehaviorId.parse("Soccer") == BehaviorId("Soccer", "Soccer", 0)
    with pytest.raises(ValueError, match=r"'Tennis\?team=blue'.*whole number"):
        BehaviorId.parse("Tennis?team=blue")


def test_elo_follows_ml_agents() -> None:
    assert expected_score(1200.0, 1200.0) == pytest.approx(0.5)
    assert expected_score(1600.0, 1200.0) == pytest.approx(1 / (1 + 10 ** (-1)))  # 400 points: 10 to 1
    assert elo_change(1200.0, 1200.0, 1.0) == pytest.approx(0.5)
    assert elo_change(1600.0, 1200.0, 0.0) == pytest.approx(-10 / 11)
    assert [game_result(r) for r in (1.0, 0.0, -0.2)] == [1.0, 0.5, 0.0]


def test_teams_take_turns_to_learn() -> None:
    rotation = TeamRotation(team_change=100)
    for team in (0, 1, 0):
        rotation.subscribe(team)
    assert rotation.learning_team == 0
    rotation.advance(100)
    assert rotation.learning_team == 0 and not rotation.take_change()  # not more than team_change yet
    rotation.advance(101)
    assert rotation.learning_team == 1 and rotation.take_change() and not rotation.take_change()
    rotation.advance(150)
    assert rotation.learning_team == 1
    rotation.advance(202)
    assert rotation.learning_team == 0


def test_snapshots_fill_a_window_and_opponents_draw_from_it() -> None:
    weights = {"w": 0}
    settings = SelfPlaySettings(save_steps=10, swap_steps=5, window=3, play_against_latest_model_ratio=0.0)
    window = SnapshotWindow(settings, lambda: dict(weights), seed=1)
    assert window.advance(5, 3) is None
    for step in range(11, 60, 11):  # five saves into a window of three
        weights["w"] = step
        window.advance(step, 0)
    assert sorted(s["w"] for s in window.snapshots) == [33, 44, 55]
    chosen = window.advance(60, 10)  # every swap draws a snapshot (ratio 0)
    assert chosen in window.snapshots and window.opponent != LATEST
    always_latest = SnapshotWindow(SelfPlaySettings(play_against_latest_model_ratio=1.0), lambda: dict(weights))
    always_latest.save()
    assert always_latest.choose() == weights and always_latest.opponent == LATEST


def test_a_game_moves_both_elos() -> None:
    settings = SelfPlaySettings(window=2, play_against_latest_model_ratio=0.0, initial_elo=1200.0)
    window = SnapshotWindow(settings, lambda: {}, seed=0)
    window.save()
    window.choose()
    opponent = window.opponent
    change = window.record_game(1.0)
    assert change == pytest.approx(0.5)
    assert window.current_elo == pytest.approx(1200.5) and window.elos[opponent] == pytest.approx(1199.5)
