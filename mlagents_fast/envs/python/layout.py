"""Where a Python stepper keeps every behavior's arrays: one flat byte buffer, and row views per copy.

The same layout serves the in-process stepper (a numpy buffer) and the process stepper
(a shared-memory block that every worker maps). It is rebuilt from plain data
(`specs`, `agents_per_env`, `num_envs`) so a worker process computes the same offsets.

Two regions are packed without gaps so one numpy call covers all behaviors:
- every float32 field a copy writes and the stepper checks for NaN/inf (float observations,
  terminal observations, rewards, group rewards) -> `BoundArrays.checked`, one flat view
  (uint8 images, which cannot hold NaN, lie after it);
- every done flag (terminated, truncated) -> `BoundArrays.flags`, cleared before each step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.envs.vector import StepBatch
from mlagents_fast.spec import ActionTuple, BehaviorSpec

ALIGN = 64  # bytes; keeps arrays outside the packed regions on their own cache lines


@dataclass(frozen=True)
class ArraySlot:
    """One array's place in the buffer."""

    offset: int
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass(frozen=True)
class FieldPlace:
    """Where one behavior's field lives, and its name for error messages ("obs[0]", "reward")."""

    behavior: str
    field: str
    slot: ArraySlot


@dataclass(frozen=True)
class CopyViews:
    """What one copy reads and writes: its rows of every behavior's actions and StepBatch."""

    actions: dict[str, ActionTuple]
    out: dict[str, StepBatch]


@dataclass(frozen=True)
class BoundArrays:
    """The layout's arrays over one buffer."""

    batches: dict[str, StepBatch]
    actions: dict[str, ActionTuple]
    checked: NDArray[np.float32]
    flags: NDArray[np.bool_]


class BatchLayout:
    """Offsets of every array of every behavior for `num_envs` copies of a Python environment."""

    def __init__(self, specs: Mapping[str, BehaviorSpec], agents_per_env: Mapping[str, int], num_envs: int) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1; got {num_envs}.")
        if set(specs) != set(agents_per_env):
            raise ValueError(
                f"agents_per_env names behaviors {sorted(agents_per_env)} but the specs name {sorted(specs)}."
            )
        self.specs = dict(specs)
        self.agents_per_env = {name: int(agents_per_env[name]) for name in self.specs}
        self.num_envs = num_envs
        self._cursor = 0
        self.places: list[FieldPlace] = []
        self._slots: dict[tuple[str, str], ArraySlot] = {}
        self._plan()

    def __reduce__(self) -> tuple[Any, ...]:
        return (BatchLayout, (self.specs, self.agents_per_env, self.num_envs))

    def num_agents(self, behavior: str) -> int:
        return self.agents_per_env[behavior] * self.num_envs

    def _add(self, behavior: str, field: str, shape: tuple[int, ...], dtype: str, align: int) -> None:
        self._cursor = -(-self._cursor // align) * align
        slot = ArraySlot(self._cursor, shape, dtype)
        self._cursor += slot.nbytes
        self._slots[behavior, field] = slot
        self.places.append(FieldPlace(behavior, field, slot))

    def _plan(self) -> None:
        start = self._cursor
        for name, spec in self.specs.items():
            n = self.num_agents(name)
            for k, obs in enumerate(spec.observation_specs):
                if obs.dtype == "float32":
                    self._add(name, f"obs[{k}]", (n, *obs.shape), "float32", 4)
            for k, obs in enumerate(spec.observation_specs):
                if obs.dtype == "float32":
                    self._add(name, f"terminal_obs[{k}]", (n, *obs.shape), "float32", 4)
            self._add(name, "reward", (n,), "float32", 4)
            self._add(name, "group_reward", (n,), "float32", 4)
        self.checked_span = (start, self._cursor)
        for name, spec in self.specs.items():
            n = self.num_agents(name)
            for k, obs in enumerate(spec.observation_specs):
                if obs.dtype != "float32":
                    self._add(name, f"obs[{k}]", (n, *obs.shape), obs.dtype, ALIGN)
                    self._add(name, f"terminal_obs[{k}]", (n, *obs.shape), obs.dtype, ALIGN)
        self._cursor = -(-self._cursor // ALIGN) * ALIGN
        start = self._cursor
        for name in self.specs:
            self._add(name, "terminated", (self.num_agents(name),), "bool", 1)
            self._add(name, "truncated", (self.num_agents(name),), "bool", 1)
        self.flags_span = (start, self._cursor)
        for name, spec in self.specs.items():
            n = self.num_agents(name)
            action = spec.action_spec
            mask_width = sum(action.discrete_branches)
            if mask_width:
                self._add(name, "action_mask", (n, mask_width), "bool", ALIGN)
            for field, dtype in (("agent_id", "int32"), ("group_id", "int32"), ("episode_return", "float32")):
                self._add(name, field, (n,), dtype, ALIGN)
            self._add(name, "episode_length", (n,), "int32", ALIGN)
            self._add(name, "absent", (n,), "bool", ALIGN)
            self._add(name, "continuous", (n, action.continuous_size), "float32", ALIGN)
            self._add(name, "discrete", (n, action.discrete_size), "int32", ALIGN)
        self.nbytes = max(-(-self._cursor // ALIGN) * ALIGN, ALIGN)

    def bind(self, buffer: Any) -> BoundArrays:
        """Views of every array over `buffer` (anything exposing at least `nbytes` bytes)."""

        def view(behavior: str, field: str) -> NDArray[Any]:
            slot = self._slots[behavior, field]
            array: NDArray[Any] = np.ndarray(slot.shape, np.dtype(slot.dtype), buffer=buffer, offset=slot.offset)
            return array

        batches: dict[str, StepBatch] = {}
        actions: dict[str, ActionTuple] = {}
        for name, spec in self.specs.items():
            count = len(spec.observation_specs)
            batches[name] = StepBatch(
                obs=tuple(view(name, f"obs[{k}]") for k in range(count)),
                terminal_obs=tuple(view(name, f"terminal_obs[{k}]") for k in range(count)),
                reward=view(name, "reward"),
                terminated=view(name, "terminated"),
                truncated=view(name, "truncated"),
                action_mask=view(name, "action_mask") if (name, "action_mask") in self._slots else None,
                agent_id=view(name, "agent_id"),
                group_id=view(name, "group_id"),
                group_reward=view(name, "group_reward"),
                episode_return=view(name, "episode_return"),
                episode_length=view(name, "episode_length"),
                absent=view(name, "absent"),
            )
            actions[name] = ActionTuple(view(name, "continuous"), view(name, "discrete"))
        low, high = self.checked_span
        checked = np.ndarray(((high - low) // 4,), np.float32, buffer=buffer, offset=low)
        low, high = self.flags_span
        flags = np.ndarray((high - low,), np.bool_, buffer=buffer, offset=low)
        return BoundArrays(batches, actions, checked, flags)

    def copy_views(self, arrays: BoundArrays, copy: int) -> CopyViews:
        """Copy `copy`'s rows [copy * agents_per_env, (copy + 1) * agents_per_env) of every array."""
        out: dict[str, StepBatch] = {}
        actions: dict[str, ActionTuple] = {}
        for name, batch in arrays.batches.items():
            rows = slice(copy * self.agents_per_env[name], (copy + 1) * self.agents_per_env[name])
            out[name] = StepBatch(
                obs=tuple(o[rows] for o in batch.obs),
                terminal_obs=tuple(o[rows] for o in batch.terminal_obs),
                reward=batch.reward[rows],
                terminated=batch.terminated[rows],
                truncated=batch.truncated[rows],
                action_mask=None if batch.action_mask is None else batch.action_mask[rows],
                agent_id=batch.agent_id[rows],
                group_id=batch.group_id[rows],
                group_reward=batch.group_reward[rows],
                episode_return=batch.episode_return[rows],
                episode_length=batch.episode_length[rows],
                absent=None if batch.absent is None else batch.absent[rows],
            )
            acts = arrays.actions[name]
            actions[name] = ActionTuple(acts.continuous[rows], acts.discrete[rows])
        return CopyViews(actions, out)

    def field_array(self, arrays: BoundArrays, place: FieldPlace) -> NDArray[Any]:
        """The whole-batch array behind `place` (for locating a bad value)."""
        batch = arrays.batches[place.behavior]
        if place.field.startswith(("obs[", "terminal_obs[")):
            k = int(place.field[place.field.index("[") + 1 : -1])
            observations: tuple[NDArray[np.float32], ...] = (
                batch.obs if place.field.startswith("obs[") else batch.terminal_obs
            )
            return observations[k]
        array: NDArray[Any] = getattr(batch, place.field)
        return array

    def checked_places(self) -> list[FieldPlace]:
        low, high = self.checked_span
        return [p for p in self.places if low <= p.slot.offset < high]


def allocate_local(layout: BatchLayout) -> tuple[NDArray[np.uint8], BoundArrays]:
    """A zeroed private buffer for `layout` (in-process stepping) and its arrays, agent ids filled."""
    buffer = np.zeros(layout.nbytes, np.uint8)
    arrays = layout.bind(buffer)
    fill_agent_ids(arrays)
    return buffer, arrays


def fill_agent_ids(arrays: BoundArrays) -> None:
    for batch in arrays.batches.values():
        batch.agent_id[:] = np.arange(batch.agent_id.shape[0], dtype=np.int32)
