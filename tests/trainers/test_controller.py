"""The run loop's signal handling where Python's signal rules bite: runs started from a thread,
and handlers not set from Python."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from mlagents_fast.learn import main
from mlagents_fast.trainers import controller

CONFIG = """
behaviors:
  Basic:
    trainer_type: ppo
    hyperparameters: {batch_size: 16, buffer_size: 32}
    network_settings: {hidden_units: 8, num_layers: 1}
    max_steps: 100
    summary_freq: 50
"""


def test_a_run_started_from_a_thread_trains_and_saves(tmp_path: Path) -> None:
    """Python takes signals only on the main thread; a run started elsewhere (a notebook's
    worker, a sweep) must not fail installing its Ctrl+C handler."""
    path = tmp_path / "basic.yaml"
    path.write_text(CONFIG)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main([str(path), "--run-id=threaded",
                                                                f"--results-dir={tmp_path}", "--seed=1"])))  # fmt: skip
    before = signal.getsignal(signal.SIGINT)
    thread.start()
    thread.join(timeout=600)
    assert codes == [0]
    assert (tmp_path / "threaded" / "Basic.onnx").exists()
    assert signal.getsignal(signal.SIGINT) is before


def test_a_handler_not_set_from_python_comes_back_as_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        replaced = controller._install({signal.SIGUSR1: signal.SIG_IGN})
        assert replaced == {signal.SIGUSR1: previous}
        controller._install({signal.SIGUSR1: None})  # what signal.signal() reports for a handler set in C
        assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGUSR1, previous)
