"""What the signals that train networks (curiosity, RND, GAIL) share: their settings, an encoder
of the behavior's observations, one Adam, the tensors of a batch, and their checkpoint state."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from mlagents_fast.config.trainer_settings import NetworkSettings, RewardSignalSettings
from mlagents_fast.networks.actor_critic import NetworkBody
from mlagents_fast.networks.observation_normalizer import ObservationNormalizer
from mlagents_fast.reward_signals.base import RewardInput, SignalUpdateBatch
from mlagents_fast.spec import ActionSpec, BehaviorSpec
from mlagents_fast.trainers.flat_adam import FlatAdam

EVALUATE_CHUNK = 4096  # steps a signal evaluates at once


class ObservationEncoder(nn.Module):
    """The behavior's observations through a network body of the signal's `network_settings`
    (ML-Agents builds its signals' encoders from them; `memory` is not used, as there)."""

    def __init__(self, spec: BehaviorSpec, network: NetworkSettings) -> None:
        super().__init__()
        self.network_body = NetworkBody(spec, network.normalize, network.hidden_units, network.num_layers,
                                        network.vis_encode_type, network.goal_conditioning_type)  # fmt: skip

    def forward(self, obs: list[torch.Tensor]) -> torch.Tensor:
        out: torch.Tensor = self.network_body(obs)
        return out


def flat_actions(spec: ActionSpec, batch: SignalUpdateBatch, device: torch.device) -> torch.Tensor:
    """The actions as one vector per step: the continuous values, then each branch one-hot
    (ML-Agents' ActionFlattener)."""
    parts = []
    if spec.continuous_size:
        assert batch.continuous_action is not None
        parts.append(torch.from_numpy(np.ascontiguousarray(batch.continuous_action, np.float32)).to(device))
    if spec.discrete_branches:
        assert batch.discrete_action is not None
        discrete = torch.from_numpy(np.asarray(batch.discrete_action, np.int64)).to(device)
        for b, size in enumerate(spec.discrete_branches):
            parts.append(nn.functional.one_hot(discrete[:, b], size).float())
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def tensors(obs: list[NDArray[Any]], device: torch.device) -> list[torch.Tensor]:
    """Host arrays as tensors on `device` (on the CPU, views of them): float32, or uint8 images as
    they are (the networks scale them on the device)."""
    kept = [o if o.dtype == np.uint8 else np.asarray(o, np.float32) for o in obs]
    return [torch.from_numpy(np.ascontiguousarray(o)).to(device) for o in kept]


class LearnedSignal(ABC):
    """The frame of a signal with networks: a subclass builds `self.network` (whose encoders
    are the `ObservationEncoder`s listed in `encoders`) and writes `rewards` and `losses`, and
    may write `fused_gradients`, the same gradients without autograd (see fused.py)."""

    name: str
    stat_name: str
    learns = True

    def __init__(self, settings: RewardSignalSettings, spec: BehaviorSpec, learning_rate: float) -> None:
        self.gamma, self.strength = settings.gamma, settings.strength
        self.spec, self.network_settings = spec, settings.network_settings
        self.learning_rate = learning_rate
        self.device = torch.device("cpu")
        self.updates = 0  # gradient steps taken
        # SAC's collecting thread evaluates steps while, `threaded`, its update thread trains the signal.
        self.lock = threading.Lock()

    def _finish(self, network: nn.Module, encoders: list[nn.Module]) -> None:
        """Called by the subclass once `network` is built: its optimizer, and the normalizer of the
        observations that `encoders` (modules with a `network_body`) read, the first one's shapes."""
        self.network = network
        self.encoders = encoders
        self.optimizer = self._optimizer()
        # Whether `update` takes `fused_gradients` (where a subclass has them for its networks)
        # or autograd through `losses`; the tests compare the two.
        self.fused = True
        body = encoders[0].network_body
        assert isinstance(body, NetworkBody)
        self.normalizer = ObservationNormalizer(body, self.network_settings.normalize)

    def _optimizer(self) -> FlatAdam:
        return FlatAdam([p for p in self.network.parameters() if p.requires_grad], lr=self.learning_rate)

    def to(self, device: torch.device) -> None:
        """Run on `device` (the trainer's): the networks move, a new optimizer with them (this
        happens before the first update)."""
        if device != self.device:
            self.network.to(device)
            self.optimizer = self._optimizer()
        self.device = device

    def reward(self, step: RewardInput, out: NDArray[np.float32]) -> None:
        """Paid when an update evaluates the steps (`evaluate`), not during collection."""
        out[...] = 0.0

    def evaluate(self, batch: SignalUpdateBatch) -> NDArray[np.float32]:
        """Every step's reward (before `strength`), [len(batch)], in chunks of EVALUATE_CHUNK steps
        (a large update of camera observations would not fit in memory at once)."""
        with self.lock, torch.no_grad():
            if len(batch) <= EVALUATE_CHUNK:
                return self.rewards(batch)
            chunks = [slice(i, i + EVALUATE_CHUNK) for i in range(0, len(batch), EVALUATE_CHUNK)]
            return np.concatenate([self.rewards(batch.select(chunk)) for chunk in chunks])  # (views, no copies)

    @abstractmethod
    def rewards(self, batch: SignalUpdateBatch) -> NDArray[np.float32]:
        """`evaluate` without the lock (and without gradients)."""

    def learn_statistics(self, obs: list[NDArray[np.float32]]) -> None:
        """With `normalize`, the running statistics take in `obs` (a subclass's losses call it with
        what ML-Agents normalizes on: the minibatch, GAIL's expert batch)."""
        if self.normalizer:
            self.normalizer.update(obs)
            self.normalizer.push_into(*self.encoders)

    @abstractmethod
    def losses(self, batch: SignalUpdateBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss to minimize on a minibatch and the stats to report of it."""

    def fused_gradients(self, batch: SignalUpdateBatch) -> dict[str, torch.Tensor] | None:
        """The gradients of `losses` written into the parameters' `.grad` without autograd, and
        the same stats; None where this signal's networks have no such path."""
        return None

    def gradients(self, batch: SignalUpdateBatch) -> dict[str, torch.Tensor]:
        """Zero the gradients, then write those of one minibatch's loss; its stats."""
        self.optimizer.zero_grad()
        stats = None
        if self.fused:
            with torch.no_grad():
                stats = self.fused_gradients(batch)
        if stats is None:
            loss, stats = self.losses(batch)
            loss.backward()
        return stats

    def update(self, batch: SignalUpdateBatch) -> dict[str, float]:
        with self.lock:
            stats = self.gradients(batch)
            self.optimizer.step()
            self.updates += 1
        return {name: float(value.detach()) for name, value in stats.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"network": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
                "normalizer": self.normalizer.state_dict(), "updates": self.updates}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.normalizer.load_state_dict(state["normalizer"])
        self.updates = int(state["updates"])
        if self.normalizer:
            self.normalizer.push_into(*self.encoders)
