"""Writing `.demo` files: records streamed after a zeroed header that `close()` fills with the totals.

The messages are ML-Agents' own (communicator_objects, built with the protobuf library), each
prefixed with its varint length as Unity's DemonstrationWriter writes them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
from google.protobuf.internal.encoder import _VarintBytes  # the length prefix, as ML-Agents writes it
from numpy.typing import NDArray

from mlagents_fast.communicator_objects.agent_action_pb2 import AgentActionProto
from mlagents_fast.communicator_objects.agent_info_action_pair_pb2 import AgentInfoActionPairProto
from mlagents_fast.communicator_objects.agent_info_pb2 import AgentInfoProto
from mlagents_fast.communicator_objects.brain_parameters_pb2 import ActionSpecProto, BrainParametersProto
from mlagents_fast.communicator_objects.demonstration_meta_pb2 import DemonstrationMetaProto
from mlagents_fast.communicator_objects.observation_pb2 import PNG, ObservationProto, ObservationTypeProto
from mlagents_fast.communicator_objects.space_type_pb2 import continuous
from mlagents_fast.demonstrations import png
from mlagents_fast.demonstrations.format import (
    INITIAL_POS,
    MAX_NAME_LENGTH,
    Demonstration,
    DemonstrationError,
    DemonstrationMeta,
)
from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec


def _meta_message(meta: DemonstrationMeta) -> bytes:
    name = meta.name[:MAX_NAME_LENGTH]
    while True:
        body = DemonstrationMetaProto(api_version=meta.api_version, demonstration_name=name,
                                      number_steps=meta.number_steps, number_episodes=meta.number_episodes,
                                      mean_reward=meta.mean_reward).SerializeToString()  # fmt: skip
        message: bytes = _VarintBytes(len(body)) + body
        if len(message) <= INITIAL_POS:
            return message
        if not name:
            raise DemonstrationError(f"demonstration totals too large for the {INITIAL_POS}-byte header: {meta}")
        name = name[:-1]  # large step counts need the room: shorten the name until it fits


def _brain_message(behavior_name: str, action_spec: ActionSpec) -> bytes:
    spec = ActionSpecProto(num_continuous_actions=action_spec.continuous_size,
                           num_discrete_actions=action_spec.discrete_size,
                           discrete_branch_sizes=action_spec.discrete_branches)  # fmt: skip
    brain = BrainParametersProto(brain_name=behavior_name, is_training=True, action_spec=spec)
    # Readers older than the action spec only understand a purely continuous or purely discrete space.
    if action_spec.continuous_size and not action_spec.discrete_size:
        brain.vector_action_size_deprecated.append(action_spec.continuous_size)
        brain.vector_action_space_type_deprecated = continuous
    elif action_spec.discrete_size and not action_spec.continuous_size:
        brain.vector_action_size_deprecated.extend(action_spec.discrete_branches)
    serialized: bytes = brain.SerializeToString()
    return serialized


def observation_proto(value: NDArray[np.float32], spec: ObservationSpec, compress: bool) -> ObservationProto:
    kind = ObservationTypeProto.Value(spec.observation_type.name)
    proto = ObservationProto(shape=spec.shape, dimension_properties=[int(d) for d in spec.dimension_property],
                             observation_type=kind, name=spec.name)  # fmt: skip
    if compress and len(spec.shape) == 3 and value.min() >= 0.0 and value.max() <= 1.0:  # (an image: PNG holds it)
        proto.compression_type = PNG
        proto.compressed_data, mapping = _png_stack(value)
        if len(mapping) != spec.shape[0]:  # (padded: the mapping says which stored channels are padding)
            proto.compressed_channel_mapping.extend(mapping)
    else:
        proto.float_data.data.extend(value.ravel().tolist())
    return proto


def _png_stack(image: NDArray[np.float32]) -> tuple[bytes, list[int]]:
    """A (channels, height, width) image as Unity compresses a camera's: one RGB PNG per three
    channels, the last padded with zero channels that the mapping marks -1."""
    channels = image.shape[0]
    padded = (-channels) % 3
    if padded:
        image = np.concatenate([image, np.zeros((padded, *image.shape[1:]), np.float32)])
    data = b"".join(png.encode_png(image[k : k + 3]) for k in range(0, len(image), 3))
    return data, list(range(channels)) + [-1] * padded


class DemonstrationWriter:
    """Streams records into a `.demo` file; `close()` writes the header with the totals.

    Use as a context manager. Visual observations whose values lie in [0, 1] are stored as Unity
    stores a camera's, PNG images (8 bits per channel: `compress_visual=False` keeps them as exact
    floats); the others as float data.
    """

    def __init__(self, path: str | os.PathLike[str], behavior_name: str, spec: BehaviorSpec, name: str = "",
                 compress_visual: bool = True) -> None:  # fmt: skip
        self.path = Path(path)
        self.compress_visual = compress_visual
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
        self._file.write(_VarintBytes(len(message)))
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
        info = AgentInfoProto(reward=reward, done=done, max_step_reached=max_step_reached, id=agent_id,
                              group_id=group_id, group_reward=group_reward)  # fmt: skip
        if action_mask is not None:
            info.action_mask.extend(bool(m) for m in np.asarray(action_mask).ravel())
        for value, spec in zip(obs, specs, strict=True):
            array = np.asarray(value, np.float32)
            if spec.dtype == "uint8":  # an image's bytes: the [0, 1] values they stand for
                array *= np.float32(1.0 / 255.0)
            if array.shape != spec.shape:
                raise DemonstrationError(f"observation of shape {array.shape} does not match the spec's {spec.shape}")
            info.observations.append(observation_proto(array, spec, self.compress_visual))

        continuous_values = np.asarray(continuous_action, np.float32).ravel()
        discrete = np.asarray(discrete_action, np.int32).ravel()
        action_spec = self.spec.action_spec
        if continuous_values.size != action_spec.continuous_size or discrete.size != action_spec.discrete_size:
            raise DemonstrationError(
                f"action sizes ({continuous_values.size}, {discrete.size}) do not match the spec's "
                f"({action_spec.continuous_size}, {action_spec.discrete_size})"
            )
        # The deprecated flat field is still what ML-Agents' loader reads for previous actions.
        flat = np.concatenate([continuous_values, discrete.astype(np.float32)]).tolist()
        action = AgentActionProto(vector_actions_deprecated=flat, continuous_actions=continuous_values.tolist(),
                                  discrete_actions=discrete.tolist())  # fmt: skip
        self._write_delimited(AgentInfoActionPairProto(agent_info=info, action_info=action).SerializeToString())
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
