"""``run_logs/training_status.json``: what a resumed run needs that is not in a model checkpoint.

Format (ML-Agents ``STATUS_FORMAT_VERSION`` 0.3.0)::

    {
        "<Behavior>": {
            "checkpoints": [{"steps", "file_path", "reward", "creation_time", "auxillary_file_paths"}, ...],
            "final_checkpoint": {...same keys...},
            "elo": 1200.0                        # self-play only
        },
        "<environment parameter>": {"lesson_num": 2},
        "metadata": {"stats_format_version": "0.3.0", "mlagents_version": ..., "torch_version": ...,
                     "implementation": "mlagents-fast"}
    }

``mlagents_version`` holds this package's version: the file was written by mlagents-fast, not
by ML-Agents, and the extra ``implementation`` key says so (ML-Agents ignores unknown metadata
keys). Loading a file from another version or implementation only warns, as ML-Agents does.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import os
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from mlagents_fast import __version__
from mlagents_fast.run._atomic import atomic_write_text
from mlagents_fast.run.errors import TrainerError

__all__ = [
    "IMPLEMENTATION",
    "STATUS_FILE_NAME",
    "STATUS_FORMAT_VERSION",
    "ModelCheckpoint",
    "StatusMetaData",
    "StatusType",
    "TrainingStatus",
]

logger = logging.getLogger(__name__)

STATUS_FORMAT_VERSION = "0.3.0"
STATUS_FILE_NAME = "training_status.json"
IMPLEMENTATION = "mlagents-fast"


class StatusType(str, enum.Enum):
    LESSON_NUM = "lesson_num"
    STATS_METADATA = "metadata"
    CHECKPOINTS = "checkpoints"
    FINAL_CHECKPOINT = "final_checkpoint"
    ELO = "elo"


def _torch_version() -> str:
    try:
        import torch
    except ImportError:  # status files can be read without torch installed
        return "not installed"
    return str(torch.__version__)


@dataclasses.dataclass
class StatusMetaData:
    stats_format_version: str = STATUS_FORMAT_VERSION
    mlagents_version: str = __version__
    torch_version: str = dataclasses.field(default_factory=_torch_version)
    implementation: str = IMPLEMENTATION

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> StatusMetaData:
        # Files written by ML-Agents have no "implementation" key.
        return StatusMetaData(
            stats_format_version=str(data.get("stats_format_version", "")),
            mlagents_version=str(data.get("mlagents_version", "")),
            torch_version=str(data.get("torch_version", "")),
            implementation=str(data.get("implementation", "ml-agents")),
        )

    def check_compatibility(self, current: StatusMetaData) -> None:
        """Warn (never fail) when the file was written by another trainer, version or PyTorch."""
        if (self.implementation, self.mlagents_version) != (current.implementation, current.mlagents_version):
            logger.warning(
                f"Checkpoint was saved by {self.implementation} {self.mlagents_version}, this is "
                f"{current.implementation} {current.mlagents_version}. Some things may not resume properly."
            )
        if self.torch_version != current.torch_version:
            logger.warning(
                f"PyTorch checkpoint was saved with PyTorch {self.torch_version}, this is {current.torch_version}. "
                "Model may not resume properly."
            )


@dataclasses.dataclass
class ModelCheckpoint:
    """One saved model; the field names (and the "auxillary" spelling) are ML-Agents'."""

    steps: int
    file_path: str
    reward: float | None
    creation_time: float
    auxillary_file_paths: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ModelCheckpoint:
        return ModelCheckpoint(
            steps=int(data["steps"]),
            file_path=str(data["file_path"]),
            reward=None if data.get("reward") is None else float(data["reward"]),
            creation_time=float(data.get("creation_time", 0.0)),
            auxillary_file_paths=[str(p) for p in data.get("auxillary_file_paths", [])],
        )


def _json_default(obj: object) -> Any:
    # Rewards often arrive as numpy scalars, which json cannot encode on its own.
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


class TrainingStatus:
    """The contents of ``training_status.json``, keyed by category (behavior or parameter name)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        """``path`` is where :meth:`save` writes when called without one."""
        self.path = Path(path) if path is not None else None
        self.state: defaultdict[str, dict[str, Any]] = defaultdict(dict)
        # Trainer threads checkpoint concurrently; saving must not see a dict mid-update.
        self.lock = threading.RLock()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainingStatus:
        """Read a status file. A missing file only warns; one without metadata is a TrainerError."""
        status = cls(path)
        path = Path(path)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            logger.warning(f"Training status file {path} not found. Not all functions will resume properly.")
            return status
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TrainerError(f"Training status file {path} is not valid JSON ({exc}); it may be truncated.") from None
        if not isinstance(loaded, dict) or not isinstance(loaded.get(StatusType.STATS_METADATA.value), dict):
            raise TrainerError(
                f"Metadata not found in {path}, resuming from an incompatible version of ML-Agents "
                "(or a file that is not a training status)."
            )
        StatusMetaData.from_dict(loaded[StatusType.STATS_METADATA.value]).check_compatibility(StatusMetaData())
        for category, values in loaded.items():
            if isinstance(values, dict):
                status.state[category] = values
                # A malformed entry is refused now, before a resumed run overwrites anything.
                status.checkpoints(category)
                status.final_checkpoint(category)
        return status

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the status atomically (indent 4, as ML-Agents) with fresh metadata; return the path."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("TrainingStatus.save needs a path: none was given here or at construction")
        with self.lock:
            self.state[StatusType.STATS_METADATA.value] = StatusMetaData().to_dict()
            text = json.dumps(self.state, indent=4, default=_json_default)
            atomic_write_text(target, text)
        return target

    def get_parameter_state(self, category: str, key: StatusType) -> Any:
        """The stored value, or None when the category or key was never set."""
        return self.state.get(category, {}).get(key.value)

    def set_parameter_state(self, category: str, key: StatusType, value: Any) -> None:
        with self.lock:
            self.state[category][key.value] = value

    # Typed accessors for the keys the trainers use.

    def checkpoints(self, behavior: str) -> list[ModelCheckpoint]:
        records = self.get_parameter_state(behavior, StatusType.CHECKPOINTS) or []
        try:
            return [ModelCheckpoint.from_dict(d) for d in records]
        except (KeyError, TypeError, ValueError) as exc:
            where = f" in {self.path}" if self.path is not None else ""
            raise TrainerError(f"Malformed checkpoint list for behavior {behavior}{where}: {exc!r}") from None

    def set_checkpoints(self, behavior: str, checkpoints: list[ModelCheckpoint]) -> None:
        self.set_parameter_state(behavior, StatusType.CHECKPOINTS, [c.to_dict() for c in checkpoints])

    def final_checkpoint(self, behavior: str) -> ModelCheckpoint | None:
        data = self.get_parameter_state(behavior, StatusType.FINAL_CHECKPOINT)
        if not data:
            return None
        try:
            return ModelCheckpoint.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            where = f" in {self.path}" if self.path is not None else ""
            raise TrainerError(f"Malformed final checkpoint for behavior {behavior}{where}: {exc!r}") from None

    def set_final_checkpoint(self, behavior: str, checkpoint: ModelCheckpoint) -> None:
        self.set_parameter_state(behavior, StatusType.FINAL_CHECKPOINT, checkpoint.to_dict())

    def lesson_num(self, parameter: str) -> int | None:
        value = self.get_parameter_state(parameter, StatusType.LESSON_NUM)
        return None if value is None else int(value)

    def set_lesson_num(self, parameter: str, lesson: int) -> None:
        self.set_parameter_state(parameter, StatusType.LESSON_NUM, int(lesson))

    def elo(self, behavior: str) -> float | None:
        value = self.get_parameter_state(behavior, StatusType.ELO)
        return None if value is None else float(value)

    def set_elo(self, behavior: str, elo: float) -> None:
        self.set_parameter_state(behavior, StatusType.ELO, float(elo))
