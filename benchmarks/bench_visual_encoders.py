"""PPO on GridWorld from its camera with each visual encoder: agent-steps/s of the whole loop
(acting, stepping, updates), against the `simple` encoder measured in the same run.

    python benchmarks/bench_visual_encoders.py [--steps 20000] [--repeats 3] [--json out.json]

Each run trains config/ppo/GridWorld.yaml (one copy of its 9 areas, torch on 1 thread) with
`network_settings.vis_encode_type` replaced; an encoder whose minimum resolution is above the
camera's is reported as refused (nature_cnn needs 36 x 36). The encoders are interleaved per
repeat; medians.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import machine, machine_line, timed_training

from mlagents_fast.config import load_run_options
from mlagents_fast.envs import make
from mlagents_fast.networks.encoders import NetworkError
from mlagents_fast.trainers.ppo import PPOTrainer

CONFIG = Path(__file__).resolve().parents[1] / "config" / "ppo" / "GridWorld.yaml"
BEHAVIOR = "GridWorld"
ENCODERS = ["simple", "nature_cnn", "resnet", "match3", "fully_connected"]


def steps_per_second(encoder: str, steps: int, seed: int) -> float | None:
    base = load_run_options(CONFIG).behaviors[BEHAVIOR]
    network = dataclasses.replace(base.network_settings, vis_encode_type=encoder)
    settings = dataclasses.replace(base, network_settings=network, max_steps=steps)
    env = make(BEHAVIOR, 1, seed=seed)
    try:
        trainer = PPOTrainer(BEHAVIOR, env.behavior_specs[BEHAVIOR], settings, env.num_agents(BEHAVIOR), seed=seed)
    except NetworkError as error:
        print(f"{encoder}: refused ({error})", flush=True)
        return None
    seconds = timed_training(trainer, env, BEHAVIOR, steps)
    return trainer.step / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(machine_line(), flush=True)
    rates: dict[str, list[float]] = {name: [] for name in ENCODERS}
    refused: set[str] = set()
    for repeat in range(args.repeats):
        for name in ENCODERS:
            if name in refused:
                continue
            rate = steps_per_second(name, args.steps, seed=1 + repeat)
            if rate is None:
                refused.add(name)
                continue
            rates[name].append(rate)
            print(f"{name}: {rate:,.0f} agent-steps/s", flush=True)
    reference = statistics.median(rates["simple"])
    summary = {}
    for name in ENCODERS:
        if name in refused:
            summary[name] = {"refused": True}
            print(f"{name:16s} refused: the camera is below its minimum resolution")
            continue
        median = statistics.median(rates[name])
        summary[name] = {"median_steps_per_s": median, "ratio_to_simple": median / reference, "runs": rates[name]}
        print(f"{name:16s} {median:9,.0f} agent-steps/s, x{median / reference:.2f} of simple")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "steps": args.steps, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
