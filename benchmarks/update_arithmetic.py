"""The arithmetic a shipped config asks for each agent-step, and the least time its step budget
can take on this machine (a FLOP bound, not a forecast).

    python benchmarks/update_arithmetic.py config/poca/SoccerTwos.yaml --env SoccerTwos [--threads 2]

Builds the config's trainer on one copy of the environment, acts and trains until its first
update has run, and counts the floating-point operations of the update with torch's
FlopCounterMode (matrix products and convolutions, forward and backward: the bulk of the work;
element-wise operations, and acting's one actor forward a step, are left out, so the bound is a
floor). Then it times a matrix product of
the update's own shape (rows of `batch_size` through `hidden_units` x `hidden_units`) on
`--threads` threads and prints: FLOPs per agent-step, the rate the update itself reached, the
GFLOP/s this machine sustains on that product, and the hours `max_steps` agent-steps would take
at that rate with nothing else to do.

The update's count is exact only for trainers whose update runs in torch (POCA, the autograd
paths); PPO's and SAC's fused paths run partly in native code, which the counter does not see.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import machine_line

from mlagents_fast.config.loader import load_run_options
from mlagents_fast.envs import make
from mlagents_fast.trainers.registry import trainer_factory


def matmul_rate(rows: int, width: int, seconds: float = 3.0) -> float:
    """FLOP/s of [rows, width] @ [width, width] products, repeated for about `seconds`."""
    a, b = torch.randn(rows, width), torch.randn(width, width)
    torch.mm(a, b)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        torch.mm(a, b)
        count += 1
    return 2.0 * rows * width * width * count / (time.perf_counter() - started)


def count_first_update(config: Path, env_name: str, seed: int) -> dict[str, Any]:
    options = load_run_options(config)
    behavior, settings = next(iter(options.behaviors.items()))
    env = make(env_name, 1, seed=seed)
    name = next(iter(env.behavior_specs))
    trainer: Any = trainer_factory(settings.trainer_type)(name, env.behavior_specs[name], settings,
                                                          env.num_agents(name), seed=seed)  # fmt: skip
    update = trainer.update
    update_counter = FlopCounterMode(display=False)
    updates: list[int] = []
    update_seconds: list[float] = []

    def counted(segments: Any, step: int) -> Any:
        updates.append(segments.rows)
        started = time.perf_counter()
        with update_counter:
            stats = update(segments, step)
        update_seconds.append(time.perf_counter() - started)
        return stats

    trainer.update = counted  # (the trainer calls its update through this attribute)
    batch, actions = env.batch(name), env.actions(name)
    while not updates:
        trainer.act(batch, actions)
        env.step()
        trainer.record(batch)
    trainer.close()
    env.close()
    hyper = settings.hyperparameters
    return {
        "behavior": behavior, "trainer_type": settings.trainer_type, "max_steps": settings.max_steps,
        "update_rows": updates[0], "update_flops": update_counter.get_total_flops(),
        "update_seconds": update_seconds[0],
        "batch_size": getattr(hyper, "batch_size", 256), "hidden_units": settings.network_settings.hidden_units,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--env", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(machine_line(), flush=True)
    counts = count_first_update(args.config, args.env, args.seed)
    per_step = counts["update_flops"] / counts["update_rows"]
    rate = matmul_rate(counts["batch_size"], counts["hidden_units"])
    hours = per_step * counts["max_steps"] / rate / 3600
    print(f"{counts['behavior']} ({counts['trainer_type']}): the update {counts['update_flops'] / 1e9:,.1f} GFLOP for "
          f"{counts['update_rows']:,} agent-steps: {per_step / 1e6:,.1f} MFLOP per agent-step")  # fmt: skip
    print(
        f"the update took {counts['update_seconds']:,.1f} s: "
        f"{counts['update_flops'] / counts['update_seconds'] / 1e9:,.0f} GFLOP/s counted"
    )
    print(f"this machine: {rate / 1e9:,.0f} GFLOP/s on [{counts['batch_size']}, {counts['hidden_units']}] products, "
          f"{args.threads} threads: at most {rate / per_step:,.0f} agent-steps/s; max_steps {counts['max_steps']:,} "
          f"takes at least {hours:,.1f} h")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
