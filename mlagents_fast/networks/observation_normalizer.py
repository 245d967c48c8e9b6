"""ML-Agents' `normalize: true`: running statistics of the vector observations, fed to the networks.

The statistics live in one place, the native float64 `RunningNormalizer` of each vector
observation; the networks' normalizing inputs hold float32 copies (so the ONNX graph and the
checkpoint carry them), refreshed with `push_into` when a trainer wants them to see the
statistics so far.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from mlagents_fast.networks.actor_critic import NetworkBody
from mlagents_fast.networks.encoders import VectorInput
from mlagents_fast.ops.normalize import RunningNormalizer


def share_statistics(source: NetworkBody, *bodies: NetworkBody) -> None:
    """Make `bodies`' normalizing inputs hold `source`'s statistics tensors themselves (networks
    that always see the same statistics, as SAC's five): a push into `source` reaches them all.
    Each network's checkpoint entries stay, all holding the same values."""
    for body in bodies:
        pairs = zip(body.vector_inputs(), source.vector_inputs(), strict=True)
        for (index, processor), (source_index, origin) in pairs:
            assert index == source_index and processor.size == origin.size
            processor.running_mean = origin.running_mean
            processor.running_variance = origin.running_variance


class ObservationNormalizer:
    """The running statistics of the observations a network body normalizes (none if it does not)."""

    def __init__(self, body: NetworkBody, enabled: bool) -> None:
        self.statistics = (
            {i: RunningNormalizer(processor.size) for i, processor in body.vector_inputs()} if enabled else {}
        )

    def __bool__(self) -> bool:
        return bool(self.statistics)

    def update(self, obs: Sequence[NDArray[np.float32]]) -> None:
        """Add a step's observations (every observation of the behavior, in order)."""
        for index, normalizer in self.statistics.items():
            normalizer.update(obs[index])

    def push_into(self, *networks: nn.Module) -> None:
        """Copy the statistics so far into these networks' normalizing inputs (actor, critic...)."""
        for index, normalizer in self.statistics.items():
            mean = torch.as_tensor(normalizer.mean, dtype=torch.float32)
            variance = torch.as_tensor(normalizer.variance, dtype=torch.float32)
            for network in networks:
                # an actor's or critic's body, or a network with processors of its own (POCA's critic)
                body = network.network_body if hasattr(network, "network_body") else network
                processors = getattr(body, "processors", None)
                assert isinstance(processors, nn.ModuleList)
                processor = processors[index]
                assert isinstance(processor, VectorInput)
                processor.set_statistics(mean, variance)

    def state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        """Checkpoint entries `normalizer:obs_<i>` (plain tensors, loadable with weights_only)."""
        return {
            f"normalizer:obs_{index}": {k: torch.from_numpy(np.asarray(v)) for k, v in normalizer.state_dict().items()}
            for index, normalizer in self.statistics.items()
        }

    def load_state_dict(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        """Restore the entries `state_dict` wrote; a checkpoint without them keeps the prior."""
        for index, normalizer in self.statistics.items():
            saved = state.get(f"normalizer:obs_{index}")
            if saved is not None:
                normalizer.load_state_dict({k: v.numpy() for k, v in saved.items()})
