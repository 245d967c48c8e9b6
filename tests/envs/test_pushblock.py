"""PushBlock, native (native/include/mlaf/envs/pushblock.h): ML-Agents' layout, parity with the
plain-Python rules (testing/reference/pushblock.py) under the scripted player and random
actions, its parameters, and that the scripted player scores."""

from __future__ import annotations

import numpy as np
import pytest

from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.testing.reference.driver import ReferenceVectorEnv
from mlagents_fast.envs.testing.reference.pushblock import PushBlock, heuristic
from tests.envs.reference_parity import assert_observations_equal, assert_outcome_equal

PARAMETERS = {"block_scale": 3.0, "block_drag": 1.0, "dynamic_friction": 0.05, "static_friction": 0.01}


def test_specs_match_ml_agents() -> None:
    env = NativeVectorEnv("PushBlock", 2)
    assert env.num_agents("PushBlock") == 64  # the scene's 32 areas per copy
    spec = env.behavior_specs["PushBlock"]
    assert [o.shape for o in spec.observation_specs] == [(105,), (105,)]  # 7 rays x 5, 3 stacked, two sensors
    assert [o.name for o in spec.observation_specs] == ["RayPerceptionSensor", "OffsetRayPerceptionSensor"]
    assert spec.action_spec.discrete_branches == (7,) and spec.action_spec.continuous_size == 0
    assert env.parameter_names == ("block_scale", "block_drag", "dynamic_friction", "static_friction")
    obs = env.batch("PushBlock").obs
    first = obs[0][0].reshape(3, 7, 5)
    assert not first[:2].any()  # a new episode's older stacked frames are zeros
    assert (first[2, :, :3].sum(axis=1) + first[2, :, 3] == 1).all()  # each ray: one tag, or nothing
    np.testing.assert_array_equal(obs[1][0].reshape(21, 5), np.tile([0, 0, 0, 1, 1], (21, 1)))


@pytest.mark.parametrize("parameters", [None, PARAMETERS], ids=["defaults", "parameters"])
def test_parity_with_the_python_rules(parameters: dict[str, float] | None) -> None:
    """Every observation, reward, flag and final observation equals the Python rules', under the
    scripted player with some random actions mixed in (every action is taken)."""
    native = NativeVectorEnv("PushBlock", 2, seed=5, areas=1)
    rules = PushBlock(areas=1)
    if parameters is not None:
        native.set_parameters(parameters)
        native.reset(5)
        rules.parameters.update(parameters)
    port = ReferenceVectorEnv(rules, 2, seed=5)
    batch, actions = native.batch("PushBlock"), native.actions("PushBlock")
    rng = np.random.default_rng(0)
    scored = 0
    for _ in range(1200):
        assert_observations_equal(batch, port)
        for slot in range(2):
            scripted = heuristic(port._states[slot])
            actions.discrete[slot, 0] = scripted if rng.random() < 0.8 else rng.integers(7)
        port.discrete_actions[:] = actions.discrete
        native.step()
        port.step()
        assert_outcome_equal(batch, port)
        scored += int(batch.terminated.sum())
    assert scored > 2, "the comparison must cover goals"


def test_the_scripted_player_scores_and_random_play_does_not() -> None:
    """The block reaches the goal under the scripted player (+5 less the time penalty); random
    play mostly runs out of time (-1 over 1000 decisions)."""

    def returns(player: str) -> list[float]:
        port, rng, done_returns = ReferenceVectorEnv(PushBlock(areas=1), 4, seed=9), np.random.default_rng(1), []
        for _ in range(2500):
            for slot in range(4):
                port.discrete_actions[slot, 0] = (
                    heuristic(port._states[slot]) if player == "scripted" else rng.integers(7)
                )
            port.step()
            done_returns += port.episode_return[port.terminated | port.truncated].tolist()
        return done_returns

    scripted = returns("scripted")
    assert len(scripted) >= 10 and np.mean(scripted) > 2.5
    assert np.mean(returns("random")) < 1.0


def test_a_bigger_block_is_seen_nearer() -> None:
    """block_scale reaches the game: a larger block fills more of the rays' view."""

    def block_hits(scale: float) -> int:
        env = NativeVectorEnv("PushBlock", 1, seed=3)
        env.set_parameters({"block_scale": scale})
        env.reset(3)
        return int(env.batch("PushBlock").obs[0].reshape(32, 3, 7, 5)[:, 2, :, 0].sum())

    assert block_hits(6.0) > block_hits(1.0)
