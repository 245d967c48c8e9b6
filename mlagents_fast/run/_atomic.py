"""Crash-safe file writes: write a temporary file next to the target, fsync it, then rename.

``os.replace`` within one folder is atomic on POSIX and Windows, so a reader (or a resumed
run after a crash) sees either the old file or the complete new one, never a torn write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "atomic_copy",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_stream",
    "atomic_write_text",
    "remove_stale_temporaries",
]

# Temporaries are named ".<target name>.<random>.partial<suffix>": hidden, and easy to find
# again after a crash killed the process before it could remove them.
_TEMP_MARKER = ".partial"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once, at import: reading it means setting it, which races with threads creating files.
_UMASK = _current_umask()


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it becomes ``target``.

    For writers that want a path rather than a stream (ONNX export). The temporary keeps the
    target's suffix because some exporters look at it. On any exception the temporary is
    removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f"{_TEMP_MARKER}{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file private (0600); the target gets what a plain open() would give,
        # so a TensorBoard server or the Unity editor run by another user can read it.
        os.chmod(tmp, 0o666 & ~_UMASK)
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def atomic_write_stream(target: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> None:
    """Atomically replace ``target`` with what ``write`` puts into the binary stream it is given."""
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        write(f)
        f.flush()


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def atomic_copy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Copy ``source`` to ``target`` so that ``target`` is never seen half-copied."""
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete temporaries a killed process left in ``folder``; return what was removed.

    Only call it when no other process writes into ``folder`` (one trainer per run folder).
    """
    removed = []
    for path in Path(folder).glob(f".*{_TEMP_MARKER}*"):
        if path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed
