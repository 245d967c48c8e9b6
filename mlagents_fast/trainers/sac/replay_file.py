"""SAC's replay buffer kept beside the checkpoints (`save_replay_buffer`): ML-Agents writes
last_replay_buffer.hdf5; this is the same content as numpy arrays, written atomically."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mlagents_fast.buffer.replay import ReplayBuffer
from mlagents_fast.run._atomic import atomic_path

REPLAY_FILE = "last_replay_buffer.npz"
logger = logging.getLogger(__name__)


def save_replay(replay: ReplayBuffer, folder: Path) -> None:
    with atomic_path(folder / REPLAY_FILE) as temporary, open(temporary, "wb") as stream:
        save_arrays: Any = np.savez  # (its stubs take a keyword named allow_pickle for an array)
        save_arrays(stream, **replay.state())


def load_replay(replay: ReplayBuffer, folder: Path, behavior: str) -> None:
    """Refill `replay` from `folder`. A file that is missing or unreadable is a warning: training
    resumes with an empty buffer, and no file is changed."""
    path = folder / REPLAY_FILE
    try:
        with np.load(path, allow_pickle=False) as saved:
            replay.load_state({name: saved[name] for name in saved.files})
    except FileNotFoundError:
        logger.warning(f"Behavior {behavior}: no saved replay buffer at {path}; resuming with an empty one.")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        logger.warning(f"Behavior {behavior}: the saved replay buffer {path} cannot be read ({error}); "
                       "resuming with an empty one. The file is left as it is.")  # fmt: skip
    else:
        logger.info(f"Behavior {behavior}: resumed with {replay.size} transitions from {path}.")
