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

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_run import target_main

CONFIG = Path(__file__).resolve().parents[1] / "config" / "poca" / "PushBlockCollab.yaml"
SUMMARY = re.compile(r"\] (\w+)\. Step: (\d+)\. Time Elapsed: ([\d.]+) s\. Mean Reward: (-?\d+\.\d+)\. "
                     r"Mean Group Reward: (-?\d+\.\d+)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    def args(seed: int) -> list[str]:
        return [str(CONFIG), "--env=PushBlockCollab", "--run-id=collab", f"--seed={seed}"]

    return target_main(__doc__.splitlines()[0], args, SUMMARY, 5, "group_mean", 11.0, argv)


if __name__ == "__main__":
    raise SystemExit(main())
