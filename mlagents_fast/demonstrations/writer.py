"""Writing `.demo` files: records streamed after a zeroed header that `close()` fills with the totals."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.demonstrations.format import (
    ACTION_CONTINUOUS,
    ACTION_DEPRECATED,
    ACTION_DISCRETE,
    BRAIN_ACTION_SIZES,
    BRAIN_ACTION_SPEC,
    BRAIN_NAME,
    BRAIN_SPACE_TYPE,
    BRAIN_TRAINING,
    FLOAT_DATA,
    INFO_DONE,
    INFO_GROUP,
    INFO_GROUP_REWARD,
    INFO_ID,
    INFO_MASK,
    INFO_MAX_STEP,
    INFO_OBS,
    INFO_REWARD,
    INITIAL_POS,
    MAX_NAME_LENGTH,
    META_API,
    META_EPISODES,
    META_MEAN_REWARD,
    META_NAME,
    META_STEPS,
    OBS_DIMS,
    OBS_FLOATS,
    OBS_NAME,
    OBS_SHAPE,
    OBS_TYPE,
    PAIR_ACTION,
    PAIR_INFO,
    SPEC_BRANCHES,
    SPEC_CONTINUOUS,
    SPEC_NUM_DISCRETE,
    Demonstration,
    DemonstrationError,
    DemonstrationMeta,
)
from mlagents_fast.demonstrations.wire import MessageWriter, encode_varint
from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec


def _meta_message(meta: DemonstrationMeta) -> bytes:
    name = meta.name[:MAX_NAME_LENGTH]
    while True:
        body = (
            MessageWriter()
            .varint(META_API, meta.api_version)
            .string(META_NAME, name)
            .varint(META_STEPS, meta.number_steps)
            .varint(META_EPISODES, meta.number_episodes)
            .float32(META_MEAN_REWARD, meta.mean_reward)
            .to_bytes()
        )
        message = encode_varint(len(body)) + body
        if len(message) <= INITIAL_POS:
            return message
        if not name:
            raise DemonstrationError(f"demonstration totals too large for the {INITIAL_POS}-byte header: {meta}")
        name = name[:-1]  # large step counts need the room: shorten the name until it fits


def _brain_message(behavior_name: str, action_spec: ActionSpec) -> bytes:
    spec_proto = (
        MessageWriter()
        .varint(SPEC_CONTINUOUS, action_spec.continuous_size)
        .varint(SPEC_NUM_DISCRETE, action_spec.discrete_size)
        .packed_varints(SPEC_BRANCHES, action_spec.discrete_branches)
    )
    brain = MessageWriter()
    # Readers older than the action spec only understand a purely continuous or purely discrete space.
    if action_spec.continuous_size and not action_spec.discrete_size:
        brain.packed_varints(BRAIN_ACTION_SIZES, [action_spec.continuous_size]).varint(BRAIN_SPACE_TYPE, 1)
    elif action_spec.discrete_size and not action_spec.continuous_size:
        brain.packed_varints(BRAIN_ACTION_SIZES, action_spec.discrete_branches)
    return brain.string(BRAIN_NAME, behavior_name).varint(BRAIN_TRAINING, True).message(
        BRAIN_ACTION_SPEC, spec_proto
    ).to_bytes()  # fmt: skip


def _observation_message(value: NDArray[np.float32], spec: ObservationSpec) -> MessageWriter:
    return (
        MessageWriter()
        .packed_varints(OBS_SHAPE, spec.shape)
        .message(OBS_FLOATS, MessageWriter().packed_floats(FLOAT_DATA, value.ravel()))
        .packed_varints(OBS_DIMS, [int(d) for d in spec.dimension_property])
        .varint(OBS_TYPE, int(spec.observation_type))
        .string(OBS_NAME, spec.name)
    )


class DemonstrationWriter:
    """Streams records into a `.demo` file; `close()` writes the header with the totals.

    Use as a context manager. Observations are stored uncompressed (float data), which
    every ML-Agents reader accepts.
    """

    def __init__(self, path: str | os.PathLike[str], behavior_name: str, spec: BehaviorSpec, name: str = "") -> None:
        self.path = Path(path)
        self.spec = spec
        self.name = name or self.path.stem
        self.number_steps = 0
        self.number_episodes = 0
        self._reward_sum = 0.0
        self._file: BinaryIO | None = open(self.path, "wb")  # closed in close()
        self._file.write(bytes(INITIAL_POS))
        self._write_delimited(_brain_message(behavior_name, spec.action_spec))

    def _write_delimited(self, message: bytes) -> None:
        if self._file is None:
            raise DemonstrationError(f"demonstration writer for {self.path} is closed")
        self._file.write(encode_varint(len(message)))
        self._file.write(message)

    def record(
        self,
        obs: Sequence[NDArray[np.float32]],
        continuous_action: NDArray[np.float32] | Sequence[float] = (),
        discrete_action: NDArray[np.int32] | Sequence[int] = (),
        *,
        reward: float = 0.0,
        done: bool = False,
        max_step_reached: bool = False,
        agent_id: int = 0,
        action_mask: NDArray[np.bool_] | Sequence[bool] | None = None,
        group_id: int = 0,
        group_reward: float = 0.0,
    ) -> None:
        """One decision of one agent: what it observed, the reward since its last decision, its action."""
        specs = self.spec.observation_specs
        if len(obs) != len(specs):
            raise DemonstrationError(f"record has {len(obs)} observations; the spec has {len(specs)}")
        info = MessageWriter().float32(INFO_REWARD, reward).varint(INFO_DONE, done)
        info.varint(INFO_MAX_STEP, max_step_reached).varint(INFO_ID, agent_id)
        if action_mask is not None:
            info.packed_varints(INFO_MASK, [bool(m) for m in np.asarray(action_mask).ravel()])
        for value, spec in zip(obs, specs, strict=True):
            array = np.asarray(value, np.float32)
            if array.shape != spec.shape:
                raise DemonstrationError(f"observation of shape {array.shape} does not match the spec's {spec.shape}")
            info.message(INFO_OBS, _observation_message(array, spec))
        info.varint(INFO_GROUP, group_id).float32(INFO_GROUP_REWARD, group_reward)

        continuous = np.asarray(continuous_action, np.float32).ravel()
        discrete = np.asarray(discrete_action, np.int32).ravel()
        action_spec = self.spec.action_spec
        if continuous.size != action_spec.continuous_size or discrete.size != action_spec.discrete_size:
            raise DemonstrationError(
                f"action sizes ({continuous.size}, {discrete.size}) do not match the spec's "
                f"({action_spec.continuous_size}, {action_spec.discrete_size})"
            )
        # The deprecated flat field is still what ML-Agents' loader reads for previous actions.
        action = MessageWriter().packed_floats(
            ACTION_DEPRECATED, np.concatenate([continuous, discrete.astype(np.float32)])
        )
        action.packed_floats(ACTION_CONTINUOUS, continuous).packed_varints(ACTION_DISCRETE, discrete.tolist())
        self._write_delimited(MessageWriter().message(PAIR_INFO, info).message(PAIR_ACTION, action).to_bytes())
        self.number_steps += 1
        self._reward_sum += reward
        self.number_episodes += bool(done)

    @property
    def meta(self) -> DemonstrationMeta:
        mean = self._reward_sum / self.number_episodes if self.number_episodes else 0.0
        # The header stores a float32: report what a reader will get back.
        return DemonstrationMeta(self.name, self.number_steps, self.number_episodes, float(np.float32(mean)))

    def close(self) -> None:
        if self._file is None:
            return
        self._file.seek(0)
        self._file.write(_meta_message(self.meta))
        self._file.close()
        self._file = None

    def __enter__(self) -> DemonstrationWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def write_demonstration(path: str | os.PathLike[str], demo: Demonstration) -> None:
    """Write every record of `demo` (its meta totals are recomputed from the records)."""
    with DemonstrationWriter(path, demo.behavior_name, demo.spec, demo.meta.name) as writer:
        for i in range(len(demo)):
            writer.record(
                [o[i] for o in demo.obs],
                demo.continuous_actions[i],
                demo.discrete_actions[i],
                reward=float(demo.rewards[i]),
                done=bool(demo.dones[i]),
                max_step_reached=bool(demo.max_step_reached[i]),
                agent_id=int(demo.agent_ids[i]),
                action_mask=None if demo.action_masks is None else demo.action_masks[i],
                group_id=int(demo.group_ids[i]),
                group_reward=float(demo.group_rewards[i]),
            )
