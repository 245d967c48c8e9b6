"""`mlagents-learn` as a user starts it, for the end-to-end benchmark scripts: a subprocess whose
console is read line by line with the wall time since launch, stopped with SIGTERM (it saves)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator


class LearnRun:
    def __init__(self, args: list[str], results_dir: str) -> None:
        """`args`: what follows `mlagents-learn` (the results go to `results_dir`)."""
        command = [sys.executable, "-m", "mlagents_fast", *args, f"--results-dir={results_dir}"]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip

    def __iter__(self) -> Iterator[tuple[float, str]]:
        """(seconds since launch, line) for each console line, until the run exits."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            yield time.perf_counter() - self.started, line
        self.process.wait()

    def stop(self) -> None:
        """Ask the run to save and stop (once it is still running)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
