"""How long `mlagents-learn` takes before it does anything: `--help`, a configuration error,
and the time from launch to the first environment step of a real run.

Each figure is the median wall time of fresh processes (interpreter start included), launched
one after another, so a run measures the same machine state for all three.

    python benchmarks/startup.py --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs mlagents-learn in this process; at the first step of the run loop, prints the seconds
# since the launch time given as argv[1] and leaves at once (nothing is saved).
FIRST_STEP = """
import os, sys, time
launched = float(sys.argv[1])
from mlagents_fast.trainers import controller
def first_advance(self):
    print(f"FIRST_STEP {time.time() - launched:.3f}", flush=True)
    os._exit(0)
controller.TrainerController._advance = first_advance
from mlagents_fast.learn import main
sys.exit(main(sys.argv[2:]))
"""


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def first_step(results: Path) -> float:
    command = [sys.executable, "-c", FIRST_STEP, repr(time.time()), "config/ppo/3DBall.yaml", "--run-id=startup",
               f"--results-dir={results}", "--force"]  # fmt: skip
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False).stdout
    lines = [line for line in out.splitlines() if line.startswith("FIRST_STEP ")]
    if not lines:
        raise RuntimeError(f"the run never reached its first step; its output:\n{out}")
    return float(lines[0].split()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bad = Path(folder) / "bad.yaml"
        bad.write_text("behaviors:\n  3DBall:\n    max_stepz: 10\n")
        times: dict[str, list[float]] = {"--help": [], "configuration error": [], "launch to first step": []}
        for _ in range(args.repeats):
            times["--help"].append(wall([sys.executable, "-m", "mlagents_fast", "--help"]))
            times["configuration error"].append(wall([sys.executable, "-m", "mlagents_fast", str(bad)]))
            times["launch to first step"].append(first_step(Path(folder) / "results"))
    for name, values in times.items():
        print(f"{name:>22}: median {statistics.median(values):.2f} s  (runs: {', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
