"""WallJump with the curriculum against WallJump without it: steps and wall time to 0.8 on both behaviors.

    python benchmarks/walljump_curriculum.py [--modes curriculum plain] [--seed 1] [--max-seconds 1800]
                                             [--json out.json]

Each run is `mlagents-learn config/ppo/WallJump_curriculum.yaml` (or `WallJump.yaml`) as a user
starts it, in a temporary folder, its console read line by line. A behavior has reached ML-Agents'
benchmark when a summary's mean reward (the "Mean Reward" of the console, TensorBoard's
Environment/Cumulative Reward) is at least 0.8 while its wall is the real one: with the
curriculum, once its parameter (big_wall_height, small_wall_height) is in its last lesson. The run
is stopped (SIGTERM: it saves) when both behaviors have, or after --max-seconds; the best mean at
the real wall is reported either way. Target: with the curriculum, both in under 30 minutes on
the 2-core CPU machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import machine, machine_line

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config" / "ppo"
CONFIGS = {"curriculum": CONFIG_DIR / "WallJump_curriculum.yaml", "plain": CONFIG_DIR / "WallJump.yaml"}
PARAMETER_OF = {"BigWallJump": "big_wall_height", "SmallWallJump": "small_wall_height"}
LAST_LESSON = 3  # both curricula have four lessons
THRESHOLD = 0.8
SUMMARY = re.compile(r"\] (\w+)\. Step: (\d+)\. Time Elapsed: ([\d.]+) s\. Mean Reward: (-?\d+\.\d+)")
LESSON = re.compile(r"Parameter '(\w+)' has been updated to .*Now in lesson (\d+)")


@dataclass
class BehaviorResult:
    reached_step: int | None = None
    reached_elapsed_s: float | None = None  # the console's "Time Elapsed"
    reached_wall_s: float | None = None  # from launch
    best_at_real_wall: float | None = None
    real_wall_from_step: int | None = None
    last_step: int = 0
    last_mean: float | None = None


@dataclass
class Run:
    mode: str
    seed: int
    wall_s: float = 0.0
    behaviors: dict[str, BehaviorResult] = field(default_factory=dict)


def run_once(mode: str, seed: int, max_seconds: float) -> Run:
    result = Run(mode, seed, behaviors={name: BehaviorResult() for name in PARAMETER_OF})
    lesson = {parameter: (LAST_LESSON if mode == "plain" else 0) for parameter in PARAMETER_OF.values()}
    with tempfile.TemporaryDirectory() as folder:
        command = ["mlagents-learn", str(CONFIGS[mode]), f"--run-id=walljump-{mode}", f"--seed={seed}",
                   f"--results-dir={folder}/results"]  # fmt: skip
        start = time.monotonic()
        unbuffered = {**os.environ, "PYTHONUNBUFFERED": "1"}  # each line as it is written
        process = subprocess.Popen(
            command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=unbuffered
        )
        timer = threading.Timer(max_seconds, process.send_signal, (signal.SIGTERM,))
        timer.start()
        assert process.stdout is not None
        for line in process.stdout:
            now = time.monotonic() - start
            if match := LESSON.search(line):
                lesson[match[1]] = int(match[2])
                print(f"  {now:7.1f} s  {match[1]} -> lesson {match[2]}", flush=True)
                continue
            match = SUMMARY.search(line)
            if match is None or match[1] not in result.behaviors:
                continue
            behavior, step, elapsed, mean = match[1], int(match[2]), float(match[3]), float(match[4])
            b = result.behaviors[behavior]
            b.last_step, b.last_mean = step, mean
            if lesson[PARAMETER_OF[behavior]] < LAST_LESSON:
                continue
            if b.real_wall_from_step is None:
                b.real_wall_from_step = step
            b.best_at_real_wall = mean if b.best_at_real_wall is None else max(b.best_at_real_wall, mean)
            if b.reached_step is None and mean >= THRESHOLD:
                b.reached_step, b.reached_elapsed_s, b.reached_wall_s = step, elapsed, now
                print(f"  {now:7.1f} s  {behavior} reached {mean:.3f} at step {step}", flush=True)
                if all(r.reached_step is not None for r in result.behaviors.values()):
                    process.send_signal(signal.SIGTERM)
        process.wait()
        timer.cancel()
        result.wall_s = time.monotonic() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="wall-time cap per run")
    parser.add_argument("--json", type=Path, help="write the runs and the machine here")
    args = parser.parse_args(argv)
    print(machine_line(), flush=True)
    runs = []
    for mode in args.modes:
        print(f"{mode}: {CONFIGS[mode].name}, seed {args.seed}", flush=True)
        run = run_once(mode, args.seed, args.max_seconds)
        runs.append(run)
        print(json.dumps(asdict(run)), flush=True)
        for name, b in run.behaviors.items():
            if b.reached_step is not None:
                print(f"  {name}: {THRESHOLD} at step {b.reached_step:,}, {b.reached_elapsed_s:.0f} s of training, "
                      f"{b.reached_wall_s:.0f} s from launch")  # fmt: skip
            else:
                best = "never at the real wall" if b.best_at_real_wall is None else f"best {b.best_at_real_wall:.3f}"
                print(f"  {name}: not reached in {run.wall_s:.0f} s ({best}; last step {b.last_step:,}, "
                      f"mean {b.last_mean})")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "runs": [asdict(r) for r in runs]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
