"""Reward signal name (a key of `reward_signals`) -> the code that pays it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from mlagents_fast.config.trainer_settings import (
    CuriositySettings,
    GAILSettings,
    RewardSignalSettings,
    RNDSettings,
    TrainerSettings,
)
from mlagents_fast.reward_signals.base import RewardSignal
from mlagents_fast.reward_signals.extrinsic import ExtrinsicRewardSignal
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.spec import BehaviorSpec

SignalFactory = Callable[[RewardSignalSettings, BehaviorSpec], RewardSignal]


def _lazy(module: str, cls: str, settings_type: type[RewardSignalSettings]) -> SignalFactory:
    """A factory importing the signal's module (its torch networks) only when a behavior asks for it."""

    def make(settings: RewardSignalSettings, spec: BehaviorSpec) -> RewardSignal:
        assert isinstance(settings, settings_type)
        signal: RewardSignal = getattr(importlib.import_module(module), cls)(settings, spec)
        return signal

    return make


_FACTORIES: dict[str, SignalFactory] = {
    "extrinsic": lambda settings, spec: ExtrinsicRewardSignal(settings.gamma, settings.strength),
    "curiosity": _lazy("mlagents_fast.reward_signals.curiosity", "CuriositySignal", CuriositySettings),
    "rnd": _lazy("mlagents_fast.reward_signals.rnd", "RNDSignal", RNDSettings),
    "gail": _lazy("mlagents_fast.reward_signals.gail", "GAILSignal", GAILSettings),
}


def register_reward_signal(name: str, factory: SignalFactory) -> None:
    """Make `reward_signals.<name>` available to every trainer (replacing any earlier factory)."""
    _FACTORIES[name] = factory


def available_reward_signals() -> list[str]:
    return sorted(_FACTORIES)


def make_reward_signals(settings: Mapping[str, RewardSignalSettings], spec: BehaviorSpec) -> list[RewardSignal]:
    """The signals `reward_signals` names, in its order; one not implemented yet is a clear error."""
    missing = [name for name in settings if name not in _FACTORIES]
    if missing:
        raise UnityTrainerException(
            f"Reward signal {missing[0]!r} is not available yet; mlagents-fast pays "
            f"{', '.join(available_reward_signals())}. Remove `reward_signals.{missing[0]}` to train without it."
        )
    return [_FACTORIES[name](signal, spec) for name, signal in settings.items()]


def seeded_signals(settings: TrainerSettings, spec: BehaviorSpec, seed: int, device: Any = "cpu") -> list[RewardSignal]:
    """`make_reward_signals` for a trainer seeded with `seed` on `device`: the signals' networks
    start from a generator of their own, so adding a signal leaves the policy's initial weights as
    they were, and those that learn run on the trainer's device."""
    import torch  # (the trainers have loaded it already; this module is also read before torch is needed)

    from mlagents_fast.reward_signals.learned import LearnedSignal

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed ^ SIGNAL_SEED)
        signals = make_reward_signals(settings.reward_signals, spec)
    for signal in signals:
        if isinstance(signal, LearnedSignal):
            signal.to(torch.device(device))
    return signals


SIGNAL_SEED = 0x5EED
