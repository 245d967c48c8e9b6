"""ELO over training in self-play: Tennis (PPO) and SoccerTwos (POCA), from ML-Agents' configs.

    python benchmarks/self_play_elo.py --env Tennis [--seed 1] [--max-seconds 1800] [--json out.json]
        [--svg out.svg]

The run is `mlagents-learn config/ppo/Tennis.yaml --env=Tennis` (or `config/poca/SoccerTwos.yaml
--env=SoccerTwos`) as a user starts it, in a temporary folder, its console read line by line; it
is stopped (SIGTERM: it saves) after --max-seconds. Reported: every summary's step, wall time,
mean (group) reward and the learner's ELO (`Self-play/ELO`: it rises while the learner beats
its older snapshots). --svg draws the ELO against steps for one run or more (`--svg out.svg
a.json b.json` redraws from saved results without training).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_run import LearnRun
from training_common import machine, machine_line

CONFIGS = {"Tennis": "config/ppo/Tennis.yaml", "SoccerTwos": "config/poca/SoccerTwos.yaml"}
ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"\] (\w+)\. Step: (\d+)\. Time Elapsed: ([\d.]+) s\. Mean Reward: (-?\d+\.\d+)\. "
                     r"(?:Mean Group Reward: (-?\d+\.\d+)\. )?.*?(?:ELO: (-?\d+\.\d+))?\.?$")  # fmt: skip


def run(env: str, seed: int, max_seconds: float) -> dict[str, object]:
    summaries: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        run = LearnRun([str(ROOT / CONFIGS[env]), f"--env={env}", "--run-id=elo", f"--seed={seed}"], folder)
        for wall, line in run:
            match = SUMMARY.search(line.rstrip())
            if match and match.group(6) is not None:
                group = None if match.group(5) is None else float(match.group(5))
                summary = {"step": int(match.group(2)), "wall_s": wall, "mean": float(match.group(4)),
                           "group_mean": group, "elo": float(match.group(6))}  # fmt: skip
                summaries.append(summary)
                print(f"{wall:7.0f} s  step {summary['step']:>9,}  ELO {summary['elo']:8.1f}  mean "
                      f"{summary['mean']:.3f}", flush=True)  # fmt: skip
            if wall > max_seconds:
                run.stop()
    return {"env": env, "seed": seed, "max_seconds": max_seconds, "summaries": summaries}


def _ticks(low: float, high: float) -> list[float]:
    """Round values every 1, 2, 2.5 or 5 x 10^k between `low` and `high`, about five of them."""
    raw = (high - low) / 5 or 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + k * step for k in range(int((high - first) / step) + 1)]


def svg(results: list[dict[str, object]], width: int = 720, height: int = 360) -> str:
    """A line chart of ELO against steps, one line per run (no plotting library needed)."""
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    series = [[(float(s["step"]), float(s["elo"])) for s in r["summaries"]] for r in results]  # type: ignore[attr-defined]
    points = [p for line in series for p in line] or [(0.0, 1200.0)]
    x_max = max(p[0] for p in points) or 1.0
    y_low = min(1150.0, *(p[1] for p in points))
    y_high = max(1250.0, *(p[1] for p in points))
    left, right, top, bottom = 70, 20, 30, 50

    def x_at(step: float) -> float:
        return left + (width - left - right) * step / x_max

    def y_at(elo: float) -> float:
        return top + (height - top - bottom) * (y_high - elo) / (y_high - y_low)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           'font-size="12">', f'<rect width="{width}" height="{height}" fill="white"/>']  # fmt: skip
    for elo in _ticks(y_low, y_high):
        y = y_at(elo)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{elo:.0f}</text>')  # fmt: skip
    for step in _ticks(0.0, x_max):
        out.append(f'<text x="{x_at(step):.1f}" y="{height - bottom + 18}" text-anchor="middle">'
                   f"{step / 1e6:g}M</text>")  # fmt: skip
    out.append(f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle">agent-steps of the '
               'learning behavior</text>')  # fmt: skip
    middle = (top + height - bottom) / 2
    out.append(f'<text x="14" y="{middle}" transform="rotate(-90 14 {middle})" text-anchor="middle">ELO</text>')
    for k, (result, line) in enumerate(zip(results, series, strict=True)):
        color = colors[k % len(colors)]
        path = " ".join(f"{x_at(s):.1f},{y_at(e):.1f}" for s, e in line)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        out.append(f'<text x="{left + 10}" y="{top + 14 + 16 * k}" fill="{color}">{result["env"]} '
                   f"(seed {result['seed']})</text>")  # fmt: skip
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", choices=sorted(CONFIGS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--svg", type=Path)
    parser.add_argument("saved", nargs="*", type=Path, help="results written by --json, to draw with --svg")
    args = parser.parse_args(argv)
    results = [json.loads(path.read_text()) for path in args.saved]
    if args.env is not None:
        print(machine_line(), flush=True)
        result = run(args.env, args.seed, args.max_seconds)
        if args.json:
            args.json.write_text(json.dumps({"machine": machine(), **result}, indent=1))
        results.append(result)
    if args.svg and results:
        args.svg.write_text(svg(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
