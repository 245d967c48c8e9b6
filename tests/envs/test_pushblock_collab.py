"""Cooperative PushBlock, native (native/include/mlaf/envs/pushblock_collab.h): ML-Agents' layout
(three agents an area in one group, a 20 x 20 grid sensor of 6 tags, one branch of 7), parity with
the plain-Python rules and driver (testing/reference/pushblock_collab.py) under the scripted team
and random actions, the pushing rule (a block needs as many agents as its size), scoring, and
training from ML-Agents' config/poca/PushBlockCollab.yaml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlagents_fast.config import load_run_options
from mlagents_fast.config.trainer_settings import POCASettings
from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.envs.testing.reference import pushblock_collab as pbc
from tests.envs.reference_parity import assert_observations_equal, assert_outcome_equal

BEHAVIOR = "PushBlockCollab"
CONFIG = Path(__file__).resolve().parents[2] / "config" / "poca" / "PushBlockCollab.yaml"


def test_specs_match_ml_agents() -> None:
    env = NativeVectorEnv(BEHAVIOR, 2)
    assert env.num_agents(BEHAVIOR) == 24  # two copies of four areas of three agents
    spec = env.behavior_specs[BEHAVIOR]
    assert [o.shape for o in spec.observation_specs] == [(6, 20, 20)]
    assert spec.action_spec.discrete_branches == (7,)
    batch = env.batch(BEHAVIOR)
    assert batch.group_id.tolist()[:6] == [1, 1, 1, 2, 2, 2] and len(set(batch.group_id.tolist())) == 8
    grid = batch.obs[0]
    assert (grid.sum(axis=1) <= 1).all()  # one-hot per cell
    assert grid[:, pbc.BLOCK_SMALL :].any() and grid[:, pbc.AGENT].any()  # blocks and teammates in view


def test_parity_with_the_python_rules() -> None:
    native = NativeVectorEnv(BEHAVIOR, 2, seed=5, areas=2)
    port = pbc.PushBlockCollabReference(2, areas=2, seed=5)
    batch, actions = native.batch(BEHAVIOR), native.actions(BEHAVIOR)
    rng = np.random.default_rng(0)
    scored = 0
    for _ in range(600):
        assert_observations_equal(batch, port)  # type: ignore[arg-type]
        for k, area in enumerate(port.states):
            for i in range(3):
                actions.discrete[3 * k + i, 0] = pbc.heuristic(area, i) if rng.random() < 0.8 else rng.integers(0, 7)
        port.discrete_actions[:] = actions.discrete
        native.step()
        port.step()
        assert_outcome_equal(batch, port)  # type: ignore[arg-type]
        np.testing.assert_array_equal(batch.group_reward, port.group_reward)
        np.testing.assert_array_equal(batch.group_id, port.group_id)
        scored += int((batch.group_reward[::3] > 0.5).sum())
    assert scored >= 3, "the comparison must cover blocks scored"


def _area(block_size: int, pushers: int) -> pbc.Area:
    """One block of `block_size` at the centre, `pushers` agents just behind it facing the goal,
    the other blocks far off, out of play."""
    area = pbc.begin_episode(Rng(0))
    for b in area.blocks:
        b.active = False
    block = next(b for b in area.blocks if b.size == block_size)
    block.active, block.x, block.z, block.vx, block.vz = True, 0.0, 0.0, 0.0, 0.0
    area.remaining = 1
    for i, agent in enumerate(area.agents):
        spread = (i - 1) * 0.6 * block.half if pushers > 1 else 0.0
        agent.x, agent.z = (spread, block.half + pbc.AGENT_RADIUS) if i < pushers else (8.0 + i, 10.0)
        agent.heading, agent.vx, agent.vz = 180.0, 0.0, 0.0
    return area


@pytest.mark.parametrize("size", [1, 2, 3])
def test_a_block_needs_as_many_agents_as_its_size(size: int) -> None:
    forward = np.ones(3, np.int32)
    for pushers in (size - 1, size):
        area = _area(size, pushers)
        block = next(b for b in area.blocks if b.active)
        reward = np.float32(0.0)
        for _ in range(100):
            _, reward = pbc.tick(area, forward, reward)
        moved = -block.z
        assert (moved > 1.0) == (pushers >= size), (size, pushers, moved)


def test_scoring_pays_the_block_and_the_last_ends_the_episode() -> None:
    area = _area(2, 2)
    block = next(b for b in area.blocks if b.active)
    block.z = pbc.GOAL_FACE + block.half + 0.5  # just short of the goal
    forward = np.ones(3, np.int32)
    outcome, reward = 0, np.float32(0.0)
    for _ in range(50):
        outcome, reward = pbc.tick(area, forward, reward)
        if outcome:
            break
    assert outcome == 1 and not block.active and area.remaining == 0  # the only block left
    assert 2.0 - 50 * 1e-4 < reward < 2.0
    area = pbc.begin_episode(Rng(1))
    still = np.zeros(3, np.int32)
    outcomes = [pbc.tick(area, still, np.float32(0.0))[0] for _ in range(pbc.MAX_ENVIRONMENT_STEPS)]
    assert outcomes[-1] == -1 and outcomes.count(-1) == 1  # interrupted at MaxEnvironmentSteps


def test_the_scripted_team_scores_where_random_agents_do_not() -> None:
    def group_returns(scripted: bool) -> float:
        port = pbc.PushBlockCollabReference(1, areas=4, seed=2)
        rng = np.random.default_rng(0)
        total = 0.0
        for _ in range(700):
            for k, area in enumerate(port.states):
                for i in range(3):
                    port.discrete_actions[3 * k + i, 0] = pbc.heuristic(area, i) if scripted else rng.integers(0, 7)
            port.step()
            total += float(port.group_reward[::3].sum())
        return total / 4

    scripted, random = group_returns(True), group_returns(False)
    assert scripted > 5.0 and random < 1.0, (scripted, random)


def test_pushblock_collab_trains_with_poca_from_its_shipped_config(tmp_path: Path) -> None:
    """`mlagents-learn config/poca/PushBlockCollab.yaml --env=PushBlockCollab`, for a few steps."""
    from mlagents_fast.learn import main

    settings = load_run_options(CONFIG).behaviors[BEHAVIOR]
    hp = settings.hyperparameters
    assert settings.trainer_type == "poca" and isinstance(hp, POCASettings)
    assert (hp.batch_size, hp.buffer_size, hp.beta, settings.time_horizon) == (1024, 10240, 0.01, 64)
    text = (
        CONFIG.read_text()
        .replace("batch_size: 1024", "batch_size: 32")
        .replace("buffer_size: 10240", "buffer_size: 192")
    )
    text = text.replace("hidden_units: 256", "hidden_units: 16").replace("max_steps: 15000000", "max_steps: 600")
    config = tmp_path / "collab.yaml"
    config.write_text(text.replace("summary_freq: 60000", "summary_freq: 300"))
    args = [str(config), "--env=PushBlockCollab", f"--results-dir={tmp_path}", "--run-id=collab", "--seed=1",
            "--num-areas=1"]  # fmt: skip
    assert main(args) == 0
    assert (tmp_path / "collab" / "PushBlockCollab.onnx").exists()
