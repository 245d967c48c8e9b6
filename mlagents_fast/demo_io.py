"""Read and write ML-Agents' `.demo` demonstration files, without the protobuf package.

Layout (what Unity's DemonstrationWriter and ML-Agents' demo_loader agree on); every
message is prefixed with its varint length:

    offset 0   DemonstrationMetaProto {api_version=1, demonstration_name=2, number_steps=3,
               number_episodes=4, mean_reward=5}, zero-padded up to byte 33 so the writer
               can rewrite it once the totals are known
    offset 33  BrainParametersProto {brain_name=7, is_training=8, action_spec=9, ...}
    then       number_steps x AgentInfoActionPairProto {agent_info=1, action_info=2}

One record is what one agent saw when it decided (AgentInfoProto) and the action it took
(AgentActionProto). The record of an episode's end has `done` set, its final observation
and reward, and the last action taken. The behavior spec is rebuilt from the brain
parameters and the first record's observations, as ML-Agents does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from mlagents_fast import _png
from mlagents_fast._protowire import (
    Fields,
    MessageWriter,
    as_int32,
    decode_varint,
    encode_varint,
    last_bytes,
    last_float,
    last_int,
    last_string,
    parse_message,
    repeated_bytes,
    repeated_floats,
    repeated_ints,
)
from mlagents_fast.spec import ActionSpec, BehaviorSpec, DimensionProperty, ObservationSpec, ObservationType

INITIAL_POS = 33  # where the body starts: the meta message (with its length byte) fits in front of it
API_VERSION = 1
SUPPORTED_API_VERSIONS = frozenset({0, 1})
MAX_NAME_LENGTH = 16  # Unity trims demonstration names to this length

# Field numbers, from ML-Agents' communicator_objects/*.proto.
_META_API, _META_NAME, _META_STEPS, _META_EPISODES, _META_MEAN_REWARD = 1, 2, 3, 4, 5
_BRAIN_ACTION_SIZES, _BRAIN_SPACE_TYPE, _BRAIN_NAME, _BRAIN_TRAINING, _BRAIN_ACTION_SPEC = 3, 6, 7, 8, 9
_SPEC_CONTINUOUS, _SPEC_NUM_DISCRETE, _SPEC_BRANCHES = 1, 2, 3
_INFO_REWARD, _INFO_DONE, _INFO_MAX_STEP, _INFO_ID, _INFO_MASK, _INFO_OBS, _INFO_GROUP, _INFO_GROUP_REWARD = (
    7, 8, 9, 10, 11, 13, 14, 15,
)  # fmt: skip
_OBS_SHAPE, _OBS_COMPRESSION, _OBS_COMPRESSED, _OBS_FLOATS, _OBS_MAPPING, _OBS_DIMS, _OBS_TYPE, _OBS_NAME = (
    1, 2, 3, 4, 5, 6, 7, 8,
)  # fmt: skip
_FLOAT_DATA = 1
_ACTION_DEPRECATED, _ACTION_CONTINUOUS, _ACTION_DISCRETE = 1, 6, 7
_PAIR_INFO, _PAIR_ACTION = 1, 2
_SPACE_CONTINUOUS = 1  # SpaceTypeProto: discrete = 0, continuous = 1
_COMPRESSION_PNG = 1


class DemonstrationError(ValueError):
    """A `.demo` file that cannot be read, or data that cannot be written as one."""


@dataclass(frozen=True)
class DemonstrationMeta:
    name: str = ""
    number_steps: int = 0
    number_episodes: int = 0
    mean_reward: float = 0.0
    api_version: int = API_VERSION


@dataclass(frozen=True)
class Demonstration:
    """Every record of a demonstration as arrays whose first axis is the record index.

    `rewards[i]` is the reward the agent got for the decision *before* record i (as the
    agent reported it when deciding), `dones[i]` marks the record of an episode's end and
    `max_step_reached[i]` an end by the step limit. `action_masks` is True where a
    choice was not allowed, or None for behaviors without discrete actions.
    """

    behavior_name: str
    spec: BehaviorSpec
    meta: DemonstrationMeta
    obs: tuple[NDArray[np.float32], ...]
    continuous_actions: NDArray[np.float32]
    discrete_actions: NDArray[np.int32]
    rewards: NDArray[np.float32]
    dones: NDArray[np.bool_]
    max_step_reached: NDArray[np.bool_]
    agent_ids: NDArray[np.int32]
    action_masks: NDArray[np.bool_] | None
    group_ids: NDArray[np.int32]
    group_rewards: NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.rewards.shape[0])


# ---------------------------------------------------------------- writing


def _meta_message(meta: DemonstrationMeta) -> bytes:
    name = meta.name[:MAX_NAME_LENGTH]
    while True:
        body = (
            MessageWriter()
            .varint(_META_API, meta.api_version)
            .string(_META_NAME, name)
            .varint(_META_STEPS, meta.number_steps)
            .varint(_META_EPISODES, meta.number_episodes)
            .float32(_META_MEAN_REWARD, meta.mean_reward)
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
        .varint(_SPEC_CONTINUOUS, action_spec.continuous_size)
        .varint(_SPEC_NUM_DISCRETE, action_spec.discrete_size)
        .packed_varints(_SPEC_BRANCHES, action_spec.discrete_branches)
    )
    brain = MessageWriter()
    # Readers older than the action spec only understand a purely continuous or purely discrete space.
    if action_spec.continuous_size and not action_spec.discrete_size:
        brain.packed_varints(_BRAIN_ACTION_SIZES, [action_spec.continuous_size]).varint(_BRAIN_SPACE_TYPE, 1)
    elif action_spec.discrete_size and not action_spec.continuous_size:
        brain.packed_varints(_BRAIN_ACTION_SIZES, action_spec.discrete_branches)
    return brain.string(_BRAIN_NAME, behavior_name).varint(_BRAIN_TRAINING, True).message(
        _BRAIN_ACTION_SPEC, spec_proto
    ).to_bytes()  # fmt: skip


def _observation_message(value: NDArray[np.float32], spec: ObservationSpec) -> MessageWriter:
    return (
        MessageWriter()
        .packed_varints(_OBS_SHAPE, spec.shape)
        .message(_OBS_FLOATS, MessageWriter().packed_floats(_FLOAT_DATA, value.ravel()))
        .packed_varints(_OBS_DIMS, [int(d) for d in spec.dimension_property])
        .varint(_OBS_TYPE, int(spec.observation_type))
        .string(_OBS_NAME, spec.name)
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
        info = MessageWriter().float32(_INFO_REWARD, reward).varint(_INFO_DONE, done)
        info.varint(_INFO_MAX_STEP, max_step_reached).varint(_INFO_ID, agent_id)
        if action_mask is not None:
            info.packed_varints(_INFO_MASK, [bool(m) for m in np.asarray(action_mask).ravel()])
        for value, spec in zip(obs, specs, strict=True):
            array = np.asarray(value, np.float32)
            if array.shape != spec.shape:
                raise DemonstrationError(f"observation of shape {array.shape} does not match the spec's {spec.shape}")
            info.message(_INFO_OBS, _observation_message(array, spec))
        info.varint(_INFO_GROUP, group_id).float32(_INFO_GROUP_REWARD, group_reward)

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
            _ACTION_DEPRECATED, np.concatenate([continuous, discrete.astype(np.float32)])
        )
        action.packed_floats(_ACTION_CONTINUOUS, continuous).packed_varints(_ACTION_DISCRETE, discrete.tolist())
        self._write_delimited(MessageWriter().message(_PAIR_INFO, info).message(_PAIR_ACTION, action).to_bytes())
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


# ---------------------------------------------------------------- reading


def _observation_spec(fields: Fields) -> ObservationSpec:
    shape = tuple(as_int32(v) for v in repeated_ints(fields, _OBS_SHAPE))
    dims = repeated_ints(fields, _OBS_DIMS)
    return ObservationSpec(
        shape=shape,
        dimension_property=tuple(DimensionProperty(d) for d in dims) or (DimensionProperty.UNSPECIFIED,) * len(shape),
        observation_type=ObservationType(last_int(fields, _OBS_TYPE)),
        name=last_string(fields, _OBS_NAME),
    )


def _observation_value(fields: Fields, spec: ObservationSpec) -> NDArray[np.float32]:
    if last_int(fields, _OBS_COMPRESSION) == _COMPRESSION_PNG:
        mapping = [as_int32(v) for v in repeated_ints(fields, _OBS_MAPPING)]
        value = _png.decode_observation(last_bytes(fields, _OBS_COMPRESSED), spec.shape[0], mapping)
    else:
        value = repeated_floats(parse_message(last_bytes(fields, _OBS_FLOATS)), _FLOAT_DATA)
    if value.size != int(np.prod(spec.shape)):
        raise DemonstrationError(f"observation holds {value.size} values; its shape {spec.shape} needs more or fewer")
    return value.reshape(spec.shape)


def _action_spec(brain: Fields) -> ActionSpec:
    spec = parse_message(last_bytes(brain, _BRAIN_ACTION_SPEC))
    continuous, num_discrete = last_int(spec, _SPEC_CONTINUOUS), last_int(spec, _SPEC_NUM_DISCRETE)
    if continuous or num_discrete:
        return ActionSpec(continuous, tuple(repeated_ints(spec, _SPEC_BRANCHES)))
    # Files from before the action spec existed describe one action space in deprecated fields.
    sizes = tuple(repeated_ints(brain, _BRAIN_ACTION_SIZES))
    if last_int(brain, _BRAIN_SPACE_TYPE) == _SPACE_CONTINUOUS:
        return ActionSpec(sizes[0] if sizes else 0, ())
    return ActionSpec(0, sizes)


def _read_messages(data: bytes, path: Path) -> tuple[DemonstrationMeta, Fields, list[memoryview]]:
    view = memoryview(data)
    size, pos = decode_varint(view, 0)
    meta_fields = parse_message(view[pos : pos + size])
    meta = DemonstrationMeta(
        name=last_string(meta_fields, _META_NAME),
        number_steps=last_int(meta_fields, _META_STEPS),
        number_episodes=last_int(meta_fields, _META_EPISODES),
        mean_reward=last_float(meta_fields, _META_MEAN_REWARD),
        api_version=last_int(meta_fields, _META_API),
    )
    if meta.api_version not in SUPPORTED_API_VERSIONS:
        raise DemonstrationError(f"{path}: unsupported demonstration version {meta.api_version}")
    size, pos = decode_varint(view, INITIAL_POS)
    brain = parse_message(view[pos : pos + size])
    pos += size
    records: list[memoryview] = []
    while pos < len(view) and len(records) < meta.number_steps:
        size, pos = decode_varint(view, pos)
        if pos + size > len(view):
            raise DemonstrationError(f"{path}: record {len(records)} is cut short")
        records.append(view[pos : pos + size])
        pos += size
    return meta, brain, records


class _Columns:
    """Per-record values gathered while parsing, stacked into a Demonstration at the end."""

    def __init__(self, spec: BehaviorSpec) -> None:
        self.spec = spec
        self.obs: list[list[NDArray[np.float32]]] = [[] for _ in spec.observation_specs]
        self.continuous: list[NDArray[np.float32]] = []
        self.discrete: list[list[int]] = []
        self.rewards: list[float] = []
        self.dones: list[bool] = []
        self.max_steps: list[bool] = []
        self.agent_ids: list[int] = []
        self.masks: list[list[bool]] = []
        self.group_ids: list[int] = []
        self.group_rewards: list[float] = []

    def add(self, info: Fields, action: Fields) -> None:
        observations = repeated_bytes(info, _INFO_OBS)
        if len(observations) != len(self.obs):
            raise DemonstrationError(f"record has {len(observations)} observations; the first had {len(self.obs)}")
        for column, raw, spec in zip(self.obs, observations, self.spec.observation_specs, strict=True):
            column.append(_observation_value(parse_message(raw), spec))
        self.rewards.append(last_float(info, _INFO_REWARD))
        self.dones.append(bool(last_int(info, _INFO_DONE)))
        self.max_steps.append(bool(last_int(info, _INFO_MAX_STEP)))
        self.agent_ids.append(as_int32(last_int(info, _INFO_ID)))
        self.group_ids.append(as_int32(last_int(info, _INFO_GROUP)))
        self.group_rewards.append(last_float(info, _INFO_GROUP_REWARD))
        width = sum(self.spec.action_spec.discrete_branches)
        mask = [bool(m) for m in repeated_ints(info, _INFO_MASK)]
        self.masks.append(mask if len(mask) == width else [False] * width)  # no (or a wrong) mask: all allowed
        self._add_action(action)

    def _add_action(self, action: Fields) -> None:
        spec = self.spec.action_spec
        continuous = repeated_floats(action, _ACTION_CONTINUOUS)
        discrete = [as_int32(v) for v in repeated_ints(action, _ACTION_DISCRETE)]
        if continuous.size == 0 and not discrete:  # older files: one flat list, continuous or discrete
            flat = repeated_floats(action, _ACTION_DEPRECATED)
            continuous, discrete = flat[: spec.continuous_size], [int(v) for v in flat[spec.continuous_size :]]
        if continuous.size != spec.continuous_size or len(discrete) != spec.discrete_size:
            raise DemonstrationError(
                f"record action sizes ({continuous.size}, {len(discrete)}) do not match the behavior's "
                f"({spec.continuous_size}, {spec.discrete_size})"
            )
        self.continuous.append(continuous)
        self.discrete.append(discrete)

    def build(self, behavior_name: str, meta: DemonstrationMeta) -> Demonstration:
        spec, n = self.spec, len(self.rewards)
        width = sum(spec.action_spec.discrete_branches)
        return Demonstration(
            behavior_name=behavior_name,
            spec=spec,
            meta=meta,
            obs=tuple(
                np.stack(column) if column else np.zeros((0, *s.shape), np.float32)
                for column, s in zip(self.obs, spec.observation_specs, strict=True)
            ),
            continuous_actions=np.array(self.continuous, np.float32).reshape(n, spec.action_spec.continuous_size),
            discrete_actions=np.array(self.discrete, np.int32).reshape(n, spec.action_spec.discrete_size),
            rewards=np.array(self.rewards, np.float32),
            dones=np.array(self.dones, np.bool_),
            max_step_reached=np.array(self.max_steps, np.bool_),
            agent_ids=np.array(self.agent_ids, np.int32),
            action_masks=np.array(self.masks, np.bool_).reshape(n, width) if width else None,
            group_ids=np.array(self.group_ids, np.int32),
            group_rewards=np.array(self.group_rewards, np.float32),
        )


def demonstration_files(path: str | os.PathLike[str]) -> list[Path]:
    """`path` itself if it is a `.demo` file, or the `.demo` files in the directory, sorted by name."""
    path = Path(path)
    if path.is_file():
        if path.suffix != ".demo":
            raise DemonstrationError(f"{path} is not a '.demo' file")
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".demo" and p.is_file())
        if not files:
            raise DemonstrationError(f"there are no '.demo' files in {path}")
        return files
    raise FileNotFoundError(f"demonstration file or directory {path} does not exist")


def read_demonstration(path: str | os.PathLike[str]) -> Demonstration:
    """Every record of a `.demo` file, or of all `.demo` files in a directory (one behavior)."""
    columns: _Columns | None = None
    behavior_name = ""
    metas: list[DemonstrationMeta] = []
    for file in demonstration_files(path):
        meta, brain, records = _read_messages(file.read_bytes(), file)
        metas.append(meta)
        for raw in records:
            pair = parse_message(raw)
            info, action = (parse_message(last_bytes(pair, f)) for f in (_PAIR_INFO, _PAIR_ACTION))
            if columns is None:
                observation_specs = tuple(_observation_spec(parse_message(o)) for o in repeated_bytes(info, _INFO_OBS))
                columns = _Columns(BehaviorSpec(observation_specs, _action_spec(brain)))
                behavior_name = last_string(brain, _BRAIN_NAME)
            columns.add(info, action)
    if columns is None:
        raise DemonstrationError(f"no demonstration records found in {path}")
    episodes = sum(m.number_episodes for m in metas)
    mean = sum(m.mean_reward * m.number_episodes for m in metas) / episodes if episodes else 0.0
    total = DemonstrationMeta(metas[0].name, len(columns.rewards), episodes, mean, metas[0].api_version)
    return columns.build(behavior_name, total if len(metas) > 1 else metas[0])
