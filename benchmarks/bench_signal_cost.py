"""What each reward signal that learns costs: PPO on 3DBall with curiosity, RND or GAIL added,
against the same run without, in wall time per 100k agent-steps.

    python benchmarks/bench_signal_cost.py [--steps 100000] [--repeats 3] [--json out.json]

Each run trains config/ppo/3DBall.yaml (one copy of the 12 areas, torch on 1 thread) for
--steps agent-steps with one signal added (strength 0.01, ML-Agents' other defaults; GAIL from
2,000 records of 3DBall played at random, recorded first). The variants are interleaved per
repeat, so drift in the machine's load spreads over all of them; the ratio is each variant's
median over the plain run's. Target: each signal adds at most 30%.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import machine, machine_line, timed_training

from mlagents_fast.config import load_run_options, run_options_from_dict
from mlagents_fast.envs import make
from mlagents_fast.envs.testing.recorder import record_demonstrations
from mlagents_fast.envs.vector import VectorEnv
from mlagents_fast.spec import ActionTuple
from mlagents_fast.trainers.ppo import PPOTrainer

CONFIG = Path(__file__).resolve().parents[1] / "config" / "ppo" / "3DBall.yaml"
BEHAVIOR = "3DBall"


PLAY = np.random.default_rng(0)


def random_play(env: VectorEnv, behavior: str) -> ActionTuple:
    actions = env.actions(behavior)
    actions.continuous[:] = PLAY.uniform(-1, 1, actions.continuous.shape)
    return actions


def variants(demo: str) -> dict[str, dict[str, Any]]:
    return {"none": {}, "curiosity": {"curiosity": {"strength": 0.01}}, "rnd": {"rnd": {"strength": 0.01}},
            "gail": {"gail": {"strength": 0.01, "demo_path": demo}}}  # fmt: skip


def run_once(signals: dict[str, Any], steps: int, seed: int) -> float:
    base = load_run_options(CONFIG).behaviors[BEHAVIOR]
    raw = {"trainer_type": "ppo", "max_steps": steps, "time_horizon": base.time_horizon,
           "hyperparameters": {"batch_size": 64, "buffer_size": 12000, "learning_rate": 3e-4, "beta": 1e-3,
                               "lambd": 0.99},
           "network_settings": {"normalize": True, "hidden_units": 128, "num_layers": 2},
           "reward_signals": {"extrinsic": {"gamma": 0.99}, **signals}}  # fmt: skip
    settings = run_options_from_dict({"behaviors": {BEHAVIOR: raw}}, "bench").behaviors[BEHAVIOR]
    env = make(BEHAVIOR, 1, seed=seed)
    trainer = PPOTrainer(BEHAVIOR, env.behavior_specs[BEHAVIOR], settings, env.num_agents(BEHAVIOR), seed=seed)
    return timed_training(trainer, env, BEHAVIOR, steps) * 100_000 / trainer.step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(machine_line(), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        demo = str(Path(folder) / "random3DBall.demo")
        record_demonstrations(make(BEHAVIOR, 1, seed=0), 2000, demo, seed=0, policy=random_play)
        seconds: dict[str, list[float]] = {name: [] for name in variants(demo)}
        for repeat in range(args.repeats):
            for name, signals in variants(demo).items():
                seconds[name].append(run_once(signals, args.steps, seed=1 + repeat))
                print(f"{name}: {seconds[name][-1]:.2f} s per 100k steps", flush=True)
    plain = statistics.median(seconds["none"])
    summary = {name: {"median_s_per_100k": statistics.median(s), "ratio": statistics.median(s) / plain, "runs": s}
               for name, s in seconds.items()}  # fmt: skip
    for name, row in summary.items():
        print(f"{name:10s} {row['median_s_per_100k']:7.2f} s per 100k steps, x{row['ratio']:.2f} of the plain run")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "steps": args.steps, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
