"""Unity's agents in the fixed slots of a VectorEnv behavior.

Unity names agents by id, and an agent's id changes with each episode; agents ask for decisions
when they choose (a DecisionRequester's period), and one that ends its episode sends a final
info with `done` (and `max_step_reached` when it was cut). Here each behavior of each Unity
process has a fixed number of slots, as many as agents it showed at its first step: an agent
keeps its slot for its episode, an ended episode frees it, a new id takes the lowest free slot
(Unity does not say which agent a new id continues), and a slot whose agent asks nothing this
step is `absent`. The infos of one process's output are written straight into the behavior's
StepBatch arrays, and its actions read back in the order Unity sent the agents.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from numpy.typing import NDArray

from mlagents_fast.communicator_objects.agent_action_pb2 import AgentActionProto
from mlagents_fast.communicator_objects.agent_info_pb2 import AgentInfoProto
from mlagents_fast.communicator_objects.observation_pb2 import PNG, ObservationProto
from mlagents_fast.demonstrations import png
from mlagents_fast.envs.vector import EnvError, StepBatch
from mlagents_fast.spec import ActionTuple, BehaviorSpec


def decode_observation(proto: ObservationProto, shape: tuple[int, ...]) -> NDArray[np.float32]:
    """One agent's observation as float32 of `shape` (PNG images channel-first in [0, 1])."""
    if proto.compression_type == PNG:
        value = png.decode_observation(proto.compressed_data, shape[0], list(proto.compressed_channel_mapping))
    else:
        value = np.asarray(proto.float_data.data, np.float32)
    size = math.prod(shape)
    if value.size != size:
        raise EnvError(f"an observation holds {value.size} values; its shape {shape} needs {size}")
    return value.reshape(shape)


class AgentSlots:
    """One behavior's slots across the Unity processes: `slots[k]` of process k from `offsets[k]`."""

    def __init__(self, behavior: str, spec: BehaviorSpec, slots: list[int]) -> None:
        self.behavior, self.spec = behavior, spec
        self.offsets = np.concatenate([[0], np.cumsum(slots)]).astype(np.intp)
        total = int(self.offsets[-1])
        self.batch = StepBatch.allocate(spec, total)
        assert self.batch.absent is not None
        self.absent = self.batch.absent
        action = spec.action_spec
        self.actions = ActionTuple(np.zeros((total, action.continuous_size), np.float32),
                                   np.zeros((total, len(action.discrete_branches)), np.int32))  # fmt: skip
        self.slot_of: list[dict[int, int]] = [{} for _ in slots]  # agent id -> slot, per process
        self.free: list[list[int]] = [list(range(int(self.offsets[k]), int(self.offsets[k + 1]))) for k in
                                      range(len(slots))]  # fmt: skip
        self.order: list[list[int]] = [[] for _ in slots]  # the slots that asked, in Unity's order
        self._return = np.zeros(total, np.float32)
        self._length = np.zeros(total, np.int32)
        self._shapes = [o.shape for o in spec.observation_specs]
        self._mask_width = sum(action.discrete_branches)

    def begin_step(self, process: int) -> None:
        """Clear the per-step fields of process `process`'s slots before its output is read."""
        part = slice(int(self.offsets[process]), int(self.offsets[process + 1]))
        b = self.batch
        b.reward[part] = 0.0
        b.terminated[part] = False
        b.truncated[part] = False
        b.group_reward[part] = 0.0
        self.absent[part] = True
        self.order[process] = []

    def forget_agents(self, process: int) -> None:
        """A reset: every agent of process `process` is gone (their slots free, totals zero)."""
        lo, hi = int(self.offsets[process]), int(self.offsets[process + 1])
        self.slot_of[process].clear()
        self.free[process] = list(range(lo, hi))
        self._return[lo:hi] = 0.0
        self._length[lo:hi] = 0

    def interrupt_all(self, process: int) -> None:
        """Process `process` failed: each of its agents' episodes ends as interrupted (truncated, from
        the last observation it sent), and its slots are free for the restarted process's agents."""
        b = self.batch
        for slot in self.slot_of[process].values():
            for final, current in zip(b.terminal_obs, b.obs, strict=True):
                final[slot] = current[slot]
            b.truncated[slot] = True
            b.episode_return[slot] = self._return[slot]
            b.episode_length[slot] = self._length[slot]
        self.forget_agents(process)

    def read(self, process: int, infos: list[AgentInfoProto]) -> None:
        """Write one output's infos of this behavior (process `process`) into the batch."""
        b = self.batch
        slot_of, free = self.slot_of[process], self.free[process]
        for info in infos:  # the ends first: their slots may go to new agents of this same output
            if not info.done:
                continue
            slot = slot_of.pop(info.id, None)
            if slot is None:  # (an agent that ended before it ever asked for a decision)
                continue
            self._write_observations(info, slot, b.terminal_obs)
            self._check_reward(info)
            b.reward[slot] = info.reward
            b.terminated[slot] = not info.max_step_reached
            b.truncated[slot] = info.max_step_reached
            b.group_reward[slot] = info.group_reward
            b.episode_return[slot] = self._return[slot] + info.reward
            b.episode_length[slot] = self._length[slot]
            self._return[slot] = 0.0
            self._length[slot] = 0
            heapq.heappush(free, slot)
        order = self.order[process]
        asking = [info for info in infos if not info.done]
        for info in asking:
            slot = slot_of.get(info.id)
            if slot is None:
                if not free:
                    raise EnvError(
                        f"behavior {self.behavior!r} of Unity process {process} has more agents asking for decisions "
                        f"at once ({len(slot_of) + 1}) than it showed at its first step "
                        f"({int(self.offsets[process + 1] - self.offsets[process])}); mlagents-fast gives each "
                        "agent a fixed slot. Have every agent present when the scene starts."
                    )
                slot = heapq.heappop(free)
                slot_of[info.id] = slot
            order.append(slot)
        if asking:  # (one numpy call per field for all the agents that asked)
            rows = np.asarray(order, np.intp)
            self._write_all(asking, rows, b.obs)
            rewards = np.array([info.reward for info in asking], np.float32)
            group_rewards = np.array([info.group_reward for info in asking], np.float32)
            if not (np.isfinite(rewards).all() and np.isfinite(group_rewards).all()):
                for info in asking:
                    self._check_reward(info)
            b.reward[rows] += rewards
            b.group_reward[rows] += group_rewards
            b.group_id[rows] = [info.group_id for info in asking]
            b.agent_id[rows] = [info.id for info in asking]
            if self._mask_width:
                assert b.action_mask is not None
                width = self._mask_width
                b.action_mask[rows] = [info.action_mask if len(info.action_mask) == width else [False] * width
                                       for info in asking]  # fmt: skip
            self.absent[rows] = False
            self._return[rows] += rewards
            self._length[rows] += 1
        self._check_finite(order)

    def _write_all(self, infos: list[AgentInfoProto], rows: NDArray[np.intp],
                   planes: tuple[NDArray[np.float32], ...]) -> None:  # fmt: skip
        """Every asking agent's observations into `planes` at `rows`: float data in one call per
        observation, PNG images one by one."""
        for info in infos:
            if len(info.observations) != len(planes):
                raise EnvError(f"behavior {self.behavior!r}: agent {info.id} sent {len(info.observations)} "
                               f"observations; the behavior has {len(planes)}")  # fmt: skip
        for i, (plane, shape) in enumerate(zip(planes, self._shapes, strict=True)):
            protos = [info.observations[i] for info in infos]
            if any(proto.compression_type == PNG for proto in protos):
                for row, proto in zip(rows.tolist(), protos, strict=True):
                    plane[row] = decode_observation(proto, shape)
                continue
            size = math.prod(shape)
            try:
                values = np.array([proto.float_data.data for proto in protos], np.float32)
            except ValueError:  # (ragged: some agent sent another size; say which)
                values = np.zeros(0, np.float32)
            if values.shape != (len(protos), size):
                for proto in protos:
                    decode_observation(proto, shape)  # raises, naming the sizes
            plane[rows] = values.reshape(len(protos), *shape)

    def _check_finite(self, order: list[int]) -> None:
        """NaN or infinity in this output's observations is refused (one check over the batch)."""
        b = self.batch
        ended = np.flatnonzero(b.terminated | b.truncated).tolist()
        for planes, slots in ((b.obs, order), (b.terminal_obs, ended)):
            for plane in planes:
                if slots and not np.isfinite(plane[slots]).all():
                    bad = next(s for s in slots if not np.isfinite(plane[s]).all())
                    raise EnvError(f"behavior {self.behavior!r}: agent {int(b.agent_id[bad])} sent an observation "
                                   "holding NaN or infinity; check the game's CollectObservations")  # fmt: skip

    def _write_observations(self, info: AgentInfoProto, slot: int, planes: tuple[NDArray[np.float32], ...]) -> None:
        if len(info.observations) != len(planes):
            raise EnvError(f"behavior {self.behavior!r}: agent {info.id} sent {len(info.observations)} observations; "
                           f"the behavior has {len(planes)}")  # fmt: skip
        for plane, proto, shape in zip(planes, info.observations, self._shapes, strict=True):
            plane[slot] = decode_observation(proto, shape)

    def _check_reward(self, info: AgentInfoProto) -> None:
        if not (math.isfinite(info.reward) and math.isfinite(info.group_reward)):
            raise EnvError(f"behavior {self.behavior!r}: agent {info.id} sent a reward of {info.reward} (group reward "
                           f"{info.group_reward}); rewards must be finite numbers")  # fmt: skip

    def write_actions(self, process: int, into: RepeatedCompositeFieldContainer[AgentActionProto]) -> None:
        """The actions of the slots that asked (in the order Unity sent them), checked against the
        spec, added to `into` (the input's list for this behavior; built in place, not copied)."""
        order = self.order[process]
        if not order:
            return
        action = self.spec.action_spec
        rows = np.asarray(order, np.intp)
        continuous, discrete = self.actions.continuous[rows], self.actions.discrete[rows]
        action.validate(ActionTuple(continuous, discrete), len(rows), self.behavior)
        continuous_rows = continuous.tolist() if action.continuous_size else None
        discrete_rows = discrete.tolist() if action.discrete_branches else None
        for k in range(len(rows)):
            proto = into.add()
            if continuous_rows is not None:
                proto.continuous_actions.extend(continuous_rows[k])
            if discrete_rows is not None:
                proto.discrete_actions.extend(discrete_rows[k])
