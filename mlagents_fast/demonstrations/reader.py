"""Reading `.demo` files (one, or every one in a directory) into a `Demonstration` of arrays.

The behavior spec is rebuilt from the brain parameters and the first record's observations,
as ML-Agents does; files written before the action spec existed, and PNG-compressed visual
observations (what Unity writes for cameras), are read too.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.demonstrations import png
from mlagents_fast.demonstrations.format import (
    ACTION_CONTINUOUS,
    ACTION_DEPRECATED,
    ACTION_DISCRETE,
    BRAIN_ACTION_SIZES,
    BRAIN_ACTION_SPEC,
    BRAIN_NAME,
    BRAIN_SPACE_TYPE,
    COMPRESSION_PNG,
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
    META_API,
    META_EPISODES,
    META_MEAN_REWARD,
    META_NAME,
    META_STEPS,
    OBS_COMPRESSED,
    OBS_COMPRESSION,
    OBS_DIMS,
    OBS_FLOATS,
    OBS_MAPPING,
    OBS_NAME,
    OBS_SHAPE,
    OBS_TYPE,
    PAIR_ACTION,
    PAIR_INFO,
    SPACE_CONTINUOUS,
    SPEC_BRANCHES,
    SPEC_CONTINUOUS,
    SPEC_NUM_DISCRETE,
    SUPPORTED_API_VERSIONS,
    Demonstration,
    DemonstrationError,
    DemonstrationMeta,
)
from mlagents_fast.demonstrations.wire import (
    Fields,
    as_int32,
    decode_varint,
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


def _observation_spec(fields: Fields) -> ObservationSpec:
    shape = tuple(as_int32(v) for v in repeated_ints(fields, OBS_SHAPE))
    dims = repeated_ints(fields, OBS_DIMS)
    return ObservationSpec(
        shape=shape,
        dimension_property=tuple(DimensionProperty(d) for d in dims) or (DimensionProperty.UNSPECIFIED,) * len(shape),
        observation_type=ObservationType(last_int(fields, OBS_TYPE)),
        name=last_string(fields, OBS_NAME),
    )


def _observation_value(fields: Fields, spec: ObservationSpec) -> NDArray[np.float32]:
    if last_int(fields, OBS_COMPRESSION) == COMPRESSION_PNG:
        mapping = [as_int32(v) for v in repeated_ints(fields, OBS_MAPPING)]
        value = png.decode_observation(last_bytes(fields, OBS_COMPRESSED), spec.shape[0], mapping)
    else:
        value = repeated_floats(parse_message(last_bytes(fields, OBS_FLOATS)), FLOAT_DATA)
    if value.size != int(np.prod(spec.shape)):
        raise DemonstrationError(f"observation holds {value.size} values; its shape {spec.shape} needs more or fewer")
    return value.reshape(spec.shape)


def _action_spec(brain: Fields) -> ActionSpec:
    spec = parse_message(last_bytes(brain, BRAIN_ACTION_SPEC))
    continuous, num_discrete = last_int(spec, SPEC_CONTINUOUS), last_int(spec, SPEC_NUM_DISCRETE)
    if continuous or num_discrete:
        return ActionSpec(continuous, tuple(repeated_ints(spec, SPEC_BRANCHES)))
    # Files from before the action spec existed describe one action space in deprecated fields.
    sizes = tuple(repeated_ints(brain, BRAIN_ACTION_SIZES))
    if last_int(brain, BRAIN_SPACE_TYPE) == SPACE_CONTINUOUS:
        return ActionSpec(sizes[0] if sizes else 0, ())
    return ActionSpec(0, sizes)


def _read_messages(data: bytes, path: Path) -> tuple[DemonstrationMeta, Fields, list[memoryview]]:
    view = memoryview(data)
    size, pos = decode_varint(view, 0)
    meta_fields = parse_message(view[pos : pos + size])
    meta = DemonstrationMeta(
        name=last_string(meta_fields, META_NAME),
        number_steps=last_int(meta_fields, META_STEPS),
        number_episodes=last_int(meta_fields, META_EPISODES),
        mean_reward=last_float(meta_fields, META_MEAN_REWARD),
        api_version=last_int(meta_fields, META_API),
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
        observations = repeated_bytes(info, INFO_OBS)
        if len(observations) != len(self.obs):
            raise DemonstrationError(f"record has {len(observations)} observations; the first had {len(self.obs)}")
        for column, raw, spec in zip(self.obs, observations, self.spec.observation_specs, strict=True):
            column.append(_observation_value(parse_message(raw), spec))
        self.rewards.append(last_float(info, INFO_REWARD))
        self.dones.append(bool(last_int(info, INFO_DONE)))
        self.max_steps.append(bool(last_int(info, INFO_MAX_STEP)))
        self.agent_ids.append(as_int32(last_int(info, INFO_ID)))
        self.group_ids.append(as_int32(last_int(info, INFO_GROUP)))
        self.group_rewards.append(last_float(info, INFO_GROUP_REWARD))
        width = sum(self.spec.action_spec.discrete_branches)
        mask = [bool(m) for m in repeated_ints(info, INFO_MASK)]
        self.masks.append(mask if len(mask) == width else [False] * width)  # no (or a wrong) mask: all allowed
        self._add_action(action)

    def _add_action(self, action: Fields) -> None:
        spec = self.spec.action_spec
        continuous = repeated_floats(action, ACTION_CONTINUOUS)
        discrete = [as_int32(v) for v in repeated_ints(action, ACTION_DISCRETE)]
        if continuous.size == 0 and not discrete:  # older files: one flat list, continuous or discrete
            flat = repeated_floats(action, ACTION_DEPRECATED)
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
            info, action = (parse_message(last_bytes(pair, f)) for f in (PAIR_INFO, PAIR_ACTION))
            if columns is None:
                observation_specs = tuple(_observation_spec(parse_message(o)) for o in repeated_bytes(info, INFO_OBS))
                columns = _Columns(BehaviorSpec(observation_specs, _action_spec(brain)))
                behavior_name = last_string(brain, BRAIN_NAME)
            columns.add(info, action)
    if columns is None:
        raise DemonstrationError(f"no demonstration records found in {path}")
    episodes = sum(m.number_episodes for m in metas)
    mean = sum(m.mean_reward * m.number_episodes for m in metas) / episodes if episodes else 0.0
    total = DemonstrationMeta(metas[0].name, len(columns.rewards), episodes, mean, metas[0].api_version)
    return columns.build(behavior_name, total if len(metas) > 1 else metas[0])
