"""Hallway to its benchmark: steps and wall time until the mean reward reaches 0.7.

    python benchmarks/hallway.py [--seed 1] [--target 0.7] [--max-seconds 3600] [--json out.json]

The run is `mlagents-learn config/ppo/Hallway.yaml --env=Hallway` as a user starts it (ML-Agents'
settings: an LSTM of memory 128 over sequences of 64, one copy of the 16-area scene), in a
temporary folder, its console read line by line; it is stopped (SIGTERM: it saves) at the first
summary whose mean reward reaches --target, or after --max-seconds. Reported: every summary's
step, wall time and mean reward.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_run import LearnRun
from training_common import machine, machine_line
from walljump_curriculum import SUMMARY

CONFIG = Path(__file__).resolve().parents[1] / "config" / "ppo" / "Hallway.yaml"


def run(seed: int, target: float, max_seconds: float) -> dict[str, object]:
    summaries: list[dict[str, float]] = []
    reached: dict[str, float] | None = None
    with tempfile.TemporaryDirectory() as folder:
        run = LearnRun([str(CONFIG), "--env=Hallway", "--run-id=hallway", f"--seed={seed}"], folder)
        for wall, line in run:
            if match := SUMMARY.search(line):
                summary = {"step": int(match.group(2)), "wall_s": wall, "mean": float(match.group(4))}
                summaries.append(summary)
                print(f"{wall:7.0f} s  step {summary['step']:>9,}  mean {summary['mean']:.3f}", flush=True)
                if reached is None and summary["mean"] >= target:
                    reached = summary
            if reached is not None or wall > max_seconds:
                run.stop()
    if reached is not None:
        print(f"mean reward {target} reached at step {reached['step']:,} after {reached['wall_s']:.0f} s", flush=True)
    else:
        print(f"mean reward {target} not reached in {max_seconds:.0f} s", flush=True)
    return {"seed": seed, "target": target, "reached": reached, "summaries": summaries}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", type=float, default=0.7)
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
