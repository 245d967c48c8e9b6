"""Pyramids, native (native/include/mlaf/envs/pyramids.h): ML-Agents' layout, parity with the
plain-Python rules (testing/reference/pyramids.py) under the scripted player and random actions,
the switch-pyramid-gold sequence, and that random play almost never reaches the gold."""

from __future__ import annotations

import numpy as np
import pytest

from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.envs.testing.reference import pyramids
from mlagents_fast.envs.testing.reference.driver import ReferenceVectorEnv
from tests.envs.reference_parity import assert_observations_equal, assert_outcome_equal


def test_specs_match_ml_agents() -> None:
    env = NativeVectorEnv("Pyramids", 2)
    assert env.num_agents("Pyramids") == 32  # the scene's 16 areas per copy
    spec = env.behavior_specs["Pyramids"]
    assert [o.shape for o in spec.observation_specs] == [(56,), (56,), (56,), (4,)]  # 7 rays x (6 tags + 2), 3 sensors
    assert [o.name for o in spec.observation_specs] == ["RayPerceptionSensor", "RayPerceptionSensor1",
                                                        "RayPerceptionSensor2", "VectorSensor_size4"]  # fmt: skip
    assert spec.action_spec.discrete_branches == (5,) and spec.action_spec.continuous_size == 0
    obs = env.batch("Pyramids").obs
    rays = obs[0][0].reshape(7, 8)
    assert (rays[:, :6].sum(axis=1) + rays[:, 6] == 1).all()  # each ray: one tag, or nothing
    assert obs[3][0, 0] == 0.0  # the switch starts off


def test_parity_with_the_python_rules() -> None:
    native = NativeVectorEnv("Pyramids", 2, seed=5, areas=3)
    port = ReferenceVectorEnv(pyramids.Pyramids(areas=3), 2, seed=5)
    batch, actions = native.batch("Pyramids"), native.actions("Pyramids")
    rng = np.random.default_rng(0)
    gold = 0
    for _ in range(2500):
        assert_observations_equal(batch, port)
        for slot in range(6):
            scripted = pyramids.heuristic(port._states[slot])
            actions.discrete[slot, 0] = scripted if rng.random() < 0.85 else rng.integers(5)
        port.discrete_actions[:] = actions.discrete
        native.step()
        port.step()
        assert_outcome_equal(batch, port)
        gold += int(batch.terminated.sum())
    assert gold > 20, "the comparison must cover the whole sequence"


def test_the_switch_raises_the_pyramid_and_knocking_it_over_drops_the_gold() -> None:
    rules = pyramids.Pyramids(areas=1)
    s = rules.begin_episode(Rng(7))
    s.stones = []
    seen_on = False
    for _ in range(3000):  # physics steps of the scripted player
        stage = s.stage
        reward, done = rules.tick(s, None, [pyramids.heuristic(s)], np.float32(0.0))
        if stage == pyramids.SWITCH_WAITS and s.stage == pyramids.PYRAMID_STANDS:
            seen_on = rules.observe(s)[3][0] == 1.0  # the switch's state is observed
        if stage == pyramids.PYRAMID_STANDS and s.stage == pyramids.GOLD_DOWN:
            assert np.hypot(s.gold[0] - s.pyramid[0], s.gold[1] - s.pyramid[1]) == pytest.approx(3.0)
        if done:
            assert reward == 2.0 and seen_on
            return
    raise AssertionError("the scripted player never reached the gold")


def test_random_play_rarely_reaches_the_gold_and_the_scripted_player_does() -> None:
    def mean_return(scripted: bool) -> float:
        port = ReferenceVectorEnv(pyramids.Pyramids(areas=4), 2, seed=3)
        rng = np.random.default_rng(1)
        returns: list[float] = []
        for _ in range(1200):
            for slot in range(8):
                port.discrete_actions[slot, 0] = pyramids.heuristic(port._states[slot]) if scripted else rng.integers(5)
            port.step()
            returns.extend(port.episode_return[port.terminated | port.truncated].tolist())
        return float(np.mean(returns)) if returns else -1.0

    assert mean_return(scripted=True) > 1.5
    assert mean_return(scripted=False) < 0.5
