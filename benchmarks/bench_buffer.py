"""Rollout buffer: appending one step for 64 agents, and gathering a 1024-row minibatch.

Native (one call per step / per minibatch) against an ML-Agents-style dict of Python
lists (`AgentBuffer`: one list per field, one entry per agent and step), and the gather
against numpy fancy indexing and a plain numpy copy of the same number of bytes (the
bandwidth ceiling)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlagents_fast import _native
from mlagents_fast.buffer import RolloutBuffer, rollout_fields

STEPS, AGENTS, MINIBATCH = 256, 64, 1024
# What a PPO update reads per minibatch, and every field the rollout holds.
PPO_PLANES = ["obs_0", "continuous_action", "continuous_log_probs", "advantages", "returns.extrinsic",
              "value_estimates.extrinsic"]  # fmt: skip
LAYOUTS = [(8, "ppo"), (64, "ppo"), (64, "all")]


def make_buffer(obs_size: int) -> RolloutBuffer:
    buffer = RolloutBuffer(STEPS, AGENTS, rollout_fields([(obs_size,)], continuous_size=4))
    rng = np.random.default_rng(0)
    for array in buffer.arrays.values():
        array[...] = rng.normal(size=array.shape).astype(array.dtype)
    return buffer


def planes_of(buffer: RolloutBuffer, which: str) -> list[str]:
    return PPO_PLANES if which == "ppo" else list(buffer._planes)


def one_step(buffer: RolloutBuffer, planes: list[str]) -> list[np.ndarray]:
    return [np.ascontiguousarray(buffer._flat(p)[:AGENTS]) for p in planes]


def test_append_native(measure: Any) -> None:
    buffer = make_buffer(64)
    planes = planes_of(buffer, "all")
    writer, values = buffer.step_writer(planes), one_step(buffer, planes)
    step = iter(range(10**12))
    measure("append one step, 64 agents", "native", lambda: writer.write(next(step) % STEPS, values), AGENTS)


def test_append_dict_of_lists(measure: Any) -> None:
    buffer = make_buffer(64)
    planes = planes_of(buffer, "all")
    values = dict(zip(planes, one_step(buffer, planes), strict=True))
    lists: dict[str, list[np.ndarray]] = {p: [] for p in planes}

    def append() -> None:
        if len(lists["obs_0"]) >= STEPS * AGENTS:  # cleared after each update, as ML-Agents does
            for entries in lists.values():
                entries.clear()
        for name, array in values.items():
            entries = lists[name]
            for agent in range(AGENTS):
                entries.append(array[agent])

    measure("append one step, 64 agents", "dict_of_lists", append, AGENTS)


def gather_setup(obs_size: int, which: str) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, int]:
    buffer = make_buffer(obs_size)
    sources = [buffer._flat(p) for p in planes_of(buffer, which)]
    destinations = [np.empty((MINIBATCH, *s.shape[1:]), s.dtype) for s in sources]
    indices = np.random.default_rng(1).permutation(buffer.rows)[:MINIBATCH].astype(np.int64)
    return sources, destinations, indices, sum(d.nbytes for d in destinations)


@pytest.mark.parametrize("obs_size, which", LAYOUTS)
def test_gather_native(measure: Any, obs_size: int, which: str) -> None:
    sources, destinations, indices, nbytes = gather_setup(obs_size, which)
    plan = _native.GatherPlan(sources, destinations)
    measure(f"gather 1024 rows obs={obs_size} {which}", "native", lambda: plan.gather(indices), nbytes, "bytes")


@pytest.mark.parametrize("obs_size, which", LAYOUTS)
def test_gather_numpy_copy_same_bytes(measure: Any, obs_size: int, which: str) -> None:
    *_, nbytes = gather_setup(obs_size, which)
    source, destination = np.ones(nbytes, np.uint8), np.empty(nbytes, np.uint8)
    measure(f"gather 1024 rows obs={obs_size} {which}", "numpy_copy_same_bytes",
            lambda: np.copyto(destination, source), nbytes, "bytes")  # fmt: skip


@pytest.mark.parametrize("obs_size, which", LAYOUTS)
def test_gather_numpy_take(measure: Any, obs_size: int, which: str) -> None:
    sources, destinations, indices, nbytes = gather_setup(obs_size, which)

    def take() -> None:
        for source, destination in zip(sources, destinations, strict=True):
            np.take(source, indices, axis=0, out=destination)

    measure(f"gather 1024 rows obs={obs_size} {which}", "numpy_take", take, nbytes, "bytes")


@pytest.mark.parametrize("obs_size, which", LAYOUTS)
def test_gather_dict_of_lists(measure: Any, obs_size: int, which: str) -> None:
    sources, _, indices, nbytes = gather_setup(obs_size, which)
    lists = [list(source) for source in sources]
    order = indices.tolist()

    def stack() -> None:
        for entries in lists:
            np.asarray([entries[i] for i in order])

    measure(f"gather 1024 rows obs={obs_size} {which}", "dict_of_lists", stack, nbytes, "bytes")
