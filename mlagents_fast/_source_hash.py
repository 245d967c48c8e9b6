"""Digest of the native sources, shared by setup.py and the stale-build check.

setup.py bakes the digest into the compiled module; `_native.py` recomputes it
from a source checkout and refuses to run a module built from other sources.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

NATIVE_DIRS = ("native", "bindings")
NATIVE_SUFFIXES = (".h", ".hpp", ".cpp", ".cc", ".pyx", ".pxd")


def native_sources(root: Path) -> list[Path]:
    """Every file the compiled modules are built from, in a stable order."""
    files = [
        path
        for folder in NATIVE_DIRS
        for path in (root / folder).rglob("*")
        if path.is_file() and path.suffix in NATIVE_SUFFIXES
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def source_hash(root: Path) -> str:
    """SHA-256 over the relative paths and contents of `native_sources(root)`."""
    digest = hashlib.sha256()
    for path in native_sources(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
