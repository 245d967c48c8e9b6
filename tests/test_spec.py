"""Spec types: ML-Agents' names and helpers, and action validation errors."""

from __future__ import annotations

import numpy as np
import pytest

from mlagents_fast.spec import (
    ActionError,
    ActionSpec,
    ActionTuple,
    DimensionProperty,
    ObservationSpec,
    ObservationType,
)


def test_action_spec_helpers_match_ml_agents() -> None:
    hybrid = ActionSpec.create_hybrid(2, (3, 2))
    assert hybrid.is_continuous() and hybrid.is_discrete() and hybrid.discrete_size == 2
    assert not ActionSpec.create_continuous(1).is_discrete()
    assert not ActionSpec.create_discrete((5,)).is_continuous()
    empty = hybrid.empty_action(4)
    assert empty.continuous.shape == (4, 2) and empty.continuous.dtype == np.float32
    assert empty.discrete.shape == (4, 2) and empty.discrete.dtype == np.int32


def test_random_actions_are_valid_and_seeded() -> None:
    spec = ActionSpec.create_hybrid(3, (3, 2, 4))
    first = spec.random_action(500, np.random.default_rng(1))
    spec.validate(first, 500, "Test")
    assert first.continuous.min() >= -1 and first.continuous.max() <= 1
    assert [int(first.discrete[:, b].max()) for b in range(3)] == [2, 1, 3]
    again = spec.random_action(500, np.random.default_rng(1))
    np.testing.assert_array_equal(first.discrete, again.discrete)
    assert spec.random_action(0).discrete.shape == (0, 3)
    assert ActionSpec.create_continuous(2).random_action(3).discrete.shape == (3, 0)


def test_observation_spec_shortcuts() -> None:
    visual = ObservationSpec.visual(3, 20, 20, name="camera")
    assert visual.shape == (3, 20, 20)
    assert visual.dimension_property[1] == DimensionProperty.TRANSLATIONAL_EQUIVARIANCE
    goal = ObservationSpec.vector(2, observation_type=ObservationType.GOAL_SIGNAL)
    assert goal.shape == (2,) and goal.observation_type == ObservationType.GOAL_SIGNAL


@pytest.mark.parametrize(
    "actions, message",
    [
        (ActionTuple(np.zeros((2, 1), np.float32), np.zeros((3, 1), np.int32)), r"discrete actions of shape \(2, 1\)"),
        (ActionTuple(np.zeros((2, 1), np.float64), np.zeros((2, 1), np.int32)), "dtype float32; got float64"),
        (ActionTuple(np.float32([[0.0], [np.nan]]), np.zeros((2, 1), np.int32)), "agent index 1 hold NaN or inf"),
        (ActionTuple(np.zeros((2, 1), np.float32), np.int32([[0], [3]])), "branch 0 has 3 choices .* chose 3"),
        (ActionTuple(np.zeros((2, 1), np.float32), np.int32([[-1], [0]])), "agent index 0 chose -1"),
    ],
)
def test_invalid_actions_name_behavior_and_field(actions: ActionTuple, message: str) -> None:
    with pytest.raises(ActionError, match=message) as error:
        ActionSpec.create_hybrid(1, (3,)).validate(actions, 2, "Walker")
    assert "'Walker'" in str(error.value)
