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
from mlagents_fast.reward_signals.fused import Kept, body_stack, processors
from mlagents_fast.reward_signals.learned import LearnedSignal, ObservationEncoder, tensors
from mlagents_fast.spec import BehaviorSpec
from mlagents_fast.trainers.fused_bodies import encode


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
        target, predictor = body_stack(networks.target.network_body), body_stack(networks.predictor.network_body)
        self._stacks = None if target is None or predictor is None else (target, predictor)

    def rewards(self, batch: SignalUpdateBatch) -> NDArray[np.float32]:
        rewards: NDArray[np.float32] = (
            self.networks.distance(tensors(batch.obs, self.device)).cpu().numpy().astype(np.float32)
        )
        return rewards

    def losses(self, batch: SignalUpdateBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self.learn_statistics(batch.obs)
        loss = self.networks.distance(tensors(batch.obs, self.device)).mean()
        return loss, {"Losses/RND Loss": loss}

    def fused_gradients(self, batch: SignalUpdateBatch) -> dict[str, torch.Tensor] | None:
        """`losses`' gradient through the predictor by hand."""
        if self._stacks is None:
            return None
        target, predictor = self._stacks
        self.learn_statistics(batch.obs)
        obs = tensors(batch.obs, self.device)
        goal = target.forward(encode(processors(self.networks.target.network_body), obs))
        kept = Kept()
        difference = predictor.forward(encode(processors(self.networks.predictor.network_body), obs), kept) - goal
        loss = torch.sum(difference * difference, dim=1).mean()
        predictor.backward(difference * (2.0 / len(batch)), kept, input_grad=False)
        return {"Losses/RND Loss": loss}
