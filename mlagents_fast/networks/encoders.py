"""Observation encoders: normalized vector inputs and ML-Agents' visual encoders."""

from __future__ import annotations

import torch
from torch import nn

from mlagents_fast.networks.layers import Swish, linear
from mlagents_fast.spec import ObservationSpec

NORMALIZER_CLIP = 5.0
MIN_VARIANCE = 1e-8


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


VISUAL_ENCODERS: dict[str, type[nn.Module]] = {
    "simple": SimpleVisualEncoder,
    "nature_cnn": NatureVisualEncoder,
    "resnet": ResNetVisualEncoder,
    "match3": SmallVisualEncoder,
    "fully_connected": FullyConnectedVisualEncoder,
}


class NetworkError(ValueError):
    """An observation the chosen encoder cannot take."""


def observation_encoder(spec: ObservationSpec, normalize: bool, vis_encode_type: str, hidden_units: int) -> nn.Module:
    """The processor of one observation; its output width is `encoded_size(...)`."""
    if len(spec.shape) == 1:
        return VectorInput(spec.shape[0], normalize)
    if len(spec.shape) != 3:
        raise NetworkError(f"Observations of shape {spec.shape} are not supported (vector or C x H x W visual).")
    encoder = VISUAL_ENCODERS.get(vis_encode_type)
    if encoder is None:
        raise NetworkError(f"vis_encode_type must be one of {', '.join(VISUAL_ENCODERS)}; got {vis_encode_type!r}.")
    channels, height, width = spec.shape
    minimum = int(getattr(encoder, "MIN_RESOLUTION", 1))
    if height < minimum or width < minimum:
        raise NetworkError(
            f"Visual observation {spec.name or ''} of {height}x{width} is smaller than the minimum {minimum}x"
            f"{minimum} of the {vis_encode_type!r} encoder; choose another vis_encode_type."
        )
    return encoder(height, width, channels, hidden_units)


def encoded_size(spec: ObservationSpec, hidden_units: int) -> int:
    return spec.shape[0] if len(spec.shape) == 1 else hidden_units
