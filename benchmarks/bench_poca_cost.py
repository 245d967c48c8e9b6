"""What the centralized critic costs: POCA against PPO on the same multi-agent run, in agent-steps/s.

    python benchmarks/bench_poca_cost.py [--steps 60000] [--repeats 3] [--agents 3] [--json out.json]

Each run trains ML-Agents' MultiAgentEnvironment (--agents agents a group, 16 copies, vector
observations, one discrete branch) with the same settings (batch 256, buffer 2560, 128 x 2, 3
epochs), once with `trainer_type: ppo` and once with `trainer_type: poca`, torch on 1 thread, for
--steps agent-steps; the two are interleaved per repeat; medians.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import interleaved_rates, machine, machine_line, timed_training

from mlagents_fast.config import run_options_from_dict
from mlagents_fast.envs import make
from mlagents_fast.trainers.registry import trainer_factory

BEHAVIOR = "MultiAgentEnvironment"


def steps_per_second(trainer_type: str, steps: int, agents: int, seed: int) -> float:
    raw = {"trainer_type": trainer_type, "max_steps": steps, "time_horizon": 64,
           "hyperparameters": {"batch_size": 256, "buffer_size": 2560, "learning_rate": 3e-4},
           "network_settings": {"hidden_units": 128, "num_layers": 2}}  # fmt: skip
    settings = run_options_from_dict({"behaviors": {BEHAVIOR: raw}}, "bench").behaviors[BEHAVIOR]
    env = make(BEHAVIOR, 16, seed=seed, num_agents=agents, action_sizes=(0, 1))
    trainer = trainer_factory(trainer_type)(BEHAVIOR, env.behavior_specs[BEHAVIOR], settings,
                                            env.num_agents(BEHAVIOR), seed=seed)  # fmt: skip
    seconds = timed_training(trainer, env, BEHAVIOR, steps)  # type: ignore[arg-type]
    return trainer.step / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(machine_line(), flush=True)
    ppo, poca, rates = interleaved_rates(
        ("ppo", "poca"), args.repeats, lambda name, seed: steps_per_second(name, args.steps, args.agents, seed)
    )
    print(f"PPO {ppo:9,.0f} agent-steps/s; POCA {poca:9,.0f}: x{ppo / poca:.2f} the time")
    if args.json:
        summary = {"ppo": ppo, "poca": poca, "cost": ppo / poca, "runs": rates}
        args.json.write_text(json.dumps({"machine": machine(), "steps": args.steps, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
