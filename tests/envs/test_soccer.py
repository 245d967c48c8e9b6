"""SoccerTwos, native (native/include/mlaf/envs/soccer.h): ML-Agents' layout (four players a field
in two teams, each team a group; forward and backward ray sensors; three branches of 3), parity
with the plain-Python rules and driver (testing/reference/soccer.py) under the scripted player and
random actions, the scoring rules, and training from the shipped POCA self-play configuration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mlagents_fast.config import load_run_options
from mlagents_fast.config.trainer_settings import POCASettings
from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.envs.testing.reference import soccer
from tests.envs.reference_parity import assert_observations_equal, assert_outcome_equal

CONFIG = Path(__file__).resolve().parents[2] / "config" / "poca" / "SoccerTwos.yaml"


def test_specs_match_ml_agents() -> None:
    env = NativeVectorEnv("SoccerTwos", 2)
    assert env.num_agents("SoccerTwos") == 64  # two copies of eight fields of four players
    spec = env.behavior_specs["SoccerTwos"]
    assert [o.shape for o in spec.observation_specs] == [(264,), (72,)]  # 11 and 3 rays, 8 values, 3 stacked
    assert spec.action_spec.discrete_branches == (3, 3, 3) and spec.action_spec.continuous_size == 0
    teams = env.teams("SoccerTwos")
    assert teams is not None and teams[:8].tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    group_id = env.batch("SoccerTwos").group_id
    assert group_id[:8].tolist() == [1, 1, 2, 2, 3, 3, 4, 4] and len(set(group_id.tolist())) == 32
    forward = env.batch("SoccerTwos").obs[0].reshape(-1, 3, 11, 8)
    assert (forward[:, :2] == 0).all()  # nothing stacked before the first decision
    newest = forward[:, 2]
    assert ((newest[..., :7].sum(-1) == 1) | (newest[..., 6] == 1)).all()  # a tag or "nothing", per ray


def test_parity_with_the_python_rules() -> None:
    native = NativeVectorEnv("SoccerTwos", 2, seed=5, areas=2)
    port = soccer.SoccerReference(2, areas=2, seed=5)
    batch, actions = native.batch("SoccerTwos"), native.actions("SoccerTwos")
    rng = np.random.default_rng(0)
    goals = np.zeros(2, np.int64)
    for _ in range(2500):
        assert_observations_equal(batch, port)  # type: ignore[arg-type]
        for k, field in enumerate(port.states):
            for player in range(4):
                scripted = soccer.heuristic(field, player)
                actions.discrete[4 * k + player] = scripted if rng.random() < 0.7 else rng.integers(0, 3, 3)
        port.discrete_actions[:] = actions.discrete
        native.step()
        port.step()
        assert_outcome_equal(batch, port)  # type: ignore[arg-type]
        np.testing.assert_array_equal(batch.group_reward, port.group_reward)
        np.testing.assert_array_equal(batch.group_id, port.group_id)
        scorers = batch.terminated & (batch.group_reward > 0)
        goals += np.bincount(np.flatnonzero(scorers) % 4 // 2, minlength=2) // 2
    assert goals.min() > 20, "the comparison must cover goals by both teams"


def _field() -> soccer.Field:
    field = soccer.begin_game(Rng(1))
    for k, player in enumerate(field.players):  # out of the way, along the side walls
        player.x, player.z, player.vx, player.vz = -12.0 + 8.0 * k, 6.5, 0.0, 0.0
    return field


def test_scoring_and_the_game_clock() -> None:
    still = np.zeros((4, 3), np.int32)
    rewards = np.zeros(4, np.float32)
    for direction, scorer in ((1.0, 0), (-1.0, 1)):  # a ball rolling into a goal: the attackers score
        field = _field()
        field.ball_x, field.ball_z, field.ball_vx = 10.0 * direction, 0.0, 20.0 * direction
        outcomes = [soccer.tick(field, still, rewards) for _ in range(100)]
        assert scorer in outcomes and all(o == -1 for o in outcomes[: outcomes.index(scorer)])
    field = _field()  # off the wall beside the goal it bounces back, slower
    field.ball_x, field.ball_z, field.ball_vx = 10.0, 6.0, 20.0
    assert all(soccer.tick(field, still, rewards) == -1 for _ in range(60))
    assert field.ball_vx < 0.0 and abs(field.ball_x) < soccer.HALF_LENGTH
    field = _field()
    outcomes = [soccer.tick(field, still, rewards) for _ in range(soccer.MAX_ENVIRONMENT_STEPS)]
    assert outcomes[-1] == soccer.INTERRUPTED and outcomes.count(soccer.INTERRUPTED) == 1


def test_a_forward_touch_kicks_and_pays_ball_touch() -> None:
    field = _field()
    field.ball_touch = 1.0
    kicker = field.players[0]
    kicker.x, kicker.z, kicker.heading = -3.0, 0.0, 90.0  # facing +x, the ball just ahead
    field.ball_x, field.ball_z = -1.9, 0.0
    forward = np.zeros((4, 3), np.int32)
    forward[0, 0] = 1
    rewards = np.zeros(4, np.float32)
    soccer.tick(field, forward, rewards)
    assert field.ball_vx > soccer.KICK and rewards.tolist() == [pytest.approx(0.2), 0.0, 0.0, 0.0]
    soccer.tick(field, forward, rewards)  # still touching: no second kick, no second reward
    assert rewards[0] == pytest.approx(0.2)


def test_the_rays_tell_own_goal_from_the_opponents() -> None:
    field = _field()
    blue, purple = field.players[0], field.players[2]
    blue.x, blue.z, blue.heading = 0.0, 0.0, 90.0  # blue faces +x: purple's goal
    purple.x, purple.z, purple.heading = 0.0, -3.0, 90.0
    field.ball_x, field.ball_z = 0.0, 5.0
    assert soccer.cast(field, 0, 90.0)[0] == soccer.OPPONENT_GOAL
    assert soccer.cast(field, 2, 90.0)[0] == soccer.OWN_GOAL
    assert soccer.cast(field, 0, 180.0)[0] == soccer.OPPONENT  # purple below blue
    assert soccer.cast(field, 0, 0.0)[0] == soccer.BALL
    assert soccer.cast(field, 0, 45.0)[0] == soccer.WALL


def test_the_scripted_player_beats_one_that_stands_still() -> None:
    port = soccer.SoccerReference(1, areas=2, seed=3)
    goals = np.zeros(2, np.int64)
    for _ in range(1500):
        for k, field in enumerate(port.states):
            for player in range(2):
                port.discrete_actions[4 * k + player] = soccer.heuristic(field, player)
        port.step()
        goals += np.bincount(np.flatnonzero(port.terminated & (port.group_reward > 0)) % 4 // 2, minlength=2) // 2
    assert goals[0] > 3 * goals[1] and goals[0] >= 10, goals


def test_soccer_trains_with_poca_and_self_play_from_its_shipped_config(tmp_path: Path) -> None:
    """`mlagents-learn config/poca/SoccerTwos.yaml --env=SoccerTwos`, for a few steps: POCA trains the
    learning team's group while the other team plays a snapshot; the ELO moves and is kept."""
    from mlagents_fast.learn import main

    settings = load_run_options(CONFIG).behaviors["SoccerTwos"]
    hp = settings.hyperparameters
    assert settings.trainer_type == "poca" and isinstance(hp, POCASettings)
    assert (hp.batch_size, hp.buffer_size, hp.beta, settings.network_settings.hidden_units) == (2048, 20480, 0.005, 512)
    assert settings.self_play is not None and settings.self_play.team_change == 200000
    text = (
        CONFIG.read_text()
        .replace("batch_size: 2048", "batch_size: 64")
        .replace("buffer_size: 20480", "buffer_size: 640")
    )
    text = text.replace("hidden_units: 512", "hidden_units: 32").replace("max_steps: 50000000", "max_steps: 6000")
    text = text.replace("time_horizon: 1000", "time_horizon: 64").replace("team_change: 200000", "team_change: 3000")
    config = tmp_path / "soccer.yaml"
    config.write_text(text)
    args = [str(config), "--env=SoccerTwos", f"--results-dir={tmp_path}", "--run-id=soccer", "--seed=1",
            "--num-areas=2"]  # fmt: skip
    assert main(args) == 0
    assert (tmp_path / "soccer" / "SoccerTwos.onnx").exists()
    state = torch.load(tmp_path / "soccer" / "SoccerTwos" / "checkpoint.pt", weights_only=True)
    assert state["self_play"]["elos"][-1] != 1200.0  # games were played and the learner's ELO moved
    status = json.loads((tmp_path / "soccer" / "run_logs" / "training_status.json").read_text())
    assert status["SoccerTwos"]["elo"] == pytest.approx(state["self_play"]["elos"][-1])
