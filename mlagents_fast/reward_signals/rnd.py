"""Random network distillation (ML-Agents' RNDRewardProvider).

A randomly initialized network stays fixed; a second one of the same shape learns to match its
output on the observations seen. The reward is the squared distance between the two outputs,
summed over the features: large on observations the predictor has seen little of. Its loss is
the mean of that distance.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from mlagents_fast.config.trainer_settings import RNDSettings
from mlagents_fast.reward_signals.base import SignalUpdateBatch
from mlagents_fast.reward_signals.learned import LearnedSignal, ObservationEncoder, tensors
from mlagents_fast.spec import BehaviorSpec


class RNDNetworks(nn.Module):
    def __init__(self, spec: BehaviorSpec, settings: RNDSettings) -> None:
        super().__init__()
        self.target = ObservationEncoder(spec, settings.network_settings)
        self.predictor = ObservationEncoder(spec, settings.network_settings)
        self.target.requires_grad_(False)

    def distance(self, obs: list[torch.Tensor]) -> torch.Tensor:
        with torch.no_grad():
            target = self.target(obs)
        return torch.sum((self.predictor(obs) - target) ** 2, dim=1)


class RNDSignal(LearnedSignal):
    name = "rnd"
    stat_name = "Rnd"

    def __init__(self, settings: RNDSettings, spec: BehaviorSpec) -> None:
        super().__init__(settings, spec, settings.learning_rate)
        networks = RNDNetworks(spec, settings)
        self._finish(networks, [networks.target, networks.predictor])
        self.networks = networks

    def rewards(self, batch: SignalUpdateBatch) -> NDArray[np.float32]:
        rewards: NDArray[np.float32] = (
            self.networks.distance(tensors(batch.obs, self.device)).cpu().numpy().astype(np.float32)
        )
        return rewards

    def losses(self, batch: SignalUpdateBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self.learn_statistics(batch.obs)
        loss = self.networks.distance(tensors(batch.obs, self.device)).mean()
        return loss, {"Losses/RND Loss": loss}
