"""The results folder of a run and the rules of ``--resume``, ``--force`` and ``--initialize-from``.

Layout (ML-Agents')::

    <results_dir>/<run_id>/                 run folder ("write path")
        configuration.yaml                  the full run options
        run_logs/timers.json, run_logs/training_status.json
        <Behavior>/ ...                     TensorBoard events and checkpoints
        <Behavior>.onnx                     final model

Rules, with ML-Agents' messages: an existing run folder needs ``--resume`` (continue it) or
``--force`` (write over it); ``--resume`` needs an existing folder with a checkpoint in it;
``--initialize-from`` needs ``<results_dir>/<id>/<Behavior>/checkpoint.pt`` for each behavior.
As in ML-Agents, ``--force`` deletes nothing up front: the new run's files replace the old
ones as they are written, and TensorBoard events of the old run are removed when the new run
first writes to a behavior folder.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mlagents_fast.run._atomic import atomic_write_text
from mlagents_fast.run.checkpoints import DEFAULT_CHECKPOINT_NAME
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.run.status import STATUS_FILE_NAME

__all__ = [
    "CONFIGURATION_FILE_NAME",
    "RUN_LOGS_DIR_NAME",
    "RunPaths",
    "check_folder_path",
    "prepare_run_directory",
    "setup_init_paths",
    "validate_existing_directories",
    "write_run_options",
]

RUN_LOGS_DIR_NAME = "run_logs"
CONFIGURATION_FILE_NAME = "configuration.yaml"


@dataclasses.dataclass(frozen=True)
class RunPaths:
    """Every path of one run, derived from ``--results-dir`` and ``--run-id``."""

    results_dir: Path
    run_id: str

    @staticmethod
    def of(results_dir: str | os.PathLike[str], run_id: str) -> RunPaths:
        return RunPaths(Path(results_dir), run_id)

    @property
    def run_dir(self) -> Path:
        return self.results_dir / self.run_id

    @property
    def run_logs_dir(self) -> Path:
        return self.run_dir / RUN_LOGS_DIR_NAME

    @property
    def training_status_path(self) -> Path:
        return self.run_logs_dir / STATUS_FILE_NAME

    @property
    def timers_path(self) -> Path:
        from mlagents_fast.run.timers import TIMERS_FILE_NAME  # imports importlib.metadata: not for --help

        return self.run_logs_dir / TIMERS_FILE_NAME

    @property
    def configuration_path(self) -> Path:
        return self.run_dir / CONFIGURATION_FILE_NAME

    def behavior_dir(self, behavior_name: str) -> Path:
        return self.run_dir / behavior_name

    def final_model_path(self, behavior_name: str) -> Path:
        return self.run_dir / f"{behavior_name}.onnx"


def _has_checkpoint(run_dir: Path) -> bool:
    return any(run_dir.glob(f"*/{DEFAULT_CHECKPOINT_NAME}"))


def check_folder_path(run_dir: str | os.PathLike[str], results_dir: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`UnityTrainerException` when the run folder cannot be a folder: it, the results
    folder, or a folder above them is an existing file (or anything else that is not a folder).

    The message names ``--results-dir`` when the results folder or a path above it is at fault, and
    ``--run-id`` when it is the run folder (or a folder between the two: a run id with a slash)."""
    run_dir = Path(run_dir)
    results_dir = Path(results_dir) if results_dir is not None else run_dir.parent
    for path in (run_dir, *run_dir.parents):
        if path.is_dir():
            return
        if not os.path.lexists(path):
            continue  # created when the run starts
        what = "a file" if path.is_file() else "not a folder"
        if path == results_dir or path in results_dir.parents:
            where = f"--results-dir (checkpoint_settings.results_dir) {str(results_dir)!r}"
            expected = "a folder, or a path where one can be made, for the results of all runs"
            fix = "Give another --results-dir, or move the file away"
        else:
            where = f"--run-id (checkpoint_settings.run_id) {run_dir.name!r}"
            expected = f"its run folder {str(run_dir)!r} to be a folder, or a path where one can be made"
            fix = "Give another --run-id, or move the file away"
        raise UnityTrainerException(
            f"{where}: {str(path)!r} is {what}, so the run folder {str(run_dir)!r} cannot be made; expected "
            f"{expected}. {fix}."
        )


def validate_existing_directories(
    output_path: str | os.PathLike[str],
    resume: bool,
    force: bool,
    init_path: str | os.PathLike[str] | None = None,
    results_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Raise :class:`UnityTrainerException` when the flags do not fit what is on disk.

    ``results_dir`` (default: the folder above ``output_path``) only words the message when a
    file stands where a folder of the run must be."""
    output_path = Path(output_path)
    check_folder_path(output_path, results_dir)
    if output_path.is_dir():
        if not resume and not force:
            raise UnityTrainerException(
                "Previous data from this run ID was found. "
                "Either specify a new run ID, use --resume to resume this run, "
                "or use the --force parameter to overwrite existing data."
            )
        if resume and not _has_checkpoint(output_path):
            raise UnityTrainerException(
                f"Previous data from this run ID was found in {output_path}, but no checkpoint to resume from "
                f"(no <behavior>/{DEFAULT_CHECKPOINT_NAME}). "
                "Train a new run by removing the --resume flag, or use --force to overwrite it."
            )
    elif resume:
        raise UnityTrainerException(
            "Previous data from this run ID was not found. Train a new run by removing the --resume flag."
        )
    if init_path is not None and not Path(init_path).is_dir():
        raise UnityTrainerException(
            f"Could not initialize from {init_path}. Make sure models have already been saved with that run ID."
        )


def prepare_run_directory(
    paths: RunPaths, resume: bool = False, force: bool = False, initialize_from: str | None = None
) -> Path | None:
    """Validate the flags, create ``run_logs/`` and return the folder to initialize from, if any."""
    init_dir = paths.results_dir / initialize_from if initialize_from is not None else None
    validate_existing_directories(paths.run_dir, resume, force, init_dir, paths.results_dir)
    try:
        paths.run_logs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # no permission, a read-only disk, a file put there meanwhile...
        raise UnityTrainerException(
            f"Could not make the run folder {str(paths.run_logs_dir)!r} (--results-dir {str(paths.results_dir)!r}, "
            f"--run-id {paths.run_id!r}): {error.strerror or error}. Give a --results-dir where folders can be made."
        ) from None
    return init_dir


def setup_init_paths(behaviors: Mapping[str, str | None], init_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Resolve each behavior's ``init_path`` setting to a ``.pt`` file and check that it exists.

    ``None`` means ``<init_dir>/<Behavior>/checkpoint.pt``; a bare file name is looked up in
    ``<init_dir>/<Behavior>/``; any other path is used as given.
    """
    resolved: dict[str, Path] = {}
    for behavior, init_path in behaviors.items():
        if init_path is None:
            path = Path(init_dir) / behavior / DEFAULT_CHECKPOINT_NAME
        elif not os.path.dirname(init_path):
            path = Path(init_dir) / behavior / init_path
        else:
            path = Path(init_path)
        if not (path.is_file() and path.suffix == ".pt"):
            raise UnityTrainerException(
                f"Could not initialize from {path}: the file does not exist or is not a `.pt` file."
            )
        resolved[behavior] = path
    return resolved


def write_run_options(run_dir: str | os.PathLike[str], options: Mapping[str, Any]) -> Path:
    """Write ``<run_dir>/configuration.yaml`` atomically, keys in the given order.

    ``options`` must hold plain values only (dicts, lists, strings, numbers, booleans, None);
    anything else is a ``yaml.representer.RepresenterError`` rather than an unreadable file.
    """
    path = Path(run_dir) / CONFIGURATION_FILE_NAME
    atomic_write_text(path, yaml.safe_dump(dict(options), sort_keys=False, default_flow_style=False))
    return path
