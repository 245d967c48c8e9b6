"""The tree keeps the shape ARCHITECTURE.md describes: small modules, one-way imports, typed settings."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mlagents_fast"
MAX_MODULE_LINES = 400
# Lower layers never reach up into the trainers.
BELOW_TRAINERS = ("envs", "buffer", "ops", "config")


def modules(under: Path = PACKAGE) -> list[Path]:
    return sorted(under.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


@pytest.mark.parametrize("layer", BELOW_TRAINERS)
def test_lower_layers_never_import_the_trainers(layer: str) -> None:
    offenders = {}
    for path in modules(PACKAGE / layer):
        upward = sorted(m for m in imported_modules(path) if m.startswith("mlagents_fast.trainers"))
        if upward:
            offenders[str(path.relative_to(PACKAGE))] = upward
    assert not offenders


def test_run_imports_nothing_below_it() -> None:
    """run/ (stats, timers, checkpoints, status, the results folder) stands on its own: the
    trainers, the run loop and the command line use it, never the reverse."""
    offenders = {}
    for path in modules(PACKAGE / "run"):
        others = sorted(m for m in imported_modules(path)
                        if m.startswith("mlagents_fast.") and not m.startswith("mlagents_fast.run"))  # fmt: skip
        if others:
            offenders[str(path.relative_to(PACKAGE))] = others
    assert not offenders


def test_trainers_take_typed_settings() -> None:
    """No parameter or attribute named *settings in trainers/ is typed Any."""
    untyped = []
    for path in modules(PACKAGE / "trainers"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.arg) and node.arg.endswith("settings") and node.annotation is not None:
                annotation = node.annotation
            elif (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and node.target.id.endswith("settings")
            ):
                annotation = node.annotation
            else:
                continue
            if "Any" in ast.unparse(annotation):
                untyped.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not untyped
