"""`mlagents-fast record <Env> --episodes N --out X.demo`: the environment's heuristic plays, and
its first agent's decisions are written as a demonstration in Unity's `.demo` format (the seeds'
Heuristic brain as a teacher for GAIL and behavioral cloning)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlagents-fast record", description=__doc__.splitlines()[0])
    p.add_argument("env", help="a built-in environment (Basic, 3DBall, GridWorld, PushBlock, WallJump, ...)")
    p.add_argument("--episodes", type=int, default=10, help="whole episodes to record (default 10)")
    p.add_argument("--out", type=Path, required=True, help="the .demo file to write")
    p.add_argument("--behavior", help="which behavior to record, for environments with several (default: the first)")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from mlagents_fast.envs.testing.heuristics import teacher
    from mlagents_fast.envs.testing.recorder import record_demonstrations

    if args.episodes < 1:
        print("Error: --episodes must be at least 1.", file=sys.stderr)
        return 1
    if args.out.suffix != ".demo":
        print(f"Error: --out {args.out}: a demonstration file's name ends in .demo.", file=sys.stderr)
        return 1
    try:
        env, behavior, policy = teacher(args.env, args.behavior, seed=args.seed)
    except ValueError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = record_demonstrations(env, None, args.out, behavior, seed=args.seed, policy=policy, episodes=args.episodes)
    print(f"Recorded {meta.number_episodes} episodes of {behavior} ({meta.number_steps} records, mean return "
          f"{meta.mean_reward:.3f}) to {args.out}.")  # fmt: skip
    return 0
