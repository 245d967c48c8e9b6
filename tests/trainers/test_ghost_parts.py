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


class Owner:
    """A self-play trainer as the rotation sees it: whether it trains, and its ratings."""

    def __init__(self, window: SnapshotWindow | None = None) -> None:
        self.training = True
        self.window = window if window is not None else SnapshotWindow(SelfPlaySettings(), lambda: {})

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


def test_teams_take_turns_to_learn() -> None:
    rotation, symmetric = TeamRotation(), Owner()
    for team in (0, 1, 0):
        rotation.subscribe(team, symmetric)
    assert rotation.learning_team == 0 and not rotation.take_change()
    rotation.hand_over()
    assert rotation.learning_team == 1 and rotation.take_change() and not rotation.take_change()
    rotation.hand_over()
    assert rotation.learning_team == 0 and rotation.turn == 2
    with pytest.raises(ValueError, match="team 1"):
        rotation.subscribe(1, Owner())  # another behavior cannot claim a team


def test_a_team_whose_trainer_stopped_training_is_passed_over() -> None:
    rotation, striker, goalie, keeper = TeamRotation(), Owner(), Owner(), Owner()
    for team, owner in ((0, striker), (1, goalie), (2, keeper)):
        rotation.subscribe(team, owner)
    goalie.training = False
    rotation.hand_over()
    assert rotation.learning_team == 2  # the goalie reached its max_steps
    keeper.training = striker.training = False
    rotation.hand_over()
    assert rotation.learning_team == 2 and rotation.turn == 1  # nobody else trains: no change


def test_elo_moves_the_learner_and_what_it_played() -> None:
    settings = SelfPlaySettings(window=2, play_against_latest_model_ratio=0.0, initial_elo=1200.0)
    learner, opponent = Owner(SnapshotWindow(settings, lambda: {})), Owner(SnapshotWindow(settings, lambda: {}))
    rotation = TeamRotation()
    rotation.subscribe(0, learner)
    rotation.subscribe(1, opponent)
    assert opponent.window.opponent == 0  # the initial weights, until the first swap
    assert rotation.record_game(1.0) == pytest.approx(0.5)
    assert learner.current_elo == pytest.approx(1200.5) and opponent.window.elos[0] == pytest.approx(1199.5)
    # One trainer for both teams, playing its latest weights: the changes cancel, as in ML-Agents.
    symmetric, together = Owner(SnapshotWindow(settings, lambda: {})), TeamRotation()
    together.subscribe(0, symmetric)
    together.subscribe(1, symmetric)
    symmetric.window.opponent = LATEST
    together.record_game(1.0)
    assert symmetric.current_elo == pytest.approx(1200.0)


def test_snapshots_fill_a_window_and_opponents_draw_from_it() -> None:
    weights = {"w": 0}
    settings = SelfPlaySettings(save_steps=10, swap_steps=5, window=3, play_against_latest_model_ratio=0.0)
    window = SnapshotWindow(settings, lambda: dict(weights), seed=1)
    assert window.snapshots == [{"w": 0}] and window.opponent == 0  # the initial weights, as ML-Agents
    assert window.advance(5, 3) is None
    assert window.advance(5, 3, swap=True) == {"w": 0}  # the learning team changed: a swap now
    for step in range(11, 60, 11):  # five saves into a window of three
        weights["w"] = step
        window.advance(step, 0)
    assert sorted(s["w"] for s in window.snapshots) == [33, 44, 55]
    chosen = window.advance(60, 10)  # every swap draws a snapshot (ratio 0)
    assert chosen in window.snapshots and window.opponent != LATEST
    always_latest = SnapshotWindow(SelfPlaySettings(play_against_latest_model_ratio=1.0), lambda: dict(weights))
    always_latest.save()
    assert always_latest.choose() == weights and always_latest.opponent == LATEST


@pytest.mark.parametrize("trainer_type", ["ppo", "sac"])
def test_an_episode_ending_on_a_step_its_agent_sat_out_is_reported_but_not_an_opponents(trainer_type: str) -> None:
    """A Unity agent between decisions asks nothing, yet its episode may end (a ball falls between
    two decisions): the trainer reports that episode. A self-play opponent's episodes it does not."""
    import dataclasses

    import numpy as np

    from mlagents_fast.config.loader import run_options_from_dict
    from mlagents_fast.envs.registry import make
    from mlagents_fast.trainers.registry import trainer_factory

    env = make("3DBall", 1, seed=0)
    settings = run_options_from_dict({"behaviors": {"3DBall": {"trainer_type": trainer_type}}}, "t").behaviors["3DBall"]
    trainer = trainer_factory(trainer_type)("3DBall", env.behavior_specs["3DBall"], settings, 12, seed=0)
    batch, actions = env.batch("3DBall"), env.actions("3DBall")
    first = np.zeros(12, np.bool_)
    first[0] = True
    for opponent, expected in ((None, [4.5]), (first, [])):
        trainer.act(dataclasses.replace(batch, absent=first, opponent=opponent), actions)
        env.step()
        ended = np.zeros(12, np.bool_)
        ended[0] = True
        returns = np.zeros(12, np.float32)
        returns[0] = 4.5
        trainer.record(dataclasses.replace(batch, absent=first, opponent=opponent, terminated=ended,
                                           truncated=np.zeros(12, np.bool_), episode_return=returns))  # fmt: skip
        reported = [s.values for s in trainer.drain_stats() if s.key == "Environment/Cumulative Reward"]
        assert (reported[0] if reported else []) == expected
    env.close()
