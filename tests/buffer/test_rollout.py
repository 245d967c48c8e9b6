"""Rollout buffer: zeroed, aligned fields, flat plane views and gathers, against numpy indexing."""

from __future__ import annotations

import numpy as np
import pytest

from mlagents_fast.buffer import RolloutBuffer, rollout_fields

STEPS, AGENTS = 12, 5


def filled_buffer(seed: int = 0) -> RolloutBuffer:
    fields = rollout_fields([(3,), (2, 2)], continuous_size=2, discrete_branches=(3, 2), memory_size=4)
    buffer = RolloutBuffer(STEPS, AGENTS, fields, signals=("extrinsic", "curiosity"))
    rng = np.random.default_rng(seed)
    for array in buffer.arrays.values():
        array[...] = rng.integers(0, 2, array.shape) if array.dtype == np.bool_ else rng.normal(size=array.shape)
    return buffer


def test_gatherer_returns_chosen_rows_of_public_flat_views() -> None:
    buffer = filled_buffer()
    assert buffer.planes[:2] == ["obs_0", "obs_1"] and "returns.curiosity" in buffer.planes
    gatherer = buffer.gatherer(8, planes=["obs_1", "value_estimates.extrinsic"])
    rows = np.array([59, 0, -1, 17], np.int64)
    batch = gatherer.gather(rows)
    assert batch["obs_1"].shape == (4, 2, 2)
    np.testing.assert_array_equal(batch["obs_1"][[0, 1, 3]], buffer.flat("obs_1")[[59, 0, 17]])
    assert (batch["obs_1"][2] == 0).all()
    np.testing.assert_array_equal(
        batch["value_estimates.extrinsic"][[0, 3]], buffer["value_estimates"][0].ravel()[[59, 17]]
    )


def test_gathered_destinations_come_from_the_allocator() -> None:
    buffer = filled_buffer()
    made: list[np.ndarray] = []

    def allocator(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:  # type: ignore[type-arg]
        made.append(np.zeros(shape, dtype))
        return made[-1]

    gatherer = buffer.gatherer(8, planes=["obs_1", "discrete_action"], allocator=allocator)
    batch = gatherer.gather(np.arange(8, dtype=np.int64))
    assert batch["obs_1"] is made[0] and batch["discrete_action"] is made[1]
    assert made[0].shape == (8, 2, 2) and made[1].dtype == np.int32


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="steps and agents must be > 0"):
        RolloutBuffer(0, 4, rollout_fields([(3,)]))


@pytest.mark.parametrize("steps", [3, 4096])  # a small arena from numpy, and one over 2 MiB (huge-page mapping)
def test_fields_are_zeroed_cache_line_aligned_and_do_not_overlap(steps: int) -> None:
    buffer = RolloutBuffer(steps, 64, rollout_fields(obs_shapes=[(7,)], discrete_branches=[3, 2]), ("a", "b"))
    for name, array in buffer.arrays.items():
        assert array.ctypes.data % 64 == 0, name
        assert array.flags.c_contiguous and array.flags.writeable and not array.any(), name
    for name, array in buffer.arrays.items():
        array[...] = 1
        for other_name, other in buffer.arrays.items():
            assert other_name == name or not other.any(), (name, other_name)
        array[...] = 0
