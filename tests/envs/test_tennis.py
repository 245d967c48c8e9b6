"""Tennis, native (native/include/mlaf/envs/tennis.h): ML-Agents' layout (two agents an area,
mirrored stacked observations, three continuous actions), parity with the plain-Python rules and
driver (testing/reference/tennis.py) under the scripted players and random actions, and the
scoring rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.envs.testing.reference import tennis
from tests.envs.reference_parity import assert_observations_equal, assert_outcome_equal


def test_specs_match_ml_agents() -> None:
    env = NativeVectorEnv("Tennis", 2)
    assert env.num_agents("Tennis") == 72  # the scene's 18 areas of two agents, per copy
    spec = env.behavior_specs["Tennis"]
    assert [o.shape for o in spec.observation_specs] == [(27,)]
    assert spec.observation_specs[0].name == "StackingSensor_size3_VectorSensor_size9"
    assert spec.action_spec.continuous_size == 3 and spec.action_spec.discrete_branches == ()
    frames = env.batch("Tennis").obs[0].reshape(-1, 3, 9)
    assert (frames[:, :2] == 0).all()  # nothing stacked before the first decision
    a, b = frames[0::2, 2], frames[1::2, 2]
    assert (a[:, 0] < 0).all() and (b[:, 0] < 0).all()  # each sees itself on the left
    np.testing.assert_array_equal(a[:, 4], -b[:, 4])  # the same ball, mirrored


def test_parity_with_the_python_rules() -> None:
    native = NativeVectorEnv("Tennis", 2, seed=5, areas=3)
    port = tennis.TennisReference(2, areas=3, seed=5)
    batch, actions = native.batch("Tennis"), native.actions("Tennis")
    rng = np.random.default_rng(0)
    wins = np.zeros(2, np.int64)
    hits = 0
    for _ in range(3000):
        assert_observations_equal(batch, port)  # type: ignore[arg-type]
        for k, area in enumerate(port.states):
            for side in (0, 1):
                scripted = tennis.heuristic(area, side)
                actions.continuous[2 * k + side] = scripted if rng.random() < 0.8 else rng.uniform(-1, 1, 3)
        hits += sum(area.last_hit >= 0 for area in port.states)
        port.continuous_actions[:] = actions.continuous
        native.step()
        port.step()
        assert_outcome_equal(batch, port)  # type: ignore[arg-type]
        won = batch.terminated & (batch.reward > 0)
        wins += np.bincount(np.flatnonzero(won) % 2, minlength=2)
    assert wins.min() > 20 and hits > 500, "the comparison must cover points won by both sides, and rallies"


def _play(area: tennis.Area, actions: np.ndarray, ticks: int = 2000) -> int:
    for _ in range(ticks):
        winner = tennis.tick(area, actions)
        if winner >= 0:
            return winner
    return -1


def test_scoring_rules() -> None:
    still = np.zeros((2, 3), np.float32)
    for seed in range(10):  # a serve nobody returns: the side it lands on loses the point
        area = tennis.begin_point(Rng(seed))
        landing_side = 0 if area.ball_x < 0 else 1
        area.rackets[landing_side].x = -11.0 if landing_side == 0 else 11.0  # out of the way
        assert _play(area, still) == 1 - landing_side
    area = tennis.begin_point(Rng(1))  # A hits, the ball lands on B's side, B does not return it
    area.ball_x, area.ball_y, area.last_hit, area.floor_hit = 5.0, -6.0, 0, tennis.UNSET
    area.rackets[1].x = 11.0
    assert _play(area, still) == 0
    area = tennis.begin_point(Rng(2))  # A hits it into its own floor
    area.ball_x, area.ball_y, area.last_hit, area.floor_hit = -5.0, -6.0, 0, tennis.UNSET
    area.rackets[0].x = -11.0
    assert _play(area, still) == 1
    area = tennis.begin_point(Rng(3))  # B hits it into the net
    area.ball_x, area.ball_y, area.ball_vx, area.last_hit, area.floor_hit = 0.5, -6.6, -5.0, 1, tennis.UNSET
    assert _play(area, still) == 0


def test_tennis_trains_with_self_play_from_its_shipped_configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mlagents-learn config/ppo/Tennis.yaml --env=Tennis` (and SAC's) as a user starts it, for a few
    steps: the two sides are the teams, one learns while the other plays its snapshot; ELO moves;
    the teams take turns (every 400 steps here), and the environments reset at each change, as
    ML-Agents resets them."""
    from mlagents_fast.learn import main
    from mlagents_fast.trainers.controller import TrainerController

    resets: list[int] = []
    reset_environments = TrainerController._reset_environments

    def counted(controller: TrainerController) -> None:
        resets.append(controller.runs[0].trainer.step)
        reset_environments(controller)

    monkeypatch.setattr(TrainerController, "_reset_environments", counted)

    root = Path(__file__).resolve().parents[2] / "config"
    for trainer in ("ppo", "sac"):
        config = tmp_path / f"{trainer}.yaml"
        text = (root / trainer / "Tennis.yaml").read_text()
        small = {"ppo": ("batch_size: 2048", "batch_size: 64"), "sac": ("batch_size: 128", "batch_size: 32")}[trainer]
        text = text.replace(*small).replace("buffer_size: 20480", "buffer_size: 640")
        for limit in ("max_steps: 50000000", "max_steps: 20000000"):
            text = text.replace(limit, "max_steps: 1500")
        for turn in ("team_change: 100000", "team_change: 250000"):
            text = text.replace(turn, "team_change: 400")
        resets.clear()
        config.write_text(text)
        args = [str(config), "--env=Tennis", f"--results-dir={tmp_path / 'results'}", f"--run-id={trainer}",
                "--seed=1", "--num-areas=1"]  # fmt: skip
        assert main(args) == 0
        assert len(resets) == 3, resets  # learning turns of 401 steps: changes at about 401, 802 and 1203
        assert (tmp_path / "results" / trainer / "Tennis.onnx").exists()
        state = torch.load(tmp_path / "results" / trainer / "Tennis" / "checkpoint.pt", weights_only=True)
        elos = state["self_play"]["elos"]
        assert elos[-1] != 1200.0  # points were played and the learner's ELO moved
        status = json.loads((tmp_path / "results" / trainer / "run_logs" / "training_status.json").read_text())
        assert status["Tennis"]["elo"] == pytest.approx(elos[-1])
