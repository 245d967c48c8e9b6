"""The environment's own reward (ML-Agents' ExtrinsicRewardProvider)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlagents_fast.reward_signals.base import RewardInput, SignalUpdateBatch


class ExtrinsicRewardSignal:
    """The agent's reward plus its group's; nothing to learn."""

    name = "extrinsic"
    stat_name = "Extrinsic"
    learns = False

    def __init__(self, gamma: float, strength: float) -> None:
        self.gamma, self.strength = gamma, strength

    def reward(self, step: RewardInput, out: NDArray[np.float32]) -> None:
        np.add(step.outcome.reward, step.outcome.group_reward, out=out)

    def update(self, batch: SignalUpdateBatch) -> dict[str, float]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass
