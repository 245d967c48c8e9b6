"""`mlagents-learn` as a user starts it, for the end-to-end benchmark scripts: a subprocess whose
console is read line by line with the wall time since launch, stopped with SIGTERM (it saves)."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path


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


def train_to_target(args: list[str], summary: re.Pattern[str], column: int, key: str, target: float,
                    max_seconds: float) -> dict[str, object]:  # fmt: skip
    """`mlagents-learn <args>` in a temporary folder until the value in group `column` of a summary
    line (a mean reward, reported as `key`) reaches `target`, or after `max_seconds`: every
    summary's step, wall time and value, and the first that reached the target."""
    summaries: list[dict[str, float]] = []
    reached: dict[str, float] | None = None
    with tempfile.TemporaryDirectory() as folder:
        run = LearnRun(args, folder)
        for wall, line in run:
            if match := summary.search(line):
                row = {"step": int(match.group(2)), "wall_s": wall, key: float(match.group(column))}
                summaries.append(row)
                print(f"{wall:7.0f} s  step {row['step']:>10,}  {key} {row[key]:.3f}", flush=True)
                if reached is None and row[key] >= target:
                    reached = row
            if reached is not None or wall > max_seconds:
                run.stop()
    if reached is not None:
        print(f"{key} {target} reached at step {reached['step']:,} after {reached['wall_s']:.0f} s", flush=True)
    else:
        print(f"{key} {target} not reached in {max_seconds:.0f} s", flush=True)
    return {"target": target, "reached": reached, "summaries": summaries}


def target_main(description: str, args: Callable[[int], list[str]], summary: re.Pattern[str], column: int,
                key: str, target: float, argv: list[str] | None = None) -> int:  # fmt: skip
    """The command line of the to-a-target scripts (--seed, --target, --max-seconds, --json) around
    `train_to_target`; `args(seed)` is what follows `mlagents-learn`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", type=float, default=target)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args(argv)
    from training_common import machine, machine_line

    print(machine_line(), flush=True)
    result = train_to_target(args(options.seed), summary, column, key, options.target, options.max_seconds)
    if options.json:
        options.json.write_text(json.dumps({"machine": machine(), "seed": options.seed, **result}, indent=1))
    return 0
