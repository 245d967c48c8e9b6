"""Loading checkpoints into trainers: `--resume`, `--initialize-from` and `init_path`.

Anything with a step and `load_state_dict(state, reset_step=...)` can be restored; a checkpoint
that does not fit it is one clear error, before anything of the run is written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from mlagents_fast.run.checkpoints import DEFAULT_CHECKPOINT_NAME, load_checkpoint
from mlagents_fast.run.directories import setup_init_paths
from mlagents_fast.run.errors import CheckpointLoadError

logger = logging.getLogger(__name__)


class Restorable(Protocol):
    step: int

    def load_state_dict(self, state: dict[str, Any], *, reset_step: bool = False) -> None: ...


class RestoreTarget(Protocol):
    """One behavior of the run: its name, trainer, settings' init_path and latest checkpoint."""

    @property
    def name(self) -> str: ...

    @property
    def trainer(self) -> Restorable: ...

    @property
    def init_path(self) -> str | None: ...

    @property
    def latest_checkpoint(self) -> Path: ...


def restore(behavior: str, trainer: Restorable, path: Path, reset_step: bool) -> None:
    """Load the checkpoint at `path` into `trainer` (`reset_step` for --initialize-from).

    A checkpoint of another network (hidden_units, num_layers, observations or actions changed
    since it was saved) is one clear error: the run does not start, and nothing is written."""
    state = load_checkpoint(path)
    try:
        trainer.load_state_dict(state, reset_step=reset_step)
    except (KeyError, RuntimeError, ValueError, TypeError) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        # torch's message starts "Error(s) in loading state_dict for Actor:"; the next line names the tensor.
        torch_detail = " ".join(lines[:2]).rstrip(".")
        detail = f"it has no {error.args[0]!r} entry" if isinstance(error, KeyError) else torch_detail
        raise CheckpointLoadError(
            f"Checkpoint {path} does not fit behavior {behavior}'s network as configured ({detail}). It was saved "
            "with other network_settings, observations or actions; train with the settings it was made with, "
            "or start without --resume / --initialize-from / init_path."
        ) from None


def restore_all(targets: Sequence[RestoreTarget], resume: bool, init_dir: Path | None) -> None:
    """--resume continues each behavior's checkpoint; --initialize-from / init_path load weights only."""
    for target in targets:
        if resume:
            logger.info(f"Resuming from {target.latest_checkpoint.parent}.")
            restore(target.name, target.trainer, target.latest_checkpoint, reset_step=False)
            load_files = getattr(target.trainer, "load_files", None)
            if callable(load_files):  # files a trainer keeps beside its checkpoints (SAC's replay buffer)
                load_files(target.latest_checkpoint.parent)
            logger.info(f"Resuming training from step {target.trainer.step}.")
            continue
        if init_dir is not None:
            path = setup_init_paths({target.name: target.init_path}, init_dir)[target.name]
        elif target.init_path:  # as given, relative to the working directory (ML-Agents)
            path = Path(target.init_path)
            path = path / DEFAULT_CHECKPOINT_NAME if path.is_dir() else path
        else:
            continue
        logger.info(f"Initializing from {path}.")
        restore(target.name, target.trainer, path, reset_step=True)
