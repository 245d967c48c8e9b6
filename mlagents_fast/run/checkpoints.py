"""Model checkpoints of one behavior, in ML-Agents' layout::

    <run dir>/<Behavior>/checkpoint.pt            latest state, what --resume reads
    <run dir>/<Behavior>/<Behavior>-<step>.pt     state at that step
    <run dir>/<Behavior>/<Behavior>-<step>.onnx   policy at that step (when an exporter is given)
    <run dir>/<Behavior>.onnx                     final policy, a copy of the last checkpoint's

A ``.pt`` file is ``torch.save`` of ``{module name: state dict | tensor | number}`` (ML-Agents
stores ``"Policy"``, ``"global_step"``, ``"Optimizer:..."``), so the files stay interchangeable
with ML-Agents'.

Every file is written atomically (temporary file in the same folder, fsync, rename) in the
order step ``.pt``, ``.onnx``, ``checkpoint.pt``, status: a crash at any point leaves the
previous ``checkpoint.pt`` whole and loadable. Loading uses ``weights_only=True``, so a
checkpoint can never run code when it is opened.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlagents_fast.run._atomic import atomic_copy, atomic_path, atomic_write_stream, remove_stale_temporaries
from mlagents_fast.run.errors import CheckpointLoadError, UnityTrainerException
from mlagents_fast.run.status import ModelCheckpoint, TrainingStatus

__all__ = ["DEFAULT_CHECKPOINT_NAME", "CheckpointManager", "ExportOnnx", "load_checkpoint"]

logger = logging.getLogger(__name__)

DEFAULT_CHECKPOINT_NAME = "checkpoint.pt"

ExportOnnx = Callable[[Path], None]
"""Writes the policy as ONNX to the path it is given (a temporary name; the manager renames it)."""


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict[str, Any]:
    """Load a ``.pt`` checkpoint without unpickling arbitrary objects.

    Only tensors, numbers, strings and plain containers are accepted. Any failure (missing,
    truncated, corrupt, or holding other objects) raises :class:`CheckpointLoadError` with one
    message that names the file.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointLoadError(f"Checkpoint {path} does not exist.")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        refused = "Weights only load failed" in str(exc)
        if refused and zipfile.is_zipfile(path):
            # An intact torch archive whose pickle names other classes or functions.
            raise CheckpointLoadError(
                f"Checkpoint {path} holds Python objects other than tensors, numbers and plain containers; "
                "it was not loaded, since unpickling such objects can run arbitrary code."
            ) from None
        message = _corrupt_message(path, exc)
        if refused:  # not a torch archive: garbage, or a bare pickle of arbitrary objects
            message += " Files that hold arbitrary Python objects are refused as well."
        raise CheckpointLoadError(message) from None
    except Exception as exc:  # torch reports damage as RuntimeError, EOFError, KeyError, ... depending on where
        raise CheckpointLoadError(_corrupt_message(path, exc)) from None
    if not isinstance(state, dict):
        raise CheckpointLoadError(
            f"Checkpoint {path} holds a {type(state).__name__}, not a dictionary of module states."
        )
    return state


def _corrupt_message(path: Path, exc: BaseException) -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return f"Checkpoint {path} is corrupt or truncated and cannot be loaded ({reason})."


class CheckpointManager:
    """Saves, rotates, finalises and loads the checkpoints of one behavior."""

    def __init__(
        self,
        behavior_name: str,
        behavior_dir: str | os.PathLike[str],
        status: TrainingStatus,
        keep_checkpoints: int = 5,
        final_model_path: str | os.PathLike[str] | None = None,
    ) -> None:
        """``keep_checkpoints`` <= 0 keeps all. The final model defaults to ``<behavior_dir>.onnx``.

        Records go into ``status``; when it has a path, it is saved after every change so a
        crashed run can still be resumed from its last checkpoint.
        """
        self.behavior_name = behavior_name
        self.behavior_dir = Path(behavior_dir)
        self.status = status
        self.keep_checkpoints = keep_checkpoints
        self._swept = False
        self.final_model_path = (
            Path(final_model_path)
            if final_model_path is not None
            else self.behavior_dir.with_name(f"{behavior_name}.onnx")
        )

    @property
    def latest_path(self) -> Path:
        return self.behavior_dir / DEFAULT_CHECKPOINT_NAME

    def checkpoints(self) -> list[ModelCheckpoint]:
        return self.status.checkpoints(self.behavior_name)

    def save(
        self,
        step: int,
        state: Mapping[str, Any],
        reward: float | None = None,
        export_onnx: ExportOnnx | None = None,
    ) -> ModelCheckpoint:
        """Write the step's ``.pt`` (and ``.onnx``), update ``checkpoint.pt``, record and rotate."""
        import torch

        self.behavior_dir.mkdir(parents=True, exist_ok=True)
        if not self._swept:
            # A run killed mid-save leaves hidden partial files; the resumed run removes them.
            for path in remove_stale_temporaries(self.behavior_dir):
                logger.debug(f"Removed partial file {path} left by an interrupted save.")
            self._swept = True
        stem = self.behavior_dir / f"{self.behavior_name}-{step}"
        pt_path = stem.with_name(stem.name + ".pt")
        payload = dict(state)
        atomic_write_stream(pt_path, lambda f: torch.save(payload, f))
        onnx_path: Path | None = None
        if export_onnx is not None:
            onnx_path = stem.with_name(stem.name + ".onnx")
            with atomic_path(onnx_path) as tmp:
                export_onnx(tmp)
            logger.info(f"Exported {onnx_path}")
        # Last, so checkpoint.pt never refers to a step whose files are incomplete. A copy, not a
        # second torch.save: same bytes, half the serialisation time.
        atomic_copy(pt_path, self.latest_path)
        record = ModelCheckpoint(
            steps=int(step),
            file_path=str(onnx_path if onnx_path is not None else pt_path),
            reward=None if reward is None else float(reward),
            creation_time=time.time(),
            auxillary_file_paths=[str(pt_path)] if onnx_path is not None else [],
        )
        self._record(record)
        return record

    def _record(self, record: ModelCheckpoint) -> None:
        with self.status.lock:
            # A second save at the same step (the final save often lands on a periodic one)
            # replaces the record instead of listing the same files twice.
            kept = [c for c in self.checkpoints() if c.steps != record.steps]
            kept.append(record)
            removed: list[ModelCheckpoint] = []
            if self.keep_checkpoints > 0:
                while len(kept) > self.keep_checkpoints:
                    removed.append(kept.pop(0))
            self.status.set_checkpoints(self.behavior_name, kept)
            self._persist_status()
        # Files go only after the status no longer lists them.
        for old in removed:
            _remove_checkpoint_files(old, self.behavior_dir)

    def final(self, step: int) -> ModelCheckpoint:
        """Copy the checkpoint saved at ``step`` (the latest) to the final model and record it."""
        records = self.checkpoints()
        if not records or records[-1].steps != step:
            latest = records[-1].steps if records else "none"
            raise UnityTrainerException(
                f"No checkpoint of behavior {self.behavior_name} at step {step} (latest: {latest}); "
                "save one before finalising."
            )
        last = records[-1]
        if last.file_path.endswith(".onnx") and Path(last.file_path).is_file():
            atomic_copy(last.file_path, self.final_model_path)
            logger.info(f"Copied {last.file_path} to {self.final_model_path}.")
            final = dataclasses.replace(last, file_path=str(self.final_model_path))
        else:
            logger.warning(f"No ONNX model was exported for {self.behavior_name}; {self.final_model_path} not written.")
            final = last
        with self.status.lock:
            self.status.set_final_checkpoint(self.behavior_name, final)
            self._persist_status()
        return final

    def load_latest(self, map_location: Any = "cpu") -> dict[str, Any]:
        """The state in ``checkpoint.pt`` (what --resume continues from)."""
        return load_checkpoint(self.latest_path, map_location)

    @staticmethod
    def load(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict[str, Any]:
        return load_checkpoint(path, map_location)

    def _persist_status(self) -> None:
        if self.status.path is not None:
            self.status.save()


def _remove_checkpoint_files(checkpoint: ModelCheckpoint, behavior_dir: Path) -> None:
    folder = behavior_dir.resolve()
    for name in [checkpoint.file_path, *checkpoint.auxillary_file_paths]:
        path = Path(name)
        # The list comes from a JSON file that may have been edited by hand: never delete
        # anything outside this behavior's folder because of it.
        if not path.resolve().is_relative_to(folder):
            logger.warning(f"Not removing {path}: it is outside {behavior_dir}.")
            continue
        try:
            path.unlink()
            logger.debug(f"Removed checkpoint model {path}.")
        except FileNotFoundError:
            logger.debug(f"Checkpoint at {path} could not be found.")
