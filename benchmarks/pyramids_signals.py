"""Pyramids with curiosity, with RND and with the extrinsic reward alone: steps and wall time to
ML-Agents' benchmark 1.75.

    python benchmarks/pyramids_signals.py [--signals curiosity rnd extrinsic] [--seed 1] [--max-seconds 1800]

Each run is `mlagents-learn` on the shipped config/ppo/Pyramids.yaml (curiosity) or
PyramidsRND.yaml (RND), or Pyramids.yaml without its curiosity signal, as a user starts it, its
console read line by line. A run reaches the benchmark when a summary's mean reward (the
console's "Mean Reward", TensorBoard's Environment/Cumulative Reward) is at least 1.75; it is
stopped then (SIGTERM: it saves), at its max_steps, or after --max-seconds. The best summary is
reported either way.
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
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import machine_line

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config" / "ppo"
THRESHOLD = 1.75
SUMMARY = re.compile(r"\] Pyramids\. Step: (\d+)\. Time Elapsed: ([\d.]+) s\. Mean Reward: (-?\d+\.\d+)")


def config_for(kind: str, folder: Path) -> Path:
    if kind == "rnd":
        return CONFIG_DIR / "PyramidsRND.yaml"
    if kind == "curiosity":
        return CONFIG_DIR / "Pyramids.yaml"
    raw = yaml.safe_load((CONFIG_DIR / "Pyramids.yaml").read_text())
    del raw["behaviors"]["Pyramids"]["reward_signals"]["curiosity"]
    path = folder / "PyramidsExtrinsic.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run_once(kind: str, seed: int, max_seconds: float) -> dict[str, object]:
    result: dict[str, object] = {"signal": kind, "seed": seed, "reached_step": None, "best": None}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        command = ["mlagents-learn", str(config_for(kind, folder)), f"--run-id=pyramids-{kind}", f"--seed={seed}",
                   f"--results-dir={folder}/results"]  # fmt: skip
        start = time.monotonic()
        process = subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
        timer = threading.Timer(max_seconds, process.send_signal, (signal.SIGTERM,))
        timer.start()
        assert process.stdout is not None
        for line in process.stdout:
            match = SUMMARY.search(line)
            if match is None:
                continue
            step, elapsed, mean = int(match[1]), float(match[2]), float(match[3])
            best = result["best"]
            result["best"] = mean if best is None else max(float(best), mean)  # type: ignore[arg-type]
            result["last_step"] = step
            if result["reached_step"] is None and mean >= THRESHOLD:
                result |= {"reached_step": step, "reached_elapsed_s": elapsed,
                           "reached_wall_s": time.monotonic() - start}  # fmt: skip
                process.send_signal(signal.SIGTERM)
        process.wait()
        timer.cancel()
        result["wall_s"] = time.monotonic() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", nargs="+", default=["curiosity", "rnd", "extrinsic"],
                        choices=["curiosity", "rnd", "extrinsic"])  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    args = parser.parse_args(argv)
    print(machine_line(), flush=True)
    for kind in args.signals:
        print(json.dumps(run_once(kind, args.seed, args.max_seconds)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
