"""`trainer_type` -> the trainer that trains it, with ML-Agents' plugin entry points.

Built in: `ppo`, `sac`, `poca`. A third-party trainer installs as it does for ML-Agents: its package declares
an entry point in the group `mlagents.trainer_type` naming a function that returns
`({trainer_type: TrainerClass}, {trainer_type: HyperparametersClass})`. Here the trainer class
is called with `TrainerFactory`'s signature (protocol.py) and must behave as a `Trainer`.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from mlagents_fast.config.trainer_settings import register_hyperparameters
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.trainers.protocol import TrainerFactory

if TYPE_CHECKING:  # mypy holds each built-in trainer to the protocol (torch loads only when one is asked for)
    from mlagents_fast.trainers.poca import POCATrainer
    from mlagents_fast.trainers.ppo import PPOTrainer
    from mlagents_fast.trainers.sac import SACTrainer

    _ppo: TrainerFactory = PPOTrainer
    _sac: TrainerFactory = SACTrainer
    _poca: TrainerFactory = POCATrainer

ENTRY_POINT_GROUP = "mlagents.trainer_type"
logger = logging.getLogger(__name__)

# Built-in trainers, imported when first asked for (torch loads with them).
_BUILT_IN = {
    "ppo": "mlagents_fast.trainers.ppo:PPOTrainer",
    "sac": "mlagents_fast.trainers.sac:SACTrainer",
    "poca": "mlagents_fast.trainers.poca:POCATrainer",
}
_registered: dict[str, TrainerFactory] = {}
_plugins_loaded = False


def register_trainer(trainer_type: str, factory: TrainerFactory) -> None:
    """Make `trainer_type` trainable (replacing a plugin's or an earlier registration)."""
    _registered[trainer_type] = factory


def load_plugins() -> None:
    """Register the trainers of every installed `mlagents.trainer_type` entry point (once).

    A plugin that fails to load, or that names a built-in trainer type, is skipped with a
    warning: ML-Agents' own default entry point names its torch trainers, which are not ours."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.value.startswith("mlagents.plugins."):
            continue  # ML-Agents' own trainers, installed beside us
        try:
            trainers, hyperparameters = entry.load()()
        except Exception as error:
            logger.warning(f"Trainer plugin {entry.name!r} ({entry.value}) could not be loaded: {error}")
            continue
        for name, factory in trainers.items():
            if name in _BUILT_IN:
                logger.warning(f"Trainer plugin {entry.name!r}: trainer_type {name!r} is built in; the plugin's "
                               "is not used.")  # fmt: skip
                continue
            register_trainer(name, factory)
            if name in hyperparameters:
                register_hyperparameters(name, hyperparameters[name])


def trainer_types() -> list[str]:
    return sorted({*_BUILT_IN, *_registered})


def trainer_factory(trainer_type: str) -> TrainerFactory:
    """The trainer for `trainer_type`; one nothing provides is a clear error."""
    if trainer_type in _BUILT_IN:
        module, _, name = _BUILT_IN[trainer_type].partition(":")
        factory: TrainerFactory = getattr(importlib.import_module(module), name)
        return factory
    if trainer_type in _registered:
        return _registered[trainer_type]
    raise UnityTrainerException(
        f"trainer_type {trainer_type!r} is not available yet: mlagents-fast trains {', '.join(trainer_types())}. "
        f"Change `trainer_type`, or install a trainer plugin (entry point group {ENTRY_POINT_GROUP!r})."
    )
