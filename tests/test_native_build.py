"""A missing or stale native build is one clear error with the fix, never a silent fall-back."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from mlagents_fast import _native
from mlagents_fast._source_hash import source_hash

ROOT = Path(__file__).resolve().parent.parent


def test_installed_build_matches_the_sources() -> None:
    assert _native.kernels.SOURCE_HASH == source_hash(ROOT)


def test_stale_build_names_the_rebuild_command() -> None:
    stale = types.ModuleType("mlagents_fast._ext._kernels")
    stale.SOURCE_HASH = "0" * 64  # type: ignore[attr-defined]
    with pytest.raises(_native.NativeBuildError, match=r"is stale.*pip install -e \."):
        _native.check_build(stale, ROOT)


def test_digest_follows_native_source_changes(tmp_path: Path) -> None:
    (tmp_path / "native" / "src").mkdir(parents=True)
    kernel = tmp_path / "native" / "src" / "k.cpp"
    kernel.write_text("int f() { return 1; }\n")
    before = source_hash(tmp_path)
    kernel.write_text("int f() { return 2; }\n")
    assert source_hash(tmp_path) != before


def test_missing_build_is_one_clear_error() -> None:
    code = (
        "import sys; sys.modules['mlagents_fast._ext._kernels'] = None\n"
        "try:\n    import mlagents_fast._native\n"
        "except ImportError as e:\n    print(type(e).__name__, e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("NativeBuildError")
    assert "pip install -e ." in result.stdout
