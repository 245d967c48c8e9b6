"""Cooperative PushBlock to its benchmark: steps and wall time until the mean group reward reaches 11.

    python benchmarks/pushblock_collab.py [--seed 1] [--target 11] [--max-seconds 3600] [--json out.json]

The run is `mlagents-learn config/poca/PushBlockCollab.yaml --env=PushBlockCollab` as a user starts
it (ML-Agents' settings: POCA, batch 1024, buffer 10240, 256 x 2, the 20 x 20 grid sensor through
the simple encoder), in a temporary folder, its console read line by line; it is stopped (SIGTERM:
it saves) at the first summary whose mean group reward reaches --target, or after --max-seconds.
Reported: every summary's step, wall time and mean group reward (all six blocks scored pay 12,
less the time penalty).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_run import LearnRun
from training_common import machine, machine_line

CONFIG = Path(__file__).resolve().parents[1] / "config" / "poca" / "PushBlockCollab.yaml"
SUMMARY = re.compile(r"\] (\w+)\. Step: (\d+)\. Time Elapsed: ([\d.]+) s\. Mean Reward: (-?\d+\.\d+)\. "
                     r"Mean Group Reward: (-?\d+\.\d+)")  # fmt: skip


def run(seed: int, target: float, max_seconds: float) -> dict[str, object]:
    summaries: list[dict[str, float]] = []
    reached: dict[str, float] | None = None
    with tempfile.TemporaryDirectory() as folder:
        run = LearnRun([str(CONFIG), "--env=PushBlockCollab", "--run-id=collab", f"--seed={seed}"], folder)
        for wall, line in run:
            if match := SUMMARY.search(line):
                summary = {"step": int(match.group(2)), "wall_s": wall, "group_mean": float(match.group(5))}
                summaries.append(summary)
                print(f"{wall:7.0f} s  step {summary['step']:>10,}  group {summary['group_mean']:.3f}", flush=True)
                if reached is None and summary["group_mean"] >= target:
                    reached = summary
            if reached is not None or wall > max_seconds:
                run.stop()
    if reached is not None:
        print(f"mean group reward {target} reached at step {reached['step']:,} after {reached['wall_s']:.0f} s")
    else:
        print(f"mean group reward {target} not reached in {max_seconds:.0f} s")
    return {"seed": seed, "target": target, "reached": reached, "summaries": summaries}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", type=float, default=11.0)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    print(machine_line(), flush=True)
    result = run(args.seed, args.target, args.max_seconds)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), **result}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
