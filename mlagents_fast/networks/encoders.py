"""Observation encoders: normalized vector inputs and ML-Agents' visual encoders."""

from __future__ import annotations

import torch
from torch import nn

from mlagents_fast.networks.layers import Swish, linear
from mlagents_fast.ops.normalize import MIN_VARIANCE
from mlagents_fast.ops.normalize import ML_AGENTS_CLIP as NORMALIZER_CLIP
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.spec import ObservationSpec


class VectorInput(nn.Module):
    """A vector observation, optionally normalized by running statistics kept as buffers
    (so they are saved in checkpoints and baked into the ONNX graph). The statistics are
    updated outside the network (by the native normalizer) and copied in with `set_statistics`."""

    running_mean: torch.Tensor
    running_variance: torch.Tensor

    def __init__(self, size: int, normalize: bool) -> None:
        super().__init__()
        self.size, self.normalize = size, normalize
        self.register_buffer("running_mean", torch.zeros(size))
        self.register_buffer("running_variance", torch.ones(size))

    def set_statistics(self, mean: torch.Tensor, variance: torch.Tensor) -> None:
        self.running_mean.copy_(mean)
        self.running_variance.copy_(variance.clamp_min(MIN_VARIANCE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.normalize:
            return x
        return torch.clamp((x - self.running_mean) / torch.sqrt(self.running_variance), -NORMALIZER_CLIP,
                           NORMALIZER_CLIP)  # fmt: skip


def _conv_out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


class SimpleVisualEncoder(nn.Module):
    MIN_RESOLUTION = 20

    def __init__(self, height: int, width: int, channels: int, output: int) -> None:
        super().__init__()
        h, w = _conv_out(_conv_out(height, 8, 4), 4, 2), _conv_out(_conv_out(width, 8, 4), 4, 2)
        self.conv = nn.Sequential(nn.Conv2d(channels, 16, 8, 4), nn.LeakyReLU(), nn.Conv2d(16, 32, 4, 2),
                                  nn.LeakyReLU())  # fmt: skip
        self.dense = nn.Sequential(linear(32 * h * w, output, gain=1.41), nn.LeakyReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.conv(x).flatten(1))


class NatureVisualEncoder(nn.Module):
    MIN_RESOLUTION = 36

    def __init__(self, height: int, width: int, channels: int, output: int) -> None:
        super().__init__()
        h = _conv_out(_conv_out(_conv_out(height, 8, 4), 4, 2), 3, 1)
        w = _conv_out(_conv_out(_conv_out(width, 8, 4), 4, 2), 3, 1)
        self.conv = nn.Sequential(nn.Conv2d(channels, 32, 8, 4), nn.LeakyReLU(), nn.Conv2d(32, 64, 4, 2),
                                  nn.LeakyReLU(), nn.Conv2d(64, 64, 3, 1), nn.LeakyReLU())  # fmt: skip
        self.dense = nn.Sequential(linear(64 * h * w, output, gain=1.41), nn.LeakyReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.conv(x).flatten(1))


class ResNetBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(Swish(), nn.Conv2d(channels, channels, 3, 1, 1), Swish(),
                                    nn.Conv2d(channels, channels, 3, 1, 1))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


class ResNetVisualEncoder(nn.Module):
    """IMPALA-style: three stacks [16, 32, 32] of conv, max-pool 3/2 and two residual blocks."""

    MIN_RESOLUTION = 15

    def __init__(self, height: int, width: int, channels: int, output: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for depth in (16, 32, 32):
            layers += [nn.Conv2d(channels, depth, 3, 1, 1), nn.MaxPool2d(3, 2), ResNetBlock(depth),
                       ResNetBlock(depth)]  # fmt: skip
            channels = depth
            height, width = _conv_out(height, 3, 2), _conv_out(width, 3, 2)  # the unpadded pooling
        self.conv = nn.Sequential(*layers, Swish())
        self.dense = nn.Sequential(linear(channels * height * width, output, gain=1.41), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.conv(x).flatten(1))


class SmallVisualEncoder(nn.Module):
    """`match3`: two unpadded 3x3 convolutions without striding, for boards as small as 5x5."""

    MIN_RESOLUTION = 5

    def __init__(self, height: int, width: int, channels: int, output: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(channels, 35, 3, 1), nn.LeakyReLU(), nn.Conv2d(35, 144, 3, 1),
                                  nn.LeakyReLU())  # fmt: skip
        self.dense = nn.Sequential(linear(144 * (height - 4) * (width - 4), output, gain=1.41), nn.LeakyReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.conv(x).flatten(1))


class FullyConnectedVisualEncoder(nn.Module):
    MIN_RESOLUTION = 1

    def __init__(self, height: int, width: int, channels: int, output: int) -> None:
        super().__init__()
        self.dense = nn.Sequential(linear(channels * height * width, output, gain=1.41), nn.LeakyReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(x.flatten(1))


def image_floats(x: torch.Tensor) -> torch.Tensor:
    """An image as the encoders take it: uint8 pixels (kept as bytes from the environment to the
    device) become the [0, 1] values they stand for; float observations pass unchanged."""
    return x.to(torch.float32).mul_(1.0 / 255.0) if x.dtype == torch.uint8 else x


VISUAL_ENCODERS: dict[str, type[nn.Module]] = {
    "simple": SimpleVisualEncoder,
    "nature_cnn": NatureVisualEncoder,
    "resnet": ResNetVisualEncoder,
    "match3": SmallVisualEncoder,
    "fully_connected": FullyConnectedVisualEncoder,
}


class NetworkError(UnityTrainerException, ValueError):
    """An observation the networks cannot take: the user's to fix (mlagents-learn prints it as one
    paragraph and exits 1), raised while the networks are built, before any step."""


VIS_ENCODE_KEY = "network_settings.vis_encode_type"


def _minimum(encoder: type[nn.Module]) -> int:
    return int(getattr(encoder, "MIN_RESOLUTION", 1))


def check_observation(spec: ObservationSpec, index: int, vis_encode_type: str, behavior: str = "") -> None:
    """Raise NetworkError, naming the behavior (when given), the observation and the setting to
    change, if no processor of ours can take observation `index` with this `vis_encode_type`."""
    key = f"behaviors.{behavior}.{VIS_ENCODE_KEY}" if behavior else VIS_ENCODE_KEY
    named = f" ({spec.name})" if spec.name else ""
    prefix = f"Behavior {behavior!r}: observation" if behavior else "Observation"
    where = f"{prefix} {index}{named} of shape {spec.shape}"
    rank = len(spec.shape)
    if rank == 1:
        return
    if rank == 2:  # variable length (entities x features): attention.py
        if spec.shape[0] < 1 or spec.shape[1] < 1:
            raise NetworkError(f"{where} is a variable-length observation with no room for an entity or a feature.")
        return
    if rank != 3:
        raise NetworkError(
            f"{where} has {rank} dimensions; mlagents-fast takes vector observations (size,) and visual ones "
            "(channels, height, width) only."
        )
    encoder = VISUAL_ENCODERS.get(vis_encode_type)
    if encoder is None:
        raise NetworkError(
            f"{where} is visual, and `{key}` is {vis_encode_type!r}; expected one of {', '.join(VISUAL_ENCODERS)}."
        )
    _, height, width = spec.shape
    minimum = _minimum(encoder)
    if height < minimum or width < minimum:
        fitting = [f"{name} ({_minimum(e)}x{_minimum(e)})" for name, e in VISUAL_ENCODERS.items()
                   if 1 < _minimum(e) <= min(height, width)]  # fmt: skip
        choices = f"fully_connected (any size){''.join(', or ' + f for f in fitting)}"
        raise NetworkError(
            f"{where} is a {height}x{width} image, smaller than the {minimum}x{minimum} "
            f"that `{key}: {vis_encode_type}` needs. Set `{key}` to {choices}, or make the observation at least "
            f"{minimum}x{minimum}."
        )


def observation_encoder(
    spec: ObservationSpec, normalize: bool, vis_encode_type: str, hidden_units: int, *, index: int = 0,
    behavior: str = "",
) -> nn.Module:  # fmt: skip
    """The processor of observation `index`; its output width is `encoded_size(...)`. An
    observation it cannot take is a NetworkError (see `check_observation`). (A variable-length
    one has no processor of its own: NetworkBody reads it through attention.)"""
    check_observation(spec, index, vis_encode_type, behavior)
    if len(spec.shape) == 1:
        return VectorInput(spec.shape[0], normalize)
    if len(spec.shape) == 2:
        return nn.Identity()
    channels, height, width = spec.shape
    return VISUAL_ENCODERS[vis_encode_type](height, width, channels, hidden_units)


def encoded_size(spec: ObservationSpec, hidden_units: int) -> int:
    """The width of an observation's own encoding (a variable-length one has none: the body's
    attention adds `hidden_units` for all of them together)."""
    return {1: spec.shape[0], 2: 0}.get(len(spec.shape), hidden_units)
