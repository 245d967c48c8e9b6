"""The compressed camera observations Unity sends and records: PNG images decoded with Pillow.

Unity stores a visual observation as one PNG per three channels, concatenated, plus an
optional channel mapping; `decode_observation` follows ML-Agents' rules for both.
"""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PngError(ValueError):
    """A compressed observation that cannot be read."""


def decode_images(data: bytes) -> list[NDArray[np.float32]]:
    """Every PNG of `data`, in order, as float32 (channels, height, width) in [0, 1]."""
    images, start = [], 0
    while True:
        if data[start : start + len(PNG_SIGNATURE)] != PNG_SIGNATURE:
            raise PngError("compressed observation is not a PNG image")
        stream = io.BytesIO(data[start:])
        try:
            with Image.open(stream) as image:
                image.load()
                pixels = np.asarray(image, dtype=np.float32) / 255.0
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise PngError(f"compressed observation cannot be decoded: {error}") from None
        images.append(pixels[None] if pixels.ndim == 2 else np.moveaxis(pixels, -1, 0))
        start = data.find(PNG_SIGNATURE, start + stream.tell())
        if start < 0:
            return images


def decode_observation(data: bytes, channels: int, mapping: list[int]) -> NDArray[np.float32]:
    """Concatenated PNGs -> (channels, height, width), following ML-Agents' channel rules.

    With a mapping, output channel k is the mean of the stored channels mapped to k (-1 drops
    padding). Without one, a single-channel observation is the mean of the first image's
    channels (greyscale), and extra padding channels are dropped.
    """
    images = decode_images(data)
    kept = [m for m in mapping if m >= 0]
    if mapping and kept == list(range(len(kept))) and all(m < 0 for m in mapping[len(kept) :]):
        mapping = []  # each stored channel in order, then padding: the plain case below
        channels = len(kept)
    if mapping:
        stacked = np.concatenate(images, axis=0)
        if len(mapping) != stacked.shape[0]:
            raise PngError(f"channel mapping has {len(mapping)} entries for {stacked.shape[0]} stored channels")
        groups = [stacked[[i for i, m in enumerate(mapping) if m == k]] for k in range(max(mapping) + 1)]
        if any(group.shape[0] == 0 for group in groups):
            raise PngError(f"invalid channel mapping {mapping}")
        return np.stack([group.mean(axis=0) for group in groups]).astype(np.float32)
    if channels == 1 and images[0].shape[0] > 1 and not kept:
        grey: NDArray[np.float32] = images[0].mean(axis=0, keepdims=True, dtype=np.float32)
        return grey
    return images[0][:channels] if len(images) == 1 else np.concatenate(images, axis=0)[:channels]


def encode_png(image: NDArray[np.float32]) -> bytes:
    """(channels, height, width) in [0, 1], 1 to 4 channels -> one PNG (for recording camera observations)."""
    pixels = np.clip(np.rint(np.moveaxis(image, 0, -1) * 255.0), 0, 255).astype(np.uint8)
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[pixels.shape[-1]]
    out = io.BytesIO()
    Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(out, format="PNG")
    return out.getvalue()
