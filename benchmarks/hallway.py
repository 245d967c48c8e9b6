"""Hallway to its benchmark: steps and wall time until the mean reward reaches 0.7.

    python benchmarks/hallway.py [--seed 1] [--target 0.7] [--max-seconds 3600] [--json out.json]

The run is `mlagents-learn config/ppo/Hallway.yaml --env=Hallway` as a user starts it (ML-Agents'
settings: an LSTM of memory 128 over sequences of 64, one copy of the 16-area scene), in a
temporary folder, its console read line by line; it is stopped (SIGTERM: it saves) at the first
summary whose mean reward reaches --target, or after --max-seconds. Reported: every summary's
step, wall time and mean reward.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_run import target_main
from walljump_curriculum import SUMMARY

CONFIG = Path(__file__).resolve().parents[1] / "config" / "ppo" / "Hallway.yaml"


def main(argv: list[str] | None = None) -> int:
    def args(seed: int) -> list[str]:
        return [str(CONFIG), "--env=Hallway", "--run-id=hallway", f"--seed={seed}"]

    return target_main(__doc__.splitlines()[0], args, SUMMARY, 4, "mean", 0.7, argv)


if __name__ == "__main__":
    raise SystemExit(main())
