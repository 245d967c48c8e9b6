""".demo reading and writing: the wire codec, the header layout, legacy fields and PNG observations."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from mlagents_fast.demonstrations import png
from mlagents_fast.demonstrations.format import INITIAL_POS, DemonstrationError
from mlagents_fast.demonstrations.reader import read_demonstration
from mlagents_fast.demonstrations.wire import (
    MessageWriter,
    as_int32,
    decode_varint,
    encode_varint,
    parse_message,
    repeated_floats,
    repeated_ints,
)
from mlagents_fast.demonstrations.writer import DemonstrationWriter, write_demonstration
from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec, ObservationType

HYBRID = BehaviorSpec(
    (ObservationSpec.vector(3, "ray"), ObservationSpec.visual(3, 4, 5, "camera")), ActionSpec.create_hybrid(2, (3, 2))
)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31 - 1, -1, -(2**31)])
def test_varint_round_trip_with_int32_sign(value: int) -> None:
    encoded = encode_varint(value)
    if value < 0:
        assert len(encoded) == 10  # negative int32s are sent in their 64-bit form
    decoded, end = decode_varint(encoded, 0)
    assert end == len(encoded) and as_int32(decoded) == value


def test_unpacked_repeated_fields_are_accepted() -> None:
    # Field 1 as three separate fixed32 floats, field 2 as separate varints (not packed).
    raw = b"".join(b"\x0d" + struct.pack("<f", v) for v in (1.5, -2.0, 0.25)) + b"\x10\x03\x10\x04"
    fields = parse_message(raw)
    np.testing.assert_array_equal(repeated_floats(fields, 1), [1.5, -2.0, 0.25])
    assert repeated_ints(fields, 2) == [3, 4]


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
    meta_size, start = decode_varint(data, 0)
    assert start + meta_size <= INITIAL_POS
    assert set(data[start + meta_size : INITIAL_POS]) <= {0}
    brain_size, brain_start = decode_varint(data, INITIAL_POS)
    assert brain_start + brain_size == len(data)


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


def delimited(message: MessageWriter) -> bytes:
    body = message.to_bytes()
    return encode_varint(len(body)) + body


def test_legacy_action_fields_are_read(tmp_path: Path) -> None:
    """Files older than the action spec: the brain's deprecated sizes and the flat action list."""
    meta = MessageWriter().varint(1, 0).varint(3, 2)
    header = delimited(meta).ljust(INITIAL_POS, b"\0")
    brain = MessageWriter().packed_varints(3, [4]).varint(6, 1).string(7, "Old")
    records = b""
    for i in range(2):
        obs = MessageWriter().packed_varints(1, [2]).message(4, MessageWriter().packed_floats(1, np.array([i, i])))
        info = MessageWriter().float32(7, 0.5).message(13, obs)
        action = MessageWriter().packed_floats(1, np.arange(4, dtype=np.float32) + i)
        records += delimited(MessageWriter().message(1, info).message(2, action))
    path = tmp_path / "old.demo"
    path.write_bytes(header + delimited(brain) + records)
    demo = read_demonstration(path)
    assert demo.spec.action_spec == ActionSpec.create_continuous(4)
    assert demo.spec.observation_specs[0].observation_type == ObservationType.DEFAULT
    np.testing.assert_array_equal(demo.continuous_actions, [[0, 1, 2, 3], [1, 2, 3, 4]])
    np.testing.assert_array_equal(demo.obs[0], [[0, 0], [1, 1]])


def encode_png(image: np.ndarray) -> bytes:
    """(height, width, channels) uint8 -> PNG, cycling through the five row filters."""
    height, width, channels = image.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    pixels = image.astype(np.int16).reshape(height, width * channels)
    rows, previous = [], np.zeros(width * channels, np.int16)
    for y in range(height):
        line, kind = pixels[y], y % 5
        left = np.concatenate([np.zeros(channels, np.int16), line[:-channels]])
        up_left = np.concatenate([np.zeros(channels, np.int16), previous[:-channels]])
        predictor = [
            np.zeros_like(line),
            left,
            previous,
            (left + previous) // 2,
            png._paeth(left, previous, up_left),
        ][kind]
        rows.append(bytes([kind]) + ((line - predictor) % 256).astype(np.uint8).tobytes())
        previous = line

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    data = chunk(b"IDAT", zlib.compress(b"".join(rows)))
    return png.PNG_SIGNATURE + chunk(b"IHDR", header) + data + chunk(b"IEND", b"")


def test_png_observations_decode_with_every_filter() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (7, 6, 3), dtype=np.uint8)
    encoded = encode_png(rgb)
    image, end = png.decode_png(encoded)
    assert end == len(encoded)
    np.testing.assert_allclose(image, np.moveaxis(rgb, -1, 0) / 255.0, atol=1e-7)
    extra = rng.integers(0, 256, (7, 6, 3), dtype=np.uint8)
    both = encode_png(rgb) + encode_png(extra)
    five = png.decode_observation(both, 5, [])  # six stored channels, the sixth is padding
    np.testing.assert_allclose(five, np.concatenate([rgb, extra], axis=2)[:, :, :5].transpose(2, 0, 1) / 255.0)
    grey = png.decode_observation(encode_png(rgb), 1, [])
    np.testing.assert_allclose(grey[0], rgb.mean(axis=2) / 255.0, atol=1e-6)
    mapped = png.decode_observation(both, 2, [0, 0, 1, -1, -1, 1])
    expected = np.stack([rgb[:, :, :2].mean(axis=2), (rgb[:, :, 2] / 2 + extra[:, :, 2] / 2)]) / 255.0
    np.testing.assert_allclose(mapped, expected, atol=1e-6)


def test_png_compressed_observation_in_a_demo(tmp_path: Path) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    meta = delimited(MessageWriter().varint(1, 1).varint(3, 1)).ljust(INITIAL_POS, b"\0")
    brain = MessageWriter().string(7, "Cam").message(9, MessageWriter().varint(1, 1))
    obs = MessageWriter().packed_varints(1, [3, 4, 5]).varint(2, 1).raw(3, encode_png(rgb))
    info = MessageWriter().message(13, obs)
    pair = MessageWriter().message(1, info).message(2, MessageWriter().packed_floats(6, np.array([0.5], np.float32)))
    path = tmp_path / "cam.demo"
    path.write_bytes(meta + delimited(brain) + delimited(pair))
    demo = read_demonstration(path)
    np.testing.assert_allclose(demo.obs[0][0], np.moveaxis(rgb, -1, 0) / 255.0, atol=1e-7)
    assert demo.continuous_actions.tolist() == [[0.5]]
