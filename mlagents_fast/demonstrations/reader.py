"""Reading `.demo` files (one, or every one in a directory) into a `Demonstration` of arrays.

The messages are ML-Agents' own (communicator_objects, parsed by the protobuf library). The
behavior spec is rebuilt from the brain parameters and the first record's observations, as
ML-Agents does; files written before the action spec existed, and PNG-compressed visual
observations (what Unity writes for cameras), are read too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import numpy as np
from google.protobuf.internal.decoder import _DecodeVarint32  # the length prefix, as ML-Agents reads it
from google.protobuf.message import DecodeError, Message
from numpy.typing import NDArray

from mlagents_fast.communicator_objects.agent_action_pb2 import AgentActionProto
from mlagents_fast.communicator_objects.agent_info_action_pair_pb2 import AgentInfoActionPairProto
from mlagents_fast.communicator_objects.brain_parameters_pb2 import BrainParametersProto
from mlagents_fast.communicator_objects.demonstration_meta_pb2 import DemonstrationMetaProto
from mlagents_fast.communicator_objects.observation_pb2 import PNG, ObservationProto
from mlagents_fast.communicator_objects.space_type_pb2 import continuous
from mlagents_fast.demonstrations import png
from mlagents_fast.demonstrations.format import (
    INITIAL_POS,
    SUPPORTED_API_VERSIONS,
    Demonstration,
    DemonstrationError,
    DemonstrationMeta,
)
from mlagents_fast.spec import ActionSpec, BehaviorSpec, DimensionProperty, ObservationSpec, ObservationType

M = TypeVar("M", bound=Message)


def observation_spec_from_proto(proto: ObservationProto) -> ObservationSpec:
    shape = tuple(proto.shape)
    dims = tuple(DimensionProperty(d) for d in proto.dimension_properties)
    return ObservationSpec(shape=shape, dimension_property=dims or (DimensionProperty.UNSPECIFIED,) * len(shape),
                           observation_type=ObservationType(proto.observation_type), name=proto.name)  # fmt: skip


def action_spec_from_proto(brain: BrainParametersProto) -> ActionSpec:
    spec = brain.action_spec
    if spec.num_continuous_actions or spec.num_discrete_actions:
        return ActionSpec(spec.num_continuous_actions, tuple(spec.discrete_branch_sizes))
    # Files from before the action spec existed describe one action space in deprecated fields.
    sizes = tuple(brain.vector_action_size_deprecated)
    if brain.vector_action_space_type_deprecated == continuous:
        return ActionSpec(sizes[0] if sizes else 0, ())
    return ActionSpec(0, sizes)


def _delimited(data: bytes, pos: int, what: str, path: Path) -> tuple[memoryview, int]:
    """The length-prefixed message at `pos` and the position after it."""
    try:
        size, pos = _DecodeVarint32(data, pos)
    except (IndexError, DecodeError):
        raise DemonstrationError(f"{path}: {what} is cut short") from None
    if pos + size > len(data):
        raise DemonstrationError(f"{path}: {what} is cut short")
    return memoryview(data)[pos : pos + size], pos + size


def _parse(message_type: type[M], raw: memoryview, what: str, path: Path) -> M:
    try:
        message: M = message_type.FromString(raw)
        return message
    except DecodeError as error:
        raise DemonstrationError(f"{path}: {what} is not a valid {message_type.__name__} ({error})") from None


class _Columns:
    """Per-record values gathered while parsing, stacked into a Demonstration at the end. Vector
    observations and actions are collected as flat lists (one extend per record, no array each)."""

    def __init__(self, spec: BehaviorSpec) -> None:
        self.spec = spec
        # Per observation: the float-data records' values, flat, and the PNG records' images by record.
        self.obs: list[list[float]] = [[] for _ in spec.observation_specs]
        self.images: list[dict[int, NDArray[np.float32]]] = [{} for _ in spec.observation_specs]
        self.continuous: list[float] = []
        self.discrete: list[int] = []
        self.rewards: list[float] = []
        self.dones: list[bool] = []
        self.max_steps: list[bool] = []
        self.agent_ids: list[int] = []
        self.masks: list[bool] = []
        self.group_ids: list[int] = []
        self.group_rewards: list[float] = []
        self._width = sum(spec.action_spec.discrete_branches)
        self._sizes = [int(np.prod(o.shape)) for o in spec.observation_specs]

    def add(self, pair: AgentInfoActionPairProto) -> None:
        info, action = pair.agent_info, pair.action_info
        if len(info.observations) != len(self.obs):
            raise DemonstrationError(f"record has {len(info.observations)} observations; the first had {len(self.obs)}")
        record = len(self.rewards)
        columns = zip(self.obs, self.images, info.observations, self.spec.observation_specs, self._sizes, strict=True)
        for column, images, proto, spec, size in columns:
            if proto.compression_type == PNG:
                mapping = list(proto.compressed_channel_mapping)
                value = png.decode_observation(proto.compressed_data, spec.shape[0], mapping)
                count = value.size
                if count == size:
                    images[record] = value.reshape(spec.shape)
            else:
                data = proto.float_data.data
                count = len(data)
                column.extend(data)
            if count != size:
                raise DemonstrationError(f"observation holds {count} values; its shape {spec.shape} needs {size}")
        self.rewards.append(info.reward)
        self.dones.append(info.done)
        self.max_steps.append(info.max_step_reached)
        self.agent_ids.append(info.id)
        self.group_ids.append(info.group_id)
        self.group_rewards.append(info.group_reward)
        mask = info.action_mask
        self.masks.extend(mask if len(mask) == self._width else [False] * self._width)  # none (or wrong): all allowed
        self._add_action(action)

    def _add_action(self, action: AgentActionProto) -> None:
        spec = self.spec.action_spec
        continuous_values, discrete = list(action.continuous_actions), list(action.discrete_actions)
        if not continuous_values and not discrete:  # older files: one flat list, continuous or discrete
            flat = list(action.vector_actions_deprecated)
            continuous_values, discrete = flat[: spec.continuous_size], [int(v) for v in flat[spec.continuous_size :]]
        if len(continuous_values) != spec.continuous_size or len(discrete) != spec.discrete_size:
            raise DemonstrationError(
                f"record action sizes ({len(continuous_values)}, {len(discrete)}) do not match the behavior's "
                f"({spec.continuous_size}, {spec.discrete_size})"
            )
        self.continuous.extend(continuous_values)
        self.discrete.extend(discrete)

    def build(self, behavior_name: str, meta: DemonstrationMeta) -> Demonstration:
        spec, n = self.spec, len(self.rewards)
        obs = []
        for column, images, s in zip(self.obs, self.images, spec.observation_specs, strict=True):
            values = np.empty((n, *s.shape), np.float32)
            compressed = np.zeros(n, np.bool_)
            compressed[list(images)] = True
            values[~compressed] = np.array(column, np.float32).reshape(-1, *s.shape)
            if images:
                values[compressed] = np.stack([images[i] for i in sorted(images)])
            obs.append(values)
        return Demonstration(
            behavior_name=behavior_name,
            spec=spec,
            meta=meta,
            obs=tuple(obs),
            continuous_actions=np.array(self.continuous, np.float32).reshape(n, spec.action_spec.continuous_size),
            discrete_actions=np.array(self.discrete, np.int32).reshape(n, spec.action_spec.discrete_size),
            rewards=np.array(self.rewards, np.float32),
            dones=np.array(self.dones, np.bool_),
            max_step_reached=np.array(self.max_steps, np.bool_),
            agent_ids=np.array(self.agent_ids, np.int32),
            action_masks=np.array(self.masks, np.bool_).reshape(n, self._width) if self._width else None,
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


def _read_file(path: Path, columns: _Columns | None) -> tuple[DemonstrationMeta, str, _Columns]:
    data = path.read_bytes()
    if not data:
        raise DemonstrationError(f"{path} is empty")
    raw, _ = _delimited(data, 0, "the header", path)
    header = _parse(DemonstrationMetaProto, raw, "the header", path)
    meta = DemonstrationMeta(header.demonstration_name, header.number_steps, header.number_episodes,
                             header.mean_reward, header.api_version)  # fmt: skip
    if meta.api_version not in SUPPORTED_API_VERSIONS:
        raise DemonstrationError(f"{path}: unsupported demonstration version {meta.api_version}")
    raw, pos = _delimited(data, INITIAL_POS, "the brain parameters", path)
    brain = _parse(BrainParametersProto, raw, "the brain parameters", path)
    records = 0
    # A header never rewritten with the totals (a recording cut short) says 0: read every record, as ML-Agents.
    expected = meta.number_steps or len(data)
    while pos < len(data) and records < expected:
        raw, pos = _delimited(data, pos, f"record {records}", path)
        pair = _parse(AgentInfoActionPairProto, raw, f"record {records}", path)
        if columns is None:
            observation_specs = tuple(observation_spec_from_proto(o) for o in pair.agent_info.observations)
            columns = _Columns(BehaviorSpec(observation_specs, action_spec_from_proto(brain)))
        columns.add(pair)
        records += 1
    if columns is None:
        raise DemonstrationError(f"no demonstration records found in {path}")
    return meta, brain.brain_name, columns


def read_demonstration(path: str | os.PathLike[str]) -> Demonstration:
    """Every record of a `.demo` file, or of all `.demo` files in a directory (one behavior)."""
    columns: _Columns | None = None
    behavior_name = ""
    metas: list[DemonstrationMeta] = []
    for file in demonstration_files(path):
        meta, name, columns = _read_file(file, columns)
        behavior_name = behavior_name or name
        metas.append(meta)
    assert columns is not None
    episodes = sum(m.number_episodes for m in metas)
    mean = sum(m.mean_reward * m.number_episodes for m in metas) / episodes if episodes else 0.0
    total = DemonstrationMeta(metas[0].name, len(columns.rewards), episodes, mean, metas[0].api_version)
    return columns.build(behavior_name, total if len(metas) > 1 else metas[0])
