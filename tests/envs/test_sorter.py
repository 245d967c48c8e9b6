"""Sorter, native (native/include/mlaf/envs/sorter.h): ML-Agents' layout (a variable-length
observation of up to 20 tiles), parity with the plain-Python rules (testing/reference/sorter.py)
under the scripted player and random actions, the order rule, and num_tiles."""

from __future__ import annotations

import numpy as np

from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.envs.native.rng import Rng
from mlagents_fast.envs.testing.reference import sorter
from mlagents_fast.envs.testing.reference.driver import ReferenceVectorEnv
from mlagents_fast.spec import DimensionProperty
from tests.envs.reference_parity import assert_observations_equal, assert_outcome_equal


def test_specs_match_ml_agents() -> None:
    env = NativeVectorEnv("Sorter", 2)
    assert env.num_agents("Sorter") == 16  # the scene's 8 areas per copy
    spec = env.behavior_specs["Sorter"]
    assert [o.shape for o in spec.observation_specs] == [(20, 23), (10,), (8,)]
    assert [o.name for o in spec.observation_specs] == ["BufferSensor", "RBSensor",
                                                        "StackingSensor_size2_VectorSensor_size4"]  # fmt: skip
    assert spec.observation_specs[0].dimension_property == (DimensionProperty.VARIABLE_SIZE, DimensionProperty.NONE)
    assert spec.action_spec.discrete_branches == (3, 3, 3)
    entities = env.batch("Sorter").obs[0]
    present = (entities**2).sum(axis=2) > 0
    shown = present.sum(axis=1)
    assert (shown >= 1).all() and (shown <= 20).all()
    assert (present[:, :-1] >= present[:, 1:]).all()  # the shown tiles first, the rest all zeros
    numbers = entities[:, :, :20].argmax(axis=2)
    for row, count in zip(numbers, shown, strict=True):  # in increasing order (tile 20's bit is overwritten)
        listed = [n for n in row[:count] if n > 0]
        assert listed == sorted(listed)


def test_parity_with_the_python_rules() -> None:
    native = NativeVectorEnv("Sorter", 2, seed=5, areas=3)
    port = ReferenceVectorEnv(sorter.Sorter(areas=3), 2, seed=5)
    batch, actions = native.batch("Sorter"), native.actions("Sorter")
    rng = np.random.default_rng(0)
    finished = failed = 0
    for _ in range(3000):
        assert_observations_equal(batch, port)
        for slot in range(6):
            scripted = sorter.heuristic(port._states[slot])
            actions.discrete[slot] = scripted if rng.random() < 0.9 else rng.integers(3, size=3)
        port.discrete_actions[:] = actions.discrete
        native.step()
        port.step()
        assert_outcome_equal(batch, port)
        finished += int((batch.terminated & (batch.reward > 0)).sum())
        failed += int((batch.terminated & (batch.reward < 0)).sum())
    assert finished > 20 and failed > 0, "the comparison must cover every way an episode ends"


def test_tiles_count_only_in_increasing_order() -> None:
    rules = sorter.Sorter(areas=1)
    rules.parameters["num_tiles"] = 4
    rng = Rng(11)
    for _ in range(20):
        s = rules.begin_episode(rng)
        assert 1 <= len(s.numbers) <= 4 and s.numbers == sorted(s.numbers) and len(set(s.slots)) == len(s.slots)
    s = next(state for seed in range(100) if len((state := rules.begin_episode(Rng(seed))).numbers) >= 2)
    # touch the second tile first: -1 and the episode ends
    angle = s.slots[1] * 18.0 * sorter.DEG_TO_RAD
    reach = sorter.TILE_DISTANCE - sorter.TILE_HALF_DEPTH - sorter.AGENT_RADIUS + 0.05
    s.x, s.z = reach * np.sin(angle), reach * np.cos(angle)
    reward, ended = rules.tick(s, None, [0, 0, 0], np.float32(0.0))
    assert ended and reward < -0.99
    # the scripted player finishes an episode, collecting +1 per tile
    s = rules.begin_episode(Rng(5))
    total, ended = np.float32(0.0), False
    for _ in range(5000):
        total, ended = rules.tick(s, None, sorter.heuristic(s), total)
        if ended:
            break
    assert ended and s.next == len(s.numbers) and total > len(s.numbers) - 0.5
