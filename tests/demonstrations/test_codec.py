""".demo files: written here and read with ML-Agents' messages (built from the same .proto
definitions), built from those messages as Unity writes them and read here; the header layout,
legacy fields, PNG observations and files that cannot be read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from google.protobuf.internal.decoder import _DecodeVarint32
from google.protobuf.internal.encoder import _VarintBytes
from google.protobuf.message import Message

from mlagents_fast.communicator_objects.agent_action_pb2 import AgentActionProto
from mlagents_fast.communicator_objects.agent_info_action_pair_pb2 import AgentInfoActionPairProto
from mlagents_fast.communicator_objects.agent_info_pb2 import AgentInfoProto
from mlagents_fast.communicator_objects.brain_parameters_pb2 import ActionSpecProto, BrainParametersProto
from mlagents_fast.communicator_objects.demonstration_meta_pb2 import DemonstrationMetaProto
from mlagents_fast.communicator_objects.observation_pb2 import PNG, ObservationProto
from mlagents_fast.communicator_objects.space_type_pb2 import continuous
from mlagents_fast.demonstrations import png
from mlagents_fast.demonstrations.format import INITIAL_POS, DemonstrationError
from mlagents_fast.demonstrations.reader import read_demonstration
from mlagents_fast.demonstrations.writer import DemonstrationWriter, write_demonstration
from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec, ObservationType

HYBRID = BehaviorSpec(
    (ObservationSpec.vector(3, "ray"), ObservationSpec.visual(3, 4, 5, "camera")), ActionSpec.create_hybrid(2, (3, 2))
)


def delimited(message: Message) -> bytes:
    body = message.SerializeToString()
    return _VarintBytes(len(body)) + body


def messages(path: Path) -> tuple[DemonstrationMetaProto, BrainParametersProto, list[AgentInfoActionPairProto]]:
    """A .demo file read as ML-Agents' demo_loader reads it, message by message."""
    data = path.read_bytes()
    size, pos = _DecodeVarint32(data, 0)
    meta = DemonstrationMetaProto.FromString(data[pos : pos + size])
    size, pos = _DecodeVarint32(data, INITIAL_POS)
    brain = BrainParametersProto.FromString(data[pos : pos + size])
    pos += size
    pairs = []
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        pairs.append(AgentInfoActionPairProto.FromString(data[pos : pos + size]))
        pos += size
    return meta, brain, pairs


def random_demo_file(path: Path, records: int = 12, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with DemonstrationWriter(path, "Hybrid?team=1", HYBRID, name="hybrid") as writer:
        for i in range(records):
            writer.record(
                [rng.normal(size=3).astype(np.float32), rng.random((3, 4, 5), np.float32)],
                rng.normal(size=2).astype(np.float32),
                [i % 3, i % 2],
                reward=float(np.float32(rng.normal())),
                done=i % 5 == 4,
                max_step_reached=i == 9,
                agent_id=-i,
                action_mask=rng.random(5) < 0.5,
                group_id=i % 2,
                group_reward=0.5 * i,
            )


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "hybrid.demo"
    random_demo_file(path)
    demo = read_demonstration(path)
    assert demo.spec == HYBRID and demo.behavior_name == "Hybrid?team=1"
    assert (demo.meta.name, demo.meta.number_steps, demo.meta.number_episodes) == ("hybrid", 12, 2)
    assert demo.obs[1].shape == (12, 3, 4, 5) and demo.continuous_actions.shape == (12, 2)
    np.testing.assert_array_equal(demo.agent_ids, -np.arange(12))
    np.testing.assert_array_equal(np.flatnonzero(demo.dones), [4, 9])
    np.testing.assert_array_equal(np.flatnonzero(demo.max_step_reached), [9])
    np.testing.assert_array_equal(demo.discrete_actions, np.stack([np.arange(12) % 3, np.arange(12) % 2], axis=1))
    again = tmp_path / "again.demo"
    write_demonstration(again, demo)
    assert again.read_bytes() == path.read_bytes()


def test_header_is_padded_to_the_body_and_shortened_names_fit(tmp_path: Path) -> None:
    path = tmp_path / "a_rather_long_demonstration_name.demo"
    with DemonstrationWriter(path, "B", HYBRID) as writer:
        writer.number_steps, writer.number_episodes = 2_000_000, 16_000  # the totals need most of the room
    data = path.read_bytes()
    meta_size, start = _DecodeVarint32(data, 0)
    assert start + meta_size <= INITIAL_POS
    assert set(data[start + meta_size : INITIAL_POS]) <= {0}
    brain_size, brain_start = _DecodeVarint32(data, INITIAL_POS)
    assert brain_start + brain_size == len(data)
    meta, _, _ = messages(path)
    assert (meta.number_steps, meta.number_episodes) == (2_000_000, 16_000) and meta.demonstration_name


def test_directory_of_demos_is_concatenated(tmp_path: Path) -> None:
    random_demo_file(tmp_path / "a.demo", records=5, seed=1)
    random_demo_file(tmp_path / "b.demo", records=7, seed=2)
    (tmp_path / "notes.txt").write_text("not a demo")
    demo = read_demonstration(tmp_path)
    assert len(demo) == demo.meta.number_steps == 12
    np.testing.assert_array_equal(demo.obs[0][5:], read_demonstration(tmp_path / "b.demo").obs[0])


def test_bad_paths_and_versions_raise(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_demonstration(tmp_path / "missing.demo")
    with pytest.raises(DemonstrationError, match=r"no '\.demo' files"):
        read_demonstration(tmp_path)
    path = tmp_path / "future.demo"
    random_demo_file(path, records=2)
    data = bytearray(path.read_bytes())
    assert data[1:3] == b"\x08\x01"  # api_version = 1 is the meta's first field
    data[2] = 7
    path.write_bytes(bytes(data))
    with pytest.raises(DemonstrationError, match="unsupported demonstration version 7"):
        read_demonstration(path)


def test_a_file_written_here_reads_as_ml_agents_messages(tmp_path: Path) -> None:
    path = tmp_path / "hybrid.demo"
    random_demo_file(path)
    meta, brain, pairs = messages(path)
    assert (meta.api_version, meta.demonstration_name, meta.number_steps, meta.number_episodes) == (1, "hybrid", 12, 2)
    assert brain.brain_name == "Hybrid?team=1" and brain.is_training
    assert (brain.action_spec.num_continuous_actions, list(brain.action_spec.discrete_branch_sizes)) == (2, [3, 2])
    demo = read_demonstration(path)
    for i, pair in enumerate(pairs):
        info, action = pair.agent_info, pair.action_info
        assert (info.done, info.max_step_reached, info.id, info.group_id) == (
            bool(demo.dones[i]), bool(demo.max_step_reached[i]), -i, i % 2)  # fmt: skip
        assert [list(o.shape) for o in info.observations] == [[3], [3, 4, 5]]
        assert [o.name for o in info.observations] == ["ray", "camera"]
        camera = info.observations[1]  # in [0, 1]: stored as Unity stores a camera's
        assert camera.compression_type == PNG and list(camera.compressed_channel_mapping) == []  # (no padding)
        np.testing.assert_array_equal(png.decode_observation(camera.compressed_data, 3, []), demo.obs[1][i])
        np.testing.assert_array_equal(np.array(info.observations[0].float_data.data, np.float32), demo.obs[0][i])
        np.testing.assert_array_equal(np.array(action.continuous_actions, np.float32), demo.continuous_actions[i])
        assert list(action.discrete_actions) == demo.discrete_actions[i].tolist()
        assert list(info.action_mask) == demo.action_masks[i].tolist()  # type: ignore[index]


def test_legacy_action_fields_are_read(tmp_path: Path) -> None:
    """Files older than the action spec: the brain's deprecated sizes and the flat action list."""
    header = delimited(DemonstrationMetaProto(api_version=0, number_steps=2)).ljust(INITIAL_POS, b"\0")
    brain = BrainParametersProto(vector_action_size_deprecated=[4], vector_action_space_type_deprecated=continuous,
                                 brain_name="Old")  # fmt: skip
    records = b""
    for i in range(2):
        obs = ObservationProto(shape=[2])
        obs.float_data.data.extend([i, i])
        info = AgentInfoProto(reward=0.5, observations=[obs])
        action = AgentActionProto(vector_actions_deprecated=(np.arange(4) + i).tolist())
        records += delimited(AgentInfoActionPairProto(agent_info=info, action_info=action))
    path = tmp_path / "old.demo"
    path.write_bytes(header + delimited(brain) + records)
    demo = read_demonstration(path)
    assert demo.spec.action_spec == ActionSpec.create_continuous(4)
    assert demo.spec.observation_specs[0].observation_type == ObservationType.DEFAULT
    np.testing.assert_array_equal(demo.continuous_actions, [[0, 1, 2, 3], [1, 2, 3, 4]])
    np.testing.assert_array_equal(demo.obs[0], [[0, 0], [1, 1]])


def test_png_observations_follow_ml_agents_channel_rules() -> None:
    rng = np.random.default_rng(0)
    rgb, extra = (rng.integers(0, 256, (3, 7, 6)).astype(np.float32) / 255.0 for _ in range(2))
    np.testing.assert_allclose(png.decode_observation(png.encode_png(rgb), 3, []), rgb, atol=1e-7)
    both = png.encode_png(rgb) + png.encode_png(extra)
    five = png.decode_observation(both, 5, [])  # six stored channels, the sixth is padding
    np.testing.assert_allclose(five, np.concatenate([rgb, extra])[:5], atol=1e-7)
    grey = png.decode_observation(png.encode_png(rgb), 1, [])
    np.testing.assert_allclose(grey[0], rgb.mean(axis=0), atol=1e-6)
    mapped = png.decode_observation(both, 2, [0, 0, 1, -1, -1, 1])
    expected = np.stack([rgb[:2].mean(axis=0), (rgb[2] + extra[2]) / 2])
    np.testing.assert_allclose(mapped, expected, atol=1e-6)
    with pytest.raises(png.PngError, match="not a PNG"):
        png.decode_observation(b"not an image", 3, [])


def test_a_unity_style_file_with_png_observations_reads(tmp_path: Path) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (3, 4, 5)).astype(np.float32) / 255.0
    meta = delimited(DemonstrationMetaProto(api_version=1, number_steps=1)).ljust(INITIAL_POS, b"\0")
    brain = BrainParametersProto(brain_name="Cam", action_spec=ActionSpecProto(num_continuous_actions=1))
    obs = ObservationProto(shape=[3, 4, 5], compression_type=PNG, compressed_data=png.encode_png(rgb))
    pair = AgentInfoActionPairProto(agent_info=AgentInfoProto(observations=[obs]),
                                    action_info=AgentActionProto(continuous_actions=[0.5]))  # fmt: skip
    path = tmp_path / "cam.demo"
    path.write_bytes(meta + delimited(brain) + delimited(pair))
    demo = read_demonstration(path)
    np.testing.assert_allclose(demo.obs[0][0], rgb, atol=1e-7)
    assert demo.continuous_actions.tolist() == [[0.5]] and demo.spec.observation_specs[0].shape == (3, 4, 5)


@pytest.mark.parametrize("damage", ["empty", "cut", "garbage", "not-a-demo"])
def test_files_that_cannot_be_read_raise_a_demonstration_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "broken.demo"
    random_demo_file(path)
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "cut": data[: len(data) - 40], "garbage": data[:INITIAL_POS] + b"\xff" * 60,
                      "not-a-demo": b"plain text, not a demonstration\n" * 3}[damage])  # fmt: skip
    with pytest.raises(DemonstrationError):
        read_demonstration(path)


@pytest.mark.parametrize("channels", [1, 2, 4])
def test_camera_observations_of_any_channel_count_are_padded_and_mapped(tmp_path: Path, channels: int) -> None:
    """As Unity compresses them: RGB PNGs, the last padded with channels the mapping marks -1."""
    spec = BehaviorSpec((ObservationSpec.visual(channels, 6, 5, "camera"),), ActionSpec.create_discrete((2,)))
    image = np.random.default_rng(channels).integers(0, 256, (channels, 6, 5)).astype(np.float32) / 255.0
    path = tmp_path / "camera.demo"
    with DemonstrationWriter(path, "Cam", spec) as writer:
        writer.record([image], discrete_action=[1], done=True)
    (pair,) = messages(path)[2]
    stored = pair.agent_info.observations[0]
    padding = (-channels) % 3
    assert list(stored.compressed_channel_mapping) == ([*range(channels)] + [-1] * padding if padding else [])
    np.testing.assert_array_equal(read_demonstration(path).obs[0][0], image)


def test_a_recording_cut_short_is_read_to_its_end(tmp_path: Path) -> None:
    """A header never rewritten with the totals (number_steps 0): every record is read, as ML-Agents."""
    path = tmp_path / "cut.demo"
    random_demo_file(path, records=6)
    data = bytearray(path.read_bytes())
    header = delimited(DemonstrationMetaProto(api_version=1)).ljust(INITIAL_POS, b"\0")
    data[:INITIAL_POS] = header
    path.write_bytes(bytes(data))
    assert len(read_demonstration(path)) == 6
