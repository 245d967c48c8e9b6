"""The README's test command is the one CI runs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command() -> None:
    ci_command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    readme_commands = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()]
    assert ci_command.startswith("pip install")
    assert ci_command in readme_commands
