"""Sorter with its curriculum: how far the lessons and the mean reward get, in steps and wall time.

    python benchmarks/sorter_curriculum.py [--seed 1] [--max-seconds 1800] [--json out.json]

The run is `mlagents-learn config/ppo/Sorter_curriculum.yaml` as a user starts it (ML-Agents'
settings: num_tiles from 2 to 20 tiles in ten lessons, 8 copies of the 8-area scene), in a
temporary folder, its console read line by line; it is stopped (SIGTERM: it saves) after
--max-seconds. Reported: the step and wall time at which each lesson began, and every summary's
mean reward, so the curve can be read against the lesson it was earned in.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import machine, machine_line
from walljump_curriculum import LESSON, SUMMARY

CONFIG = Path(__file__).resolve().parents[1] / "config" / "ppo" / "Sorter_curriculum.yaml"


def run(seed: int, max_seconds: float) -> dict[str, object]:
    lessons: list[dict[str, float]] = []
    summaries: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "mlagents_fast", str(CONFIG), "--env=Sorter", "--run-id=sorter",
                   f"--seed={seed}", f"--results-dir={folder}"]  # fmt: skip
        started = time.perf_counter()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        assert process.stdout is not None
        last_step = 0
        for line in process.stdout:
            wall = time.perf_counter() - started
            if match := SUMMARY.search(line):
                last_step = int(match.group(2))
                summaries.append({"step": last_step, "wall_s": wall, "mean": float(match.group(4)),
                                  "lesson": len(lessons)})  # fmt: skip
                print(f"{wall:7.0f} s  step {last_step:>9,}  lesson {len(lessons)}  mean {float(match.group(4)):.3f}",
                      flush=True)  # fmt: skip
            elif match := LESSON.search(line):
                lessons.append({"lesson": int(match.group(2)), "step": last_step, "wall_s": wall})
                print(f"{wall:7.0f} s  lesson {match.group(2)} from step {last_step:,}", flush=True)
            if wall > max_seconds and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        process.wait()
        return {"seed": seed, "wall_s": time.perf_counter() - started, "lessons": lessons, "summaries": summaries}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    print(machine_line(), flush=True)
    result = run(args.seed, args.max_seconds)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), **result}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
