"""Hallway, native (native/include/mlaf/envs/hallway.h): ML-Agents' layout (stacked ray and step
observations), parity with the plain-Python rules (testing/reference/hallway.py) under the scripted
player and random actions, the goal rule, and what the rays see."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.envs.testing.reference import hallway
from mlagents_fast.envs.testing.reference.driver import ReferenceVectorEnv
from tests.envs.reference_parity import assert_observations_equal, assert_outcome_equal


def test_specs_match_ml_agents() -> None:
    env = NativeVectorEnv("Hallway", 2)
    assert env.num_agents("Hallway") == 32  # the scene's 16 areas per copy
    spec = env.behavior_specs["Hallway"]
    assert [o.shape for o in spec.observation_specs] == [(105,), (3,)]
    assert [o.name for o in spec.observation_specs] == ["StackingSensor_size3_RayPerceptionSensor",
                                                        "StackingSensor_size3_VectorSensor_size1"]  # fmt: skip
    assert spec.action_spec.discrete_branches == (5,)
    rays, steps = env.batch("Hallway").obs
    frame = hallway.FRAME
    assert (rays[:, : 2 * frame] == 0).all() and (steps == 0).all()  # nothing stacked before the first decision
    newest = rays[:, 2 * frame :].copy()
    per_ray = newest.reshape(-1, hallway.RAYS, hallway.PER_RAY)
    assert np.allclose(per_ray[:, :, : hallway.TAGS + 1].sum(axis=2), 1.0)  # one tag, or "nothing", per ray
    env.actions("Hallway").discrete[:] = 0
    env.step()
    rays, steps = env.batch("Hallway").obs
    assert np.allclose(steps, [0.0, 0.0, 6 / 3000])  # StepCount / MaxStep after one decision of 6 steps
    assert (rays[:, frame : 2 * frame] == newest).all()  # the stack shifted, oldest first


def test_parity_with_the_python_rules() -> None:
    native = NativeVectorEnv("Hallway", 2, seed=5, areas=3)
    port = ReferenceVectorEnv(hallway.Hallway(areas=3), 2, seed=5)
    batch, actions = native.batch("Hallway"), native.actions("Hallway")
    rng = np.random.default_rng(0)
    right = wrong = 0
    for _ in range(2000):
        assert_observations_equal(batch, port)
        for slot in range(6):
            state = port._states[slot]
            if slot % 3 == 2:  # one agent in three plays for the other symbol's goal
                state = dataclasses.replace(state, symbol=1 - state.symbol)
            scripted = hallway.heuristic(state)
            actions.discrete[slot] = scripted if rng.random() < 0.7 else rng.integers(5)
        port.discrete_actions[:] = actions.discrete
        native.step()
        port.step()
        assert_outcome_equal(batch, port)
        right += int((batch.terminated & (batch.reward > 0)).sum())
        wrong += int((batch.terminated & (batch.reward < 0)).sum())
    assert right > 20 and wrong > 5, "the comparison must cover both goals"


def _play(rules: hallway.Hallway, s: hallway.State, choose: Callable[[hallway.State], int]) -> tuple[np.float32, bool]:
    total, ended, action = np.float32(0.0), False, 0
    for step in range(hallway.MAX_STEP):
        if step % rules.decision_period == 0:
            action = choose(s)
        total, ended = rules.tick(s, None, [action], total)
        if ended:
            break
    return total, ended


def test_goals_and_the_scripted_player() -> None:
    rules = hallway.Hallway(areas=1)
    for seed in range(40):  # the scripted player, knowing the symbol, always takes the matching goal
        total, ended = _play(rules, rules.begin_episode(Rng(seed)), hallway.heuristic)
        assert ended and total == np.float32(1.0)
    for seed in range(40):  # playing for the other symbol's goal: -0.1
        mistaken = lambda state: hallway.heuristic(dataclasses.replace(state, symbol=1 - state.symbol))  # noqa: E731
        total, ended = _play(rules, rules.begin_episode(Rng(seed)), mistaken)
        assert ended and total == np.float32(-0.1)
    s = rules.begin_episode(Rng(3))
    s.x, s.z, s.vx, s.vz = -s.o_goal_x, hallway.GOAL_NEAR - 0.55, 0.0, 0.0  # just before the X goal
    reward, ended = rules.tick(s, None, [0], np.float32(0.0))
    assert not ended and reward == np.float32(-1.0 / 3000)
    s.vz = 5.0  # into it
    reward, ended = rules.tick(s, None, [0], np.float32(0.0))
    assert ended and reward == (np.float32(1.0) if s.symbol == 1 else np.float32(-0.1))


def test_rays_see_the_symbol_ahead_and_lose_it_behind() -> None:
    rules = hallway.Hallway(areas=1)
    s = rules.begin_episode(Rng(1))
    s.x, s.z, s.heading = s.symbol_x, s.symbol_z - 4.0, 0.0  # facing +z, 4 units before the symbol's centre
    rays = rules.observe(s)[0].reshape(hallway.STACK, hallway.RAYS, hallway.PER_RAY)[-1]
    seen = hallway.SYMBOL_O if s.symbol == 0 else hallway.SYMBOL_X
    # the cast's sphere (radius 0.5) meets the block's near face (0.5 before its centre)
    assert rays[0, seen] == 1.0 and np.isclose(rays[0, -1], (4.0 - 0.5 - 0.5) / hallway.RAY_LENGTH)
    s.z = s.symbol_z + 4.0  # past it, facing on: no ray shows the symbol
    rays = rules.observe(s)[0].reshape(hallway.STACK, hallway.RAYS, hallway.PER_RAY)[-1]
    assert rays[:, hallway.SYMBOL_O].sum() == 0 and rays[:, hallway.SYMBOL_X].sum() == 0
