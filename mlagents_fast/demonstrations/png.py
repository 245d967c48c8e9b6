"""A small PNG decoder for the compressed camera observations in `.demo` files.

Unity stores a visual observation as one PNG per three channels, concatenated, plus an
optional channel mapping. Only what Unity writes is supported: 8-bit, non-interlaced
greyscale / RGB (with or without alpha). Using zlib directly keeps Pillow optional.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from numpy.typing import NDArray

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel


class PngError(ValueError):
    """A compressed observation this decoder cannot read."""


def _paeth(left: NDArray[np.int16], up: NDArray[np.int16], up_left: NDArray[np.int16]) -> NDArray[np.int16]:
    estimate = left + up - up_left
    to_left, to_up, to_up_left = np.abs(estimate - left), np.abs(estimate - up), np.abs(estimate - up_left)
    return np.where((to_left <= to_up) & (to_left <= to_up_left), left, np.where(to_up <= to_up_left, up, up_left))


def _unfilter(raw: bytes, height: int, width: int, channels: int) -> NDArray[np.uint8]:
    stride = width * channels
    if len(raw) < height * (stride + 1):
        raise PngError("PNG image data is shorter than its header says")
    rows = np.frombuffer(raw, np.uint8, height * (stride + 1)).reshape(height, stride + 1)
    out = np.zeros((height, width, channels), np.int16)
    previous = np.zeros((width, channels), np.int16)
    for y in range(height):
        kind = int(rows[y, 0])
        line = rows[y, 1:].reshape(width, channels).astype(np.int16)
        if kind == 0:
            current = line
        elif kind == 1:  # Sub: a running sum along the row, per channel
            current = np.cumsum(line, axis=0) % 256
        elif kind == 2:  # Up
            current = (line + previous) % 256
        elif kind in (3, 4):  # Average / Paeth depend on the pixel to the left: one pixel at a time
            current = np.zeros_like(line)
            left = np.zeros(channels, np.int16)
            up_left = np.zeros(channels, np.int16)
            for x in range(width):
                up = previous[x]
                predictor = (left + up) // 2 if kind == 3 else _paeth(left, up, up_left)
                current[x] = (line[x] + predictor) % 256
                left, up_left = current[x], up
        else:
            raise PngError(f"unknown PNG filter type {kind}")
        out[y] = current
        previous = current
    return out.astype(np.uint8)


def decode_png(data: bytes | memoryview, start: int = 0) -> tuple[NDArray[np.float32], int]:
    """The image at `start` as float32 (channels, height, width) in [0, 1], and the offset after it."""
    data = bytes(data)
    if data[start : start + 8] != PNG_SIGNATURE:
        raise PngError("compressed observation is not a PNG image")
    pos = start + 8
    header: tuple[int, ...] | None = None
    compressed = bytearray()
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length  # length, type, body, CRC
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
    if header is None:
        raise PngError("PNG image has no IHDR chunk")
    width, height, bit_depth, colour_type, _, _, interlace = header
    if bit_depth != 8 or colour_type not in _CHANNELS or interlace:
        raise PngError(f"unsupported PNG (bit depth {bit_depth}, colour type {colour_type}, interlace {interlace})")
    channels = _CHANNELS[colour_type]
    pixels = _unfilter(zlib.decompress(bytes(compressed)), height, width, channels)
    return np.moveaxis(pixels.astype(np.float32) / 255.0, -1, 0), pos


def decode_observation(data: bytes | memoryview, channels: int, mapping: list[int]) -> NDArray[np.float32]:
    """Concatenated PNGs -> (channels, height, width), following ML-Agents' channel rules.

    With a mapping, output channel k is the mean of the stored channels mapped to k (-1 drops
    padding). Without one, a single-channel observation is the mean of the first image's
    channels (greyscale), and extra padding channels are dropped.
    """
    data = bytes(data)
    images, pos = [], 0
    while pos < len(data):
        image, pos = decode_png(data, pos)
        images.append(image)
        next_start = data.find(PNG_SIGNATURE, pos)
        if next_start < 0:
            break
        pos = next_start
    if mapping:
        stacked = np.concatenate(images, axis=0)
        if len(mapping) != stacked.shape[0]:
            raise PngError(f"channel mapping has {len(mapping)} entries for {stacked.shape[0]} stored channels")
        groups = [stacked[[i for i, m in enumerate(mapping) if m == k]] for k in range(max(mapping) + 1)]
        if any(group.shape[0] == 0 for group in groups):
            raise PngError(f"invalid channel mapping {mapping}")
        return np.stack([group.mean(axis=0) for group in groups]).astype(np.float32)
    if channels == 1:
        grey: NDArray[np.float32] = images[0].mean(axis=0, keepdims=True, dtype=np.float32)
        return grey
    return np.concatenate(images, axis=0)[:channels]
