"""Rollout buffer: gather a shuffled 1024-row minibatch.

The layout is a small continuous-control task: one observation (64 floats, or 8),
4 continuous actions, and the per-signal fields of one reward signal; T=256 steps,
N=64 agents (16384 rows). The gather reads either every field (310 bytes a row) or
what a PPO update reads (observation, actions, log-probs, advantages, returns, value
estimates).

Ours: a `Gatherer` (one native call per minibatch). References:

* `dict_of_lists`: ML-Agents' `AgentBuffer` layout, one Python list per field with one
  entry per agent and step; a minibatch is `np.asarray` of the picked entries;
* `numpy_take`: `np.take(source, indices, axis=0, out=destination)` per field;
* `numpy_copy_same_bytes`: `np.copyto` of one contiguous array holding as
  many bytes as the minibatch, the bandwidth ceiling; the table gives our bandwidth as a
  share of it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from mlagents_fast.buffer import RolloutBuffer, rollout_fields

# The `timed` fixture (conftest.py): timed(group, extra_info, function, *args).
Timed = Callable[..., object]

STEPS, AGENTS, MINIBATCH = 256, 64, 1024
PPO_PLANES = ["obs_0", "continuous_action", "continuous_log_probs", "advantages", "returns.extrinsic",
              "value_estimates.extrinsic"]  # fmt: skip
# (observation size, planes gathered): every field, and a PPO minibatch at two observation sizes.
LAYOUTS = [(64, "all"), (64, "ppo"), (8, "ppo")]

Array = NDArray[np.generic]


def make_buffer(obs_size: int = 64) -> RolloutBuffer:
    buffer = RolloutBuffer(STEPS, AGENTS, rollout_fields(obs_shapes=[(obs_size,)], continuous_size=4))
    rng = np.random.default_rng(0)
    for array in buffer.arrays.values():
        array[...] = rng.normal(size=array.shape) > 0 if array.dtype == np.bool_ else rng.normal(size=array.shape)
    return buffer


def planes(buffer: RolloutBuffer, which: str = "all") -> dict[str, Array]:
    """The chosen planes (every one, or a PPO minibatch's) as flat `[T * N, *shape]` views."""
    names = buffer.planes if which == "all" else PPO_PLANES
    return {name: buffer.flat(name) for name in names}


def row_bytes(sources: dict[str, Array]) -> int:
    return sum(array.itemsize * int(np.prod(array.shape[1:])) for array in sources.values())


def as_lists(sources: dict[str, Array]) -> dict[str, list[object]]:
    """The same rows in ML-Agents' layout: one entry (its own array, or a scalar) per row."""
    return {
        name: [np.array(row) for row in array] if array.ndim > 1 else list(array) for name, array in sources.items()
    }


# Gather ---------------------------------------------------------------------------------


def gather_group(obs_size: int, which: str) -> str:
    return f"gather {MINIBATCH} of {STEPS * AGENTS} rows, obs {obs_size}, {which} fields"


def gather_setup(obs_size: int, which: str) -> tuple[RolloutBuffer, dict[str, Array], NDArray[np.int64], int]:
    buffer = make_buffer(obs_size)
    sources = planes(buffer, which)
    indices = np.random.default_rng(1).permutation(STEPS * AGENTS)[:MINIBATCH].astype(np.int64)
    return buffer, sources, indices, MINIBATCH * row_bytes(sources)


def expected(sources: dict[str, Array], indices: NDArray[np.int64]) -> dict[str, Array]:
    return {name: src[indices] for name, src in sources.items()}


def assert_same(batch: dict[str, Array], reference: dict[str, Array]) -> None:
    for name, array in reference.items():
        np.testing.assert_array_equal(batch[name], array, err_msg=name)


@pytest.mark.parametrize("obs_size, which", LAYOUTS)
def test_gather_native(timed: Timed, obs_size: int, which: str) -> None:
    buffer, sources, indices, nbytes = gather_setup(obs_size, which)
    gatherer = buffer.gatherer(MINIBATCH, list(sources))

    assert_same(gatherer.gather(indices), expected(sources, indices))  # also the warm-up
    timed(
        gather_group(obs_size, which), dict(role="native", elements=MINIBATCH, bytes=nbytes), gatherer.gather, indices
    )


@pytest.mark.parametrize("obs_size, which", LAYOUTS)
def test_gather_dict_of_lists(timed: Timed, obs_size: int, which: str) -> None:
    _, sources, indices, nbytes = gather_setup(obs_size, which)
    lists = as_lists(sources)
    idx = indices.tolist()

    def run() -> dict[str, Array]:
        return {name: np.asarray([lst[i] for i in idx]) for name, lst in lists.items()}

    assert_same(run(), expected(sources, indices))  # also the warm-up
    timed(
        gather_group(obs_size, which),
        dict(role="reference:dict_of_lists", elements=MINIBATCH, bytes=nbytes, target=10),
        run,
    )


@pytest.mark.parametrize("obs_size, which", LAYOUTS)
def test_gather_numpy_take(timed: Timed, obs_size: int, which: str) -> None:
    _, sources, indices, nbytes = gather_setup(obs_size, which)
    destinations = {name: np.empty((MINIBATCH, *src.shape[1:]), src.dtype) for name, src in sources.items()}
    pairs = [(sources[name], destinations[name]) for name in sources]

    def run() -> None:
        for src, dst in pairs:
            np.take(src, indices, axis=0, out=dst)

    run()
    assert_same(destinations, expected(sources, indices))
    timed(gather_group(obs_size, which), dict(role="reference:numpy_take", elements=MINIBATCH, bytes=nbytes), run)


def time_copy_same_bytes(timed: Timed, group: str, nbytes: int, **target: float) -> None:
    """`np.copyto` of one contiguous array of `nbytes` bytes: the bandwidth ceiling of `group`."""
    src = np.random.default_rng(2).integers(0, 256, nbytes, dtype=np.uint8)
    info = dict(role="reference:numpy_copy_same_bytes", elements=MINIBATCH, bytes=nbytes, **target)
    timed(group, info, np.copyto, np.empty_like(src), src)


@pytest.mark.parametrize("obs_size, which", LAYOUTS)
def test_gather_numpy_copy_same_bytes(timed: Timed, obs_size: int, which: str) -> None:
    *_, nbytes = gather_setup(obs_size, which)
    time_copy_same_bytes(timed, gather_group(obs_size, which), nbytes, target=0.5)


# The obs-8 PPO gather again with its rows in storage order (0, 1, ..., 1023): each cache line
# it reads is used whole and streamed, so what is left is one copy per field and row (six a row
# here). No order of the rows can do better, so this bounds the shuffled gather above; the copy
# of the same bytes is measured beside it, without a target.
IN_ORDER = (8, "ppo")


def in_order_group() -> str:
    return gather_group(*IN_ORDER) + ", rows in order"


def test_gather_native_rows_in_order(timed: Timed) -> None:
    buffer, sources, _, nbytes = gather_setup(*IN_ORDER)
    gatherer = buffer.gatherer(MINIBATCH, list(sources))
    rows = np.arange(MINIBATCH, dtype=np.int64)

    assert_same(gatherer.gather(rows), expected(sources, rows))  # also the warm-up
    timed(in_order_group(), dict(role="native", elements=MINIBATCH, bytes=nbytes), gatherer.gather, rows)


def test_gather_rows_in_order_numpy_copy_same_bytes(timed: Timed) -> None:
    *_, nbytes = gather_setup(*IN_ORDER)
    time_copy_same_bytes(timed, in_order_group(), nbytes)
