"""Wall time and agent-steps for PPO to solve the built-in environments with the shipped configs.

    python benchmarks/time_to_threshold.py [--envs Basic 3DBall GridWorld CartPole PushBlock] [--repeats N]
                                           [--json out.json] [--max-seconds S]

Each run loads config/ppo/<Env>.yaml, trains PPOTrainer directly on the native environment
(1 copy, as ML-Agents' scenes, except CartPole: 8 copies, as its config says) with torch on
1 thread, and stops when the mean return of the last 100 episodes reaches the threshold,
at the config's max_steps or after --max-seconds. A JSON line per run, then a summary.

Thresholds (mean of the last 100 episodes, judged only on a full window):
  Basic 0.93, GridWorld 0.8, CartPole 475, 3DBall 99.9, PushBlock 4.5 (ML-Agents' benchmarks).
3DBall's maximum return is 100.0 exactly (1000 decisions x 0.1), and float sums of 0.1 land
just under it, so "100" is tested as >= 99.9. Runs that never get there still report the best
windowed mean and when it first passed 95 and 99. With --eval-episodes N, each trained policy
then plays N whole episodes deterministically (no updates, not timed), reported per run.
Targets: 3DBall solved in under 60 s of wall time, PushBlock in under 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import TrainingRun, machine, machine_line, median, shipped_settings, train_ours


@dataclass(frozen=True)
class Task:
    threshold: float
    milestones: tuple[float, ...]
    num_envs: int


TASKS = {
    "Basic": Task(0.93, (0.8, 0.9, 0.93), 1),
    "3DBall": Task(99.9, (50.0, 90.0, 95.0, 99.0, 99.9), 1),
    "GridWorld": Task(0.8, (0.5, 0.7, 0.8), 1),
    "CartPole": Task(475.0, (200.0, 400.0, 475.0), 8),
    "PushBlock": Task(4.5, (3.0, 4.0, 4.5), 1),
}
TARGET_SECONDS = {"3DBall": 60.0, "PushBlock": 900.0}


def summarize(env: str, runs: list[TrainingRun]) -> dict[str, object]:
    task = TASKS[env]
    solved = [r for r in runs if r.reached]
    summary: dict[str, object] = {
        "env": env,
        "threshold": task.threshold,
        "runs": len(runs),
        "solved": len(solved),
        # Medians over the solved runs only: an unsolved run has no time to the threshold.
        "median_wall_s": median([r.wall_s for r in solved]),
        "median_steps": median([float(r.steps) for r in solved]),
        "min_wall_s": min((r.wall_s for r in solved), default=float("nan")),
        "max_wall_s": max((r.wall_s for r in solved), default=float("nan")),
        "median_steps_per_s": median([r.steps / r.wall_s for r in runs]),
        "median_outside_share": median([r.outside_share for r in runs]),
        "best_mean": max(r.best_mean for r in runs),
        # ML-Agents' console criterion: mean of the episodes ended within one summary_freq period.
        "summary_period_solved": sum(r.summary_period_hit is not None for r in runs),
        "median_wall_s_summary_period": median([r.summary_period_hit[0] for r in runs if r.summary_period_hit]),
        "median_steps_summary_period": median([r.summary_period_hit[1] for r in runs if r.summary_period_hit]),
    }
    evaluated = [r for r in runs if r.eval_episodes]
    if evaluated:
        summary["eval_episodes"] = evaluated[0].eval_episodes
        summary["eval_means"] = [r.eval_mean for r in evaluated]
        summary["eval_at_threshold"] = sum(r.eval_mean >= task.threshold for r in evaluated)
    for milestone in task.milestones:
        key = f"{milestone:g}"
        hits = [r.milestones[key] for r in runs if key in r.milestones]
        summary[f"median_wall_s_to_{key}"] = median([h[0] for h in hits])
        summary[f"median_steps_to_{key}"] = median([h[1] for h in hits])
    if env in TARGET_SECONDS:
        summary["target_wall_s"] = TARGET_SECONDS[env]
        summary["meets_target"] = len(solved) == len(runs) and summary["median_wall_s"] < TARGET_SECONDS[env]  # type: ignore[operator]
    return summary


def print_summary(summaries: list[dict[str, object]]) -> None:
    print(machine_line())
    print(f"{'env':<10} {'solved':>7} {'wall s (min-max)':>24} {'agent-steps':>12} {'steps/s':>9} "
          f"{'outside nets':>12} {'best mean':>10}")  # fmt: skip
    for s in summaries:
        span = f"{s['median_wall_s']:.1f} ({s['min_wall_s']:.1f}-{s['max_wall_s']:.1f})"
        line = (
            f"{s['env']:<10} {s['solved']:>3}/{s['runs']:<3} {span:>24} {s['median_steps']:>12,.0f} "
            f"{s['median_steps_per_s']:>9,.0f} {s['median_outside_share']:>12.0%} {s['best_mean']:>10.3f}"
        )
        if "target_wall_s" in s:
            line += f"  target < {s['target_wall_s']:g} s: {'ok' if s['meets_target'] else 'MISSED'}"
        print(line)
        marks = [k.removeprefix("median_wall_s_to_") for k in s if str(k).startswith("median_wall_s_to_")]
        reached = [f"{m}: {s[f'median_wall_s_to_{m}']:.1f} s / {s[f'median_steps_to_{m}']:,.0f} steps" for m in marks]
        print(" " * 11 + "last-100 mean first reached (medians over the runs that got there): " + ", ".join(reached))
        print(" " * 11 + f"summary_freq-period mean >= threshold in {s['summary_period_solved']}/{s['runs']} runs: "
              f"{s['median_wall_s_summary_period']:.1f} s / {s['median_steps_summary_period']:,.0f} steps")  # fmt: skip
        if "eval_episodes" in s:
            means = ", ".join(f"{m:.3f}" for m in s["eval_means"])  # type: ignore[attr-defined]
            print(
                " " * 11 + f"deterministic policy after training, mean of {s['eval_episodes']} episodes: {means} "
                f"(>= threshold in {s['eval_at_threshold']}/{len(s['eval_means'])})"
            )  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1, help="first seed; repeat i uses seed + i")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="wall-time cap per run")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--json", type=Path, help="write the runs, summaries and machine here")
    parser.add_argument("--eval-episodes", type=int, default=0,
                        help="after each run, play this many episodes with the deterministic policy")  # fmt: skip
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(machine_line(), flush=True)
    runs: dict[str, list[TrainingRun]] = {env: [] for env in args.envs}
    # Environments interleaved per repeat, so drift in the machine's load spreads over all of them.
    for repeat in range(args.repeats):
        for env in args.envs:
            task = TASKS[env]
            run = train_ours(env, shipped_settings(env), num_envs=task.num_envs, seed=args.seed + repeat,
                             milestones=list(task.milestones), stop_at=task.threshold,
                             max_seconds=args.max_seconds, eval_episodes=args.eval_episodes)  # fmt: skip
            runs[env].append(run)
            print(run.to_json(), flush=True)
    summaries = [summarize(env, env_runs) for env, env_runs in runs.items()]
    print_summary(summaries)
    if args.json:
        payload = {"machine": machine(), "summaries": summaries,
                   "runs": [asdict(r) for env_runs in runs.values() for r in env_runs]}  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
