"""What memory costs: PPO on 3DBall with `network_settings.memory` (ML-Agents' defaults: memory
128, sequences of 64) against the same run without, in agent-steps/s.

    python benchmarks/bench_memory_cost.py [--steps 50000] [--repeats 3] [--json out.json]

Each run trains config/ppo/3DBall.yaml (one copy of its 12 areas, torch on 1 thread) for --steps
agent-steps; the two variants are interleaved per repeat; medians. Target: memory costs at most
2x (the run with memory at least half the agent-steps/s of the run without).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import interleaved_rates, machine, machine_line, timed_training

from mlagents_fast.config import load_run_options
from mlagents_fast.config.trainer_settings import MemorySettings
from mlagents_fast.envs import make
from mlagents_fast.trainers.ppo import PPOTrainer

CONFIG = Path(__file__).resolve().parents[1] / "config" / "ppo" / "3DBall.yaml"
BEHAVIOR = "3DBall"


def steps_per_second(memory: bool, steps: int, seed: int) -> float:
    base = load_run_options(CONFIG).behaviors[BEHAVIOR]
    network = dataclasses.replace(base.network_settings, memory=MemorySettings() if memory else None)
    settings = dataclasses.replace(base, network_settings=network, max_steps=steps)
    env = make(BEHAVIOR, 1, seed=seed)
    trainer = PPOTrainer(BEHAVIOR, env.behavior_specs[BEHAVIOR], settings, env.num_agents(BEHAVIOR), seed=seed)
    seconds = timed_training(trainer, env, BEHAVIOR, steps)
    return trainer.step / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(machine_line(), flush=True)
    without, memory, rates = interleaved_rates(
        ("without", "memory"), args.repeats, lambda name, seed: steps_per_second(name == "memory", args.steps, seed)
    )
    print(f"without memory {without:9,.0f} agent-steps/s; with memory {memory:9,.0f}: x{without / memory:.2f} the time")
    if args.json:
        summary = {"without": without, "memory": memory, "cost": without / memory, "runs": rates}
        args.json.write_text(json.dumps({"machine": machine(), "steps": args.steps, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
