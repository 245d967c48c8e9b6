"""The Unity bridge's cost on the Python side, against ML-Agents' own (`mlagents_envs`), on the same player.

    python benchmarks/bench_unity_bridge.py [--env 3DBall] [--copies 1] [--steps 3000] [--repeats 3]
        [--mlagents-python /path/to/venv/bin/python]

A stand-in Unity player (envs/testing/fake_unity.py over a built-in environment, in its own
process, the same for both sides) is driven for --steps exchanges with random actions, first by
this project's UnityVectorEnv and then by ML-Agents' UnityEnvironment (`get_steps`, `set_actions`,
`step`), run by --mlagents-python (a Python with mlagents-envs installed; skipped when absent).
Reported per exchange: wall time, and the trainer process's CPU time (its gRPC threads included,
the player's excluded), which is the per-step overhead of the Python side; medians of --repeats.
mlagents-envs 1.1 needs protobuf < 3.21, whose only build for Python 3.11 is the pure-Python one;
set PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python to run this side on the same implementation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from google.protobuf.internal import api_implementation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import machine_line

from mlagents_fast.envs.unity.launch import LaunchedUnityEnv, UnityLaunch

THEIRS = """
import sys, time, numpy as np
from mlagents_envs.environment import UnityEnvironment
from mlagents_envs.base_env import ActionTuple
player, port, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
env = UnityEnvironment(file_name=player, base_port=port, no_graphics=True, timeout_wait=60)
env.reset()
rng = np.random.default_rng(0)
names = list(env.behavior_specs)
def act():
    for name in names:
        spec = env.behavior_specs[name].action_spec
        decisions, _ = env.get_steps(name)
        n = len(decisions)
        env.set_actions(name, ActionTuple(continuous=rng.uniform(-1, 1, (n, spec.continuous_size)).astype(np.float32),
                                          discrete=np.zeros((n, len(spec.discrete_branches)), np.int32)))
for _ in range(50):
    act(); env.step()
cpu, wall = time.process_time(), time.perf_counter()
for _ in range(steps):
    act(); env.step()
from google.protobuf.internal import api_implementation
print(api_implementation.Type(), (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps)
env.close()
"""


def player_script(folder: Path, env: str, copies: int) -> Path:
    script = folder / f"{env}.x86_64"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} -m mlagents_fast.envs.testing.fake_unity --env {env} "
                      f"--num-copies {copies} \"$@\"\n")  # fmt: skip
    script.chmod(0o755)
    return script


def ours(player: Path, port: int, steps: int) -> tuple[float, float]:
    env = LaunchedUnityEnv(UnityLaunch(str(player), base_port=port, timeout_wait=60, no_graphics=True))
    rng = np.random.default_rng(0)
    names = list(env.behavior_specs)

    def act() -> None:
        for name in names:
            actions = env.actions(name)
            actions.continuous[...] = rng.uniform(-1, 1, actions.continuous.shape)

    try:
        for _ in range(50):
            act()
            env.step()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(steps):
            act()
            env.step()
        return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps
    finally:
        env.quit()


def theirs(python: str, player: Path, port: int, steps: int) -> tuple[float, float, str]:
    result = subprocess.run([python, "-c", THEIRS, str(player), str(port), str(steps)], capture_output=True,
                            text=True, timeout=1200)  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"mlagents_envs failed: {result.stderr[-2000:]}")
    implementation, wall, cpu = result.stdout.split()[-3:]
    return float(wall), float(cpu), implementation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="3DBall")
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--port", type=int, default=5205)
    parser.add_argument("--mlagents-python", default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    print(machine_line(), f"protobuf here: {api_implementation.Type()}", flush=True)
    runs: dict[str, list[tuple[float, float]]] = {"ours": [], "mlagents_envs": []}
    with tempfile.TemporaryDirectory() as folder:
        player = player_script(Path(folder), args.env, args.copies)
        for _ in range(args.repeats):
            runs["ours"].append(ours(player, args.port, args.steps))
            print(f"ours: {runs['ours'][-1][0] * 1e6:,.0f} us wall, {runs['ours'][-1][1] * 1e6:,.0f} us CPU an "
                  "exchange", flush=True)  # fmt: skip
            if args.mlagents_python:
                wall, cpu, implementation = theirs(args.mlagents_python, player, args.port + 10, args.steps)
                runs["mlagents_envs"].append((wall, cpu))
                print(f"mlagents_envs (protobuf {implementation}): {wall * 1e6:,.0f} us wall, "
                      f"{cpu * 1e6:,.0f} us CPU an exchange", flush=True)  # fmt: skip
    summary = {}
    for name, measured in runs.items():
        if measured:
            summary[name] = {"wall_us": statistics.median(r[0] for r in measured) * 1e6,
                             "cpu_us": statistics.median(r[1] for r in measured) * 1e6}  # fmt: skip
    for name, values in summary.items():
        print(f"{name}: median {values['wall_us']:,.0f} us wall ({1e6 / values['wall_us']:,.0f} exchanges/s), "
              f"{values['cpu_us']:,.0f} us of the trainer's CPU an exchange")  # fmt: skip
    if len(summary) == 2:
        print(f"the Python side's CPU an exchange: {summary['ours']['cpu_us'] / summary['mlagents_envs']['cpu_us']:.2f}"
              " of mlagents_envs'")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"env": args.env, "copies": args.copies, "steps": args.steps,
                                         "summary": summary, "runs": runs}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
