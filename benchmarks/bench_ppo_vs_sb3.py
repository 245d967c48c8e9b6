"""End-to-end PPO on CartPole: our trainer against Stable-Baselines3, same hyperparameters.

    python benchmarks/bench_ppo_vs_sb3.py [--repeats 3] [--rate-steps 30720] [--cap 150000] [--json out.json]

rl-baselines3-zoo's CartPole-v1 PPO settings on both sides: 8 environments, n_steps 32
(buffer 256), batch 256, 20 epochs, gamma 0.98, gae_lambda 0.8, ent_coef 0, learning rate
1e-3 and clip range 0.2 decaying linearly over 1e5 steps, 64 x 64 networks; torch on 1 thread,
CPU.

- ours: config/ppo/CartPole.yaml, PPOTrainer on 8 native CartPole copies;
- SB3: PPO("MlpPolicy") on gymnasium CartPole-v1 in a DummyVecEnv of 8 (make_vec_env, which
  adds the Monitor that fills SB3's 100-episode buffer).

Measured, each run in a fresh process (imports and construction not timed), repeats
interleaved ours, SB3, ours, SB3:

(a) agent-steps/s over a fixed number of steps, with the gradient steps each side took in
    them: SB3 updates every 32 steps of its 8 environments, ours as ML-Agents, once more than
    256 steps of whole trajectories (cut at time_horizon 32 or at an episode's end) wait, and
    trains each in minibatches of 256, a last partial one dropped, so it takes fewer;
(b) wall seconds and agent-steps until the mean return of the last 100 episodes reaches
    475, capped at --cap steps; both keep rl-zoo's schedules over 1e5 steps (SB3's are
    rewritten so they reach zero at 1e5 and stay there, as ours reach their floor);
(c) our share of wall time outside the networks' forward and backward passes.

Targets: ours >= 5x SB3's steps/s, less wall time to 475, outside share <= 20%.
SB3 is optional: without it only our side runs, and the script says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import machine, machine_line, median, shipped_settings, train_ours

THRESHOLD = 475.0
SCHEDULE_STEPS = 100_000  # rl-zoo's n_timesteps, over which both schedules decay
NUM_ENVS = 8
TARGET_RATE_RATIO = 5.0
TARGET_OUTSIDE_SHARE = 0.20


def sb3_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("stable_baselines3", "gymnasium"))


# ------------------------------------------------------------------ one run, in a worker process
def run_ours(mode: str, seed: int, steps: int) -> dict[str, Any]:
    settings = shipped_settings("CartPole")
    stop_at = THRESHOLD if mode == "threshold" else None
    run = train_ours("CartPole", settings, num_envs=NUM_ENVS, seed=seed, milestones=[THRESHOLD], stop_at=stop_at,
                     max_steps=steps)  # fmt: skip
    hit = run.milestones.get(f"{THRESHOLD:g}")
    return {"side": "ours", "mode": mode, "seed": seed, "steps": run.steps, "wall_s": run.wall_s,
            "steps_per_s": run.steps / run.wall_s, "reached": run.reached,
            "wall_s_to_threshold": hit[0] if hit else None, "steps_to_threshold": hit[1] if hit else None,
            "network_s": run.network_s, "outside_share": run.outside_share, "best_mean": run.best_mean,
            "episodes": run.episodes, "gradient_steps": run.gradient_steps}  # fmt: skip


def run_sb3(mode: str, seed: int, steps: int) -> dict[str, Any]:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    def linear(initial: float) -> Any:
        # SB3 passes progress_remaining = 1 - steps / total_timesteps; turn it back into steps so
        # the decay spans SCHEDULE_STEPS whatever total_timesteps is.
        def schedule(progress_remaining: float) -> float:
            done = (1.0 - progress_remaining) * steps
            return initial * max(0.0, 1.0 - done / SCHEDULE_STEPS)

        return schedule

    class StopAtThreshold(BaseCallback):
        """Notes when SB3's 100-episode buffer first averages THRESHOLD; stops there in threshold mode."""

        def __init__(self) -> None:
            super().__init__()
            self.hit: tuple[float, int] | None = None
            self.start = 0.0

        def _on_step(self) -> bool:
            # Only look when an episode ended: the buffer changes only then.
            if self.hit is not None or not self.locals["dones"].any():
                return True
            buffer = self.model.ep_info_buffer
            if buffer is not None and len(buffer) == buffer.maxlen:
                if sum(info["r"] for info in buffer) / len(buffer) >= THRESHOLD:
                    self.hit = (time.perf_counter() - self.start, self.num_timesteps)
                    return mode != "threshold"
            return True

    env = make_vec_env("CartPole-v1", n_envs=NUM_ENVS, seed=seed)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, n_epochs=20, gamma=0.98, gae_lambda=0.8,
                ent_coef=0.0, learning_rate=linear(1e-3), clip_range=linear(0.2), device="cpu", seed=seed,
                verbose=0)  # fmt: skip
    callback = StopAtThreshold()
    callback.start = started = time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    wall = time.perf_counter() - started
    buffer: list[dict[str, float]] = list(model.ep_info_buffer or [])
    return {"side": "sb3", "mode": mode, "seed": seed, "steps": model.num_timesteps, "wall_s": wall,
            "steps_per_s": model.num_timesteps / wall, "reached": callback.hit is not None,
            "wall_s_to_threshold": callback.hit[0] if callback.hit else None,
            "steps_to_threshold": callback.hit[1] if callback.hit else None,
            "final_mean": sum(i["r"] for i in buffer) / max(1, len(buffer)),
            # SB3 counts an epoch as one update; with batch 256 = one rollout, an epoch is one minibatch.
            "gradient_steps": model._n_updates * (32 * NUM_ENVS // 256)}  # fmt: skip


def worker(side: str, mode: str, seed: int, steps: int) -> None:
    torch.set_num_threads(1)
    result = (run_ours if side == "ours" else run_sb3)(mode, seed, steps)
    result["torch_threads"] = torch.get_num_threads()
    print(json.dumps(result), flush=True)


# ------------------------------------------------------------------ the driver
def spawn(side: str, mode: str, seed: int, steps: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", side, "--mode", mode, "--seed", str(seed), "--steps", str(steps)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


def summarize(results: list[dict[str, Any]], sides: list[str]) -> dict[str, Any]:
    def pick(side: str, mode: str, key: str, only_reached: bool = False) -> list[float]:
        return [r[key] for r in results if r["side"] == side and r["mode"] == mode
                and r[key] is not None and (r["reached"] or not only_reached)]  # fmt: skip

    summary: dict[str, Any] = {}
    for side in sides:
        rates = pick(side, "rate", "steps_per_s")
        times = pick(side, "threshold", "wall_s_to_threshold", True)
        summary[side] = {
            "steps_per_s_median": median(rates), "steps_per_s_min": min(rates), "steps_per_s_max": max(rates),
            "solved": f"{len(times)}/{len(pick(side, 'threshold', 'wall_s'))}",
            "wall_s_to_475_median": median(times),
            "wall_s_to_475_range": [min(times, default=float("nan")), max(times, default=float("nan"))],
            "steps_to_475_median": median(pick(side, "threshold", "steps_to_threshold", True)),
            "rate_run_gradient_steps_median": median(pick(side, "rate", "gradient_steps")),
        }  # fmt: skip
    outside = pick("ours", "rate", "outside_share") + pick("ours", "threshold", "outside_share")
    summary["ours"]["outside_share_median"] = median(outside)
    summary["ours"]["meets_outside_target"] = median(outside) <= TARGET_OUTSIDE_SHARE
    if "sb3" in summary:
        ours, sb3 = summary["ours"], summary["sb3"]
        summary["rate_ratio"] = ours["steps_per_s_median"] / sb3["steps_per_s_median"]
        summary["meets_rate_target"] = summary["rate_ratio"] >= TARGET_RATE_RATIO
        summary["time_ratio"] = sb3["wall_s_to_475_median"] / ours["wall_s_to_475_median"]
        summary["meets_time_target"] = summary["time_ratio"] > 1.0
    return summary


def print_summary(summary: dict[str, Any]) -> None:
    print(machine_line())
    print(f"{'side':<6} {'steps/s median (min-max)':>28} {'solved':>7} {'s to 475 median (min-max)':>28} "
          f"{'steps to 475':>13}")  # fmt: skip
    for side in ("ours", "sb3"):
        if side not in summary:
            continue
        s = summary[side]
        rate = f"{s['steps_per_s_median']:,.0f} ({s['steps_per_s_min']:,.0f}-{s['steps_per_s_max']:,.0f})"
        low, high = s["wall_s_to_475_range"]
        wall = f"{s['wall_s_to_475_median']:.1f} ({low:.1f}-{high:.1f})"
        print(f"{side:<6} {rate:>28} {s['solved']:>7} {wall:>28} {s['steps_to_475_median']:>13,.0f}")
    steps = "  ".join(f"{side} {summary[side]['rate_run_gradient_steps_median']:,.0f}" for side in ("ours", "sb3")
                      if side in summary)  # fmt: skip
    print(f"gradient steps in the throughput runs (median): {steps}")
    ours = summary["ours"]
    verdict = "ok" if ours["meets_outside_target"] else "MISSED"
    print(f"ours outside the networks' forward/backward: {ours['outside_share_median']:.0%} (target <= 20%: {verdict})")
    if "rate_ratio" in summary and math.isnan(summary["time_ratio"]):
        print("wall to 475: not compared, a side never reached 475 within --cap")
    if "rate_ratio" in summary:
        print(f"steps/s ours / SB3: {summary['rate_ratio']:.1f}x "
              f"(target >= {TARGET_RATE_RATIO:g}x: {'ok' if summary['meets_rate_target'] else 'MISSED'})")  # fmt: skip
        if not math.isnan(summary["time_ratio"]):
            print(f"wall to 475 SB3 / ours: {summary['time_ratio']:.2f}x "
                  f"(target > 1x: {'ok' if summary['meets_time_target'] else 'MISSED'})")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1, help="first seed; repeat i uses seed + i on both sides")
    parser.add_argument("--rate-steps", type=int, default=120 * 256, help="agent-steps of the throughput runs")
    parser.add_argument("--cap", type=int, default=150_000, help="agent-step cap of the runs to 475")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", choices=["ours", "sb3"], help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["rate", "threshold"], help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.mode, args.seed, args.steps)
        return 0
    sides = ["ours", "sb3"] if sb3_available() else ["ours"]
    if "sb3" not in sides:
        print("Stable-Baselines3 is not installed: only our side runs (pip install stable-baselines3 gymnasium).")
    torch.set_num_threads(1)
    print(machine_line(), flush=True)
    results = []
    for repeat in range(args.repeats):
        for mode, steps in (("rate", args.rate_steps), ("threshold", args.cap)):
            for side in sides:
                results.append(spawn(side, mode, args.seed + repeat, steps))
    summary = summarize(results, sides)
    print_summary(summary)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "summary": summary, "runs": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
