"""WallJump, native (native/include/mlaf/envs/walljump.h): ML-Agents' layout and its two behaviors,
parity with the plain-Python rules (testing/reference/walljump.py) under the scripted player and
random actions, the jump's reach (a low wall from the ground, the high one only from the block),
its parameters, and runs without --env: the shipped configs and the seeds' 0.x command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from mlagents_fast.envs import make
from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.envs.native.walljump import area_split
from mlagents_fast.envs.registry import environment_of
from mlagents_fast.envs.selection import environments_for
from mlagents_fast.envs.testing.reference import walljump
from mlagents_fast.envs.testing.reference.driver import ReferenceVectorEnv
from mlagents_fast.learn import main
from tests.envs.reference_parity import assert_observations_equal, assert_outcome_equal

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_two_behaviors_with_ml_agents_layout() -> None:
    env = make("WallJump", 2)
    assert set(env.behavior_specs) == {"SmallWallJump", "BigWallJump"}
    assert (env.num_agents("SmallWallJump"), env.num_agents("BigWallJump")) == (20, 30)  # 25 areas a copy
    for spec in env.behavior_specs.values():
        assert [o.shape for o in spec.observation_specs] == [(210,), (210,), (4,)]  # 7 rays x 5, 6 stacked
        assert spec.action_spec.discrete_branches == (3, 3, 3, 2) and spec.action_spec.continuous_size == 0
    obs = env.batch("BigWallJump").obs
    rays = obs[0][0].reshape(6, 7, 5)
    assert not rays[:5].any()  # a new episode's older stacked frames are zeros
    assert (rays[5, :, :3].sum(axis=1) + rays[5, :, 3] == 1).all()  # each ray: one tag, or nothing
    assert rays[5, :, 0].any()  # the 8-high wall is in sight of some ray from the start
    x, y, z, grounded = obs[2][0]
    assert abs(x) <= 9.0 / 20 and y == pytest.approx((0.55 + 0.45) / 20) and z == pytest.approx(-8.0 / 20)
    assert grounded == 1.0
    assert area_split(5) == (2, 3) and area_split(2) == (1, 1)
    with pytest.raises(ValueError, match="areas"):
        area_split(1)


def test_its_behaviors_find_it_without_env() -> None:
    assert environment_of("BigWallJump") == environment_of("SmallWallJump") == "WallJump"
    assert environment_of("3DBall") == "3DBall" and environment_of("NoSuchBehavior") is None
    envs = environments_for(None, ["BigWallJump", "SmallWallJump"], 1, 0, {})
    assert envs["BigWallJump"] is envs["SmallWallJump"]  # one environment for both


@pytest.mark.parametrize(
    ("big", "parameters"),
    [
        (False, None),
        (True, None),
        (False, {"small_wall_height": 2.0, "no_wall_height": 1.0}),
        (True, {"big_wall_min_height": 0.0, "big_wall_max_height": 4.0}),
        (True, {"big_wall_height": 3.0}),
    ],
    ids=["small", "big", "small-parameters", "big-0x-range", "big-height"],
)
def test_parity_with_the_python_rules(big: bool, parameters: dict[str, float] | None) -> None:
    """Every observation, reward, flag and final observation equals the Python rules', under the
    scripted player with random actions mixed in (every action of every branch is taken)."""
    native = NativeVectorEnv("WallJump", 2, seed=5, big=int(big), areas=2)
    rules = walljump.WallJump(big=big, areas=2)
    if parameters is not None:
        native.set_parameters(parameters)
        native.reset(5)
        rules.parameters.update(parameters)
    port = ReferenceVectorEnv(rules, 2, seed=5)
    name = native.behavior
    batch, actions = native.batch(name), native.actions(name)
    rng = np.random.default_rng(0)
    wins = falls = 0
    for _ in range(1500):
        assert_observations_equal(batch, port)
        for slot in range(4):
            scripted = walljump.heuristic(port._states[slot])
            actions.discrete[slot] = scripted if rng.random() < 0.8 else rng.integers(0, (3, 3, 3, 2))
        port.discrete_actions[:] = actions.discrete
        native.step()
        port.step()
        assert_outcome_equal(batch, port)
        wins += int((batch.terminated & (batch.reward > 0)).sum())
        falls += int((batch.terminated & (batch.reward < 0)).sum())
    assert falls > 0 and (wins > 2 or (big and parameters is None)), "the comparison must cover both ends"


def play(rules: walljump.WallJump, state: walljump.State, actions: list[list[int]]) -> tuple[float, bool]:
    """Tick `state` with the actions (one per physics step); the highest bottom reached and whether it ended."""
    top = state.agent.p[1] - walljump.AGENT_HALF
    for action in actions:
        _, done = rules.tick(state, None, action, np.float32(0.0))
        top = max(top, state.agent.p[1] - walljump.AGENT_HALF)
        if done:
            return top, True
    return top, False


def test_a_jump_clears_the_low_wall_and_only_the_block_reaches_over_the_high_one() -> None:
    rules = walljump.WallJump(big=True)
    ground = rules.begin_episode(Rng(3))
    ground.agent.p = [0.0, 0.5, -12.0]
    top, _ = play(rules, ground, [[0, 0, 0, 1]] + [[0, 0, 0, 0]] * 40)
    assert 2.0 < top < 4.0  # over the 4-high wall's top (2), under the 8-high one's (4)
    assert ground.agent.p[1] == 0.5  # and back on the ground
    on_block = rules.begin_episode(Rng(3))
    bx, _, bz = on_block.block.p
    on_block.agent.p = [bx, 2.5, bz]
    on_block.agent.supported = True
    top, _ = play(rules, on_block, [[0, 0, 0, 0]] * 3 + [[0, 0, 0, 1]] + [[0, 0, 0, 0]] * 40)
    assert top > 4.0


def test_the_agent_pushes_the_block_and_falling_off_ends_the_episode() -> None:
    rules = walljump.WallJump(big=False)
    state = rules.begin_episode(Rng(4))
    state.block.p = [0.0, 1.0, -8.0]
    state.agent.p, state.heading = [0.0, 0.5, -12.0], 0.0  # facing the block, +z
    _, done = play(rules, state, [[1, 0, 0, 0]] * 15)
    assert not done and state.block.p[2] > -8.0  # pushed towards the wall
    reward, done = rules.tick(state, None, [0, 0, 0, 0], np.float32(0.0))
    state.agent.p = [11.0, 0.5, -12.0]  # beyond the ground's edge
    reward, done = rules.tick(state, None, [0, 0, 0, 0], np.float32(0.0))
    assert done and reward == -1.0


def test_the_scripted_player_scores_over_the_low_wall_and_random_play_rarely_does() -> None:
    def mean_return(policy: str, small_wall: float) -> float:
        env = NativeVectorEnv("WallJump", 4, seed=2, areas=4)
        env.set_parameters({"small_wall_height": small_wall})
        env.reset(2)
        rules = walljump.WallJump(areas=4)
        rules.parameters["small_wall_height"] = small_wall
        port = ReferenceVectorEnv(rules, 4, seed=2)
        rng = np.random.default_rng(1)
        returns: list[float] = []
        while len(returns) < 60:
            for slot in range(16):
                scripted = walljump.heuristic(port._states[slot])
                port.discrete_actions[slot] = scripted if policy == "scripted" else rng.integers(0, (3, 3, 3, 2))
            port.step()
            returns.extend(port.episode_return[port.terminated | port.truncated].tolist())
        return float(np.mean(returns))

    assert mean_return("scripted", 4.0) > 0.6
    assert mean_return("random", 4.0) < 0.0


def test_wall_heights_follow_the_parameters() -> None:
    big = walljump.WallJump(big=True)
    big.parameters.update(big_wall_min_height=2.0, big_wall_max_height=6.0)
    tops = [big.begin_episode(Rng(i)).wall_top for i in range(200)]
    assert 1.0 <= min(tops) < 1.3 and 2.7 < max(tops) <= 3.0  # visible height h / 2 for h in [2, 6]
    big.parameters["big_wall_height"] = 5.0  # given (ML-Agents 1.0 on), it wins over the 0.x range
    assert {big.begin_episode(Rng(i)).wall_top for i in range(20)} == {2.5}
    small = walljump.WallJump()
    assert {small.begin_episode(Rng(i)).wall_top for i in range(50)} == {0.0, 2.0}  # no wall or h = 4
    assert math.isnan(walljump.WallJump().parameters["big_wall_height"])


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_seeds_wall_jump_curriculum_command_runs(tmp_path: Path) -> None:
    """`mlagents-learn config/trainer_config.yaml --curriculum=config/curricula/wall_jump.yaml` with the
    shipped files, max_steps and min_lesson_length shortened: both behaviors train on WallJump and their lessons
    advance on progress."""
    config = (CONFIG / "trainer_config.yaml").read_text()
    config = config.replace("max_steps: 2.0e7", "max_steps: 4000").replace("max_steps: 5.0e6", "max_steps: 3000")
    (tmp_path / "trainer_config.yaml").write_text(config)
    curriculum = (CONFIG / "curricula" / "wall_jump.yaml").read_text().replace("min_lesson_length: 100",
                                                                              "min_lesson_length: 5")  # fmt: skip
    (tmp_path / "wall_jump.yaml").write_text(curriculum)
    argv = [str(tmp_path / "trainer_config.yaml"), f"--curriculum={tmp_path / 'wall_jump.yaml'}",
            "--run-id=wall-jump-curriculum", f"--results-dir={tmp_path / 'results'}", "--seed=1"]  # fmt: skip
    assert main(argv) == 0
    run = tmp_path / "results" / "wall-jump-curriculum"
    status = json.loads((run / "run_logs" / "training_status.json").read_text())
    assert status["big_wall_min_height"]["lesson_num"] >= 2 and status["small_wall_height"]["lesson_num"] >= 2
    assert (run / "BigWallJump.onnx").exists() and (run / "SmallWallJump.onnx").exists()
