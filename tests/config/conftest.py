from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

WriteFile = Callable[[str, str], Path]

# The usual `default:` section of a 0.x trainer_config.yaml (ML-Agents 0.10-0.16 shipped this PPO default).
PPO_DEFAULT_0X = """
default:
    trainer: ppo
    batch_size: 1024
    beta: 5.0e-3
    buffer_size: 10240
    epsilon: 0.2
    hidden_units: 128
    lambd: 0.95
    learning_rate: 3.0e-4
    learning_rate_schedule: linear
    max_steps: 5.0e5
    memory_size: 128
    normalize: false
    num_epoch: 3
    num_layers: 2
    time_horizon: 64
    sequence_length: 64
    summary_freq: 10000
    use_recurrent: false
    vis_encode_type: simple
    reward_signals:
        extrinsic:
            strength: 1.0
            gamma: 0.99
"""


@pytest.fixture
def write(tmp_path: Path) -> WriteFile:
    """Writes dedented text to tmp_path/name and returns the path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return _write


HEAVY_MODULES = ("torch", "numba", "onnx", "tensorboard")
MAIN = f"""
import sys
from mlagents_fast.learn import main
code = main(sys.argv[1:])
print("EXIT", code, "HEAVY", sorted(set({HEAVY_MODULES!r}) & set(sys.modules)))
"""


def learn_error(tmp_path: Path, text: str) -> str:
    """mlagents-learn on a configuration it refuses: its error output, checked to be one paragraph
    given before torch (or any heavy module) was imported."""
    path = tmp_path / "trainer.yaml"
    path.write_text(text)
    result = subprocess.run(
        [sys.executable, "-c", MAIN, str(path)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert result.stdout.splitlines()[-1] == "EXIT 1 HEAVY []", (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert f"Error: Invalid configuration in {path} at " in result.stderr
    return result.stderr
