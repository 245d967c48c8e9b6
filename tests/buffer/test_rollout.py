"""Rollout buffer: flat plane views, gathers, shuffled and sequence minibatches, against numpy indexing."""

from __future__ import annotations

import numpy as np
import pytest

from mlagents_fast import _native
from mlagents_fast.buffer import RolloutBuffer, rollout_fields

STEPS, AGENTS = 12, 5


def filled_buffer(seed: int = 0) -> RolloutBuffer:
    fields = rollout_fields([(3,), (2, 2)], continuous_size=2, discrete_branches=(3, 2), memory_size=4)
    buffer = RolloutBuffer(STEPS, AGENTS, fields, signals=("extrinsic", "curiosity"))
    rng = np.random.default_rng(seed)
    for array in buffer.arrays.values():
        array[...] = rng.integers(0, 2, array.shape) if array.dtype == np.bool_ else rng.normal(size=array.shape)
    return buffer


def flat_reference(buffer: RolloutBuffer, plane: str, rows: np.ndarray) -> np.ndarray:
    """numpy fancy indexing of the plane seen as [T * N, ...]."""
    name, _, signal = plane.partition(".")
    array = buffer[name][buffer.signals.index(signal)] if signal else buffer[name]
    return array.reshape(STEPS * AGENTS, *array.shape[2:])[rows]


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


def test_minibatches_cover_every_row_once_and_match_numpy_gather() -> None:
    buffer = filled_buffer()
    rng = _native.Rng(7)
    seen = []
    for batch in buffer.minibatches(10, rng, planes=["obs_0", "action_mask", "returns.curiosity"]):
        # Recover the row indices from a field that is unique per row.
        rows = np.array([np.flatnonzero((flat_reference(buffer, "obs_0", np.arange(60)) == r).all(1))[0]
                         for r in batch["obs_0"]])  # fmt: skip
        for plane in ("obs_0", "action_mask", "returns.curiosity"):
            np.testing.assert_array_equal(batch[plane], flat_reference(buffer, plane, rows))
        seen.extend(rows)
    assert sorted(seen) == list(range(STEPS * AGENTS))


def test_partial_last_minibatch_is_dropped() -> None:
    buffer = filled_buffer()
    assert len(list(buffer.minibatches(16, _native.Rng(0)))) == (STEPS * AGENTS) // 16


def test_sequence_minibatches_hold_consecutive_steps_of_one_agent() -> None:
    buffer = filled_buffer()
    step_of_row = np.repeat(np.arange(STEPS, dtype=np.float32), AGENTS)
    agent_of_row = np.tile(np.arange(AGENTS, dtype=np.float32), STEPS)
    buffer["obs_0"][..., 0] = step_of_row.reshape(STEPS, AGENTS)
    buffer["obs_0"][..., 1] = agent_of_row.reshape(STEPS, AGENTS)
    sequence_length, batch_size = 5, 12  # 12 - 12 % 5 = 10 rows: two sequences
    count = 0
    for batch in buffer.sequence_minibatches(batch_size, sequence_length, _native.Rng(3), planes=["obs_0", "memory"]):
        assert batch["obs_0"].shape == (10, 3)
        for seq in range(2):
            rows = slice(seq * sequence_length, (seq + 1) * sequence_length)
            obs, mask = batch["obs_0"][rows], batch["mask"][rows]
            assert len(set(obs[mask, 1])) == 1, "one agent per sequence"
            steps = obs[mask, 0]
            assert steps[0] % sequence_length == 0
            np.testing.assert_array_equal(steps, steps[0] + np.arange(mask.sum()))
            assert (obs[~mask] == 0).all() and (batch["memory"][rows][~mask] == 0).all()
            assert mask[: mask.sum()].all(), "padding only at the end"
        count += 1
    assert count == 3 * AGENTS * sequence_length // 10  # ceil(12 / 5) = 3 chunks per agent


def test_minibatches_are_reproducible_from_the_rng_state() -> None:
    buffer = filled_buffer()
    rng = _native.Rng(11)
    saved = rng.state()
    first = [batch["obs_0"].copy() for batch in buffer.minibatches(20, rng)]
    rng.set_state(saved)
    again = [batch["obs_0"].copy() for batch in buffer.minibatches(20, rng)]
    other = [batch["obs_0"].copy() for batch in buffer.minibatches(20, _native.Rng(12))]
    np.testing.assert_array_equal(np.stack(first), np.stack(again))
    assert not np.array_equal(np.stack(first), np.stack(other))


def test_minibatch_destinations_come_from_the_allocator() -> None:
    buffer = filled_buffer()
    made: list[np.ndarray] = []

    def allocator(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:  # type: ignore[type-arg]
        made.append(np.zeros(shape, dtype))
        return made[-1]

    batch = next(buffer.minibatches(8, _native.Rng(0), planes=["obs_1", "discrete_action"], allocator=allocator))
    assert batch["obs_1"] is made[0] and batch["discrete_action"] is made[1]
    assert made[0].shape == (8, 2, 2) and made[1].dtype == np.int32


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="steps and agents must be > 0"):
        RolloutBuffer(0, 4, rollout_fields([(3,)]))
    buffer = filled_buffer()
    with pytest.raises(ValueError, match="sequence_length must lie in"):
        next(buffer.sequence_minibatches(4, 8, _native.Rng(0)))


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
