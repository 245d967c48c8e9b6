"""Where a training run's wall time goes, from py-spy's raw (collapsed-stack) output.

    # 1. train a fixed number of agent-steps under py-spy (one thread, nothing else running):
    py-spy record -f raw -r 250 -o /tmp/cartpole.txt -- \
        python benchmarks/profile_training.py run --env CartPole --steps 61440
    # 2. bucket the samples:
    python benchmarks/profile_training.py breakdown /tmp/cartpole.txt

`run` trains with the shipped config (config/ppo/<Env>.yaml) as time_to_threshold.py does,
without stopping at a threshold. `breakdown` puts every sample in one bucket, chosen by the
innermost frame of the stack that names one (torch's optimizer, autograd's backward, the
networks' forward, the trainer's methods, the environment), so a torch operator counts
where it was called from. Add --native to py-spy to see C++ frames; the buckets stay the same.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def frame(functions: str, files: str) -> re.Pattern[str]:
    """A pattern for py-spy's frame text "[Class.]function (path/file.py:line)"."""
    return re.compile(rf"^(\w+\.)?({functions}) \(.*({files})[^/]*:\d+\)$")


# Checked from the leaf of each stack upwards: the first frame that matches a pattern decides
# the bucket (patterns tried in this order on that frame), so a torch operator counts where
# it was called from.
FRAME_BUCKETS: list[tuple[str, re.Pattern[str]]] = [
    (
        "update: bodies backward (fused)",
        frame("backward|run_backward|_swish_backward", r"trainers/fused_bodies\.py"),
    ),
    ("update: optimizer step (FlatAdam)", frame("step", r"trainers/flat_adam\.py")),
    ("update: zero_grad", frame("zero_grad", r"torch/optim/")),
    ("update: optimizer step (Adam)", re.compile(r"\(torch/optim/")),
    ("update: backward", frame("backward|_engine_run_backward", r"torch/_tensor\.py|torch/autograd/")),
    ("update: gather minibatch", frame("gather|index|_typed", r"trainers/ppo/minibatch\.py|buffer/gather\.py")),
    ("update: value re-estimation", frame("estimate|critic_values|critic_on", r"trainers/ppo/values\.py")),
    ("update: heads and loss (fused)", frame("_ppo_step_native|ppo_step", r"trainers/ppo/fused/actor_critic\.py")),
    ("update: forward (actor.evaluate, critic)", frame("evaluate|forward|_call_impl|_wrapped_call_impl", ".")),
    ("update: losses and glue", frame("__call__", r"trainers/ppo/gradient_step\.py")),
    ("update: GAE, shuffle, schedules, stats", frame("__call__", r"trainers/ppo/update\.py")),
    ("act: forward (critic + actor, inference)", frame("_forward", r"trainers/ppo/trainer\.py")),
    ("act: normalizers", frame("update|push_into", r"ops/normalize\.py|networks/observation_normalizer\.py")),
    ("act: glue (tensors in, numpy out, buffer writes)", frame("act", r"trainers/ppo/trainer\.py")),
    (
        "record: truncated-episode values, rewards, ends, stats",
        frame("record|end_step", r"trainers/ppo/trainer\.py|buffer/rollout_ring\.py"),
    ),
    ("env step (native)", frame("step", r"envs/native/env\.py")),
    ("training loop glue", frame("train_ours", r"training_common\.py")),
]
OTHER = "other (imports, setup, interpreter)"
SETUP = frame("__init__", r"trainers/ppo/trainer\.py")
UPDATE_STEP = frame("__call__", r"trainers/ppo/gradient_step\.py")
LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")


def bucket_of(frames: list[str]) -> str:
    """The bucket of one stack, frames from the root to the leaf."""
    if any(SETUP.search(f) for f in frames):
        return OTHER  # building the trainer (Adam imports torch._dynamo lazily: ~1 s)
    in_update = any(UPDATE_STEP.search(f) for f in frames)
    for frame in reversed(frames):
        for name, pattern in FRAME_BUCKETS:
            if not pattern.search(frame):
                continue
            if name.startswith("update: forward") and not in_update:
                break  # a module call outside the update: let an outer frame (act, record) decide
            return name
    return OTHER


def breakdown(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for raw in path.read_text().splitlines():
        match = LINE.match(raw.strip())
        if match:
            counts[bucket_of(match["stack"].split(";"))] += int(match["count"])
    return counts


def print_breakdown(counts: Counter[str]) -> None:
    total = sum(counts.values())
    inside_loop = total - counts[OTHER]
    print(f"{total} samples, {inside_loop} inside the training loop; shares of the loop:")
    for name, count in counts.most_common():
        if name == OTHER:
            continue
        print(f"  {count / inside_loop:6.1%}  {name}")
    print(f"  (outside the loop: {counts[OTHER] / total:.1%} of all samples)")


class Timers:
    """Wall seconds inside chosen callables of one trainer, measured around each call.

    A cross-check of the sampled profile: py-spy attributes a sample to the Python frame
    that is running, and at ~250 Hz a short call such as Adam's step can be over- or
    under-counted; these timers add about a microsecond per call instead.
    """

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.in_update = False

    def wrap(self, owner: Any, attribute: str, key: str | Callable[[], str]) -> None:
        inner = getattr(owner, attribute)

        @functools.wraps(inner)
        def timed(*args: Any, **kwargs: Any) -> Any:
            name = key if isinstance(key, str) else key()
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        setattr(owner, attribute, timed)

    def instrument(self, trainer: Any, env: Any) -> None:
        import torch

        def where() -> str:
            return "update" if self.in_update else "act/record"

        self.wrap(env, "step", "env.step")
        self.wrap(trainer, "act", "trainer.act (incl. update)")
        self.wrap(trainer, "record", "trainer.record")
        self.wrap(trainer, "_forward", "act: _forward (critic + actor, inference)")
        self.wrap(trainer, "_process_ready_trajectories", "update (incl.)")
        self.wrap(trainer.values, "estimate", "update: value re-estimation (values, bootstraps)")
        self.wrap(trainer.optimizer, "step", "update: optimizer.step")
        self.wrap(trainer.actor, "evaluate", lambda: f"{where()}: actor.evaluate")
        self.wrap(trainer.critic, "forward", lambda: f"{where()}: critic.forward")
        self.wrap(torch.Tensor, "backward", "update: loss.backward")
        step = trainer.paths.step
        if trainer.paths.fused:  # all-vector MLPs: the hand-written backward, no autograd
            bodies = step.fused.bodies
            self.wrap(bodies, "forward", lambda: f"{where()}: bodies forward (actor + critic MLPs)")
            self.wrap(bodies, "backward", "update: bodies backward")
            self.wrap(step.fused, "ppo_step", "update: fused ppo_step (forward, heads + loss, backward)")
        inner_step = trainer.update.gradient_step

        def gradient_step(*args: Any) -> Any:
            self.in_update = True
            try:
                return inner_step(*args)
            finally:
                self.in_update = False

        trainer.update.gradient_step = gradient_step
        self.wrap(trainer.update, "gradient_step", "update: gradient step (incl.)")
        source = trainer.update.minibatches
        inner_source = source.for_rows

        def for_rows(rows: Any) -> Any:
            keys, fetch = inner_source(rows)

            def gather(order: Any) -> Any:
                started = time.perf_counter()
                try:
                    return fetch(order)
                finally:
                    self.seconds["update: gather minibatch"] += time.perf_counter() - started
                    self.calls["update: gather minibatch"] += 1

            return keys, gather

        source.for_rows = for_rows

    def report(self, wall: float) -> None:
        print(f"timers over {wall:.2f} s of training loop (inclusive times; share of the loop):")
        for name, seconds in sorted(self.seconds.items(), key=lambda item: -item[1]):
            per_call = seconds / self.calls[name] * 1e6
            print(f"  {seconds:7.2f} s {seconds / wall:6.1%}  {self.calls[name]:>7} calls {per_call:8.1f} us  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train for a fixed number of agent-steps")
    run.add_argument("--env", default="CartPole")
    run.add_argument("--steps", type=int, default=240 * 256)
    run.add_argument("--num-envs", type=int, help="default: 8 for CartPole, 1 otherwise")
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--timers", action="store_true", help="time the trainer's parts around each call")
    show = commands.add_parser("breakdown", help="bucket py-spy's raw output")
    show.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "breakdown":
        print_breakdown(breakdown(args.file))
        return 0
    import torch
    from training_common import machine_line, shipped_settings, train_ours

    torch.set_num_threads(1)
    num_envs = args.num_envs or (8 if args.env == "CartPole" else 1)
    timers = Timers() if args.timers else None
    result = train_ours(args.env, shipped_settings(args.env), num_envs=num_envs, seed=args.seed, milestones=[],
                        stop_at=None, max_steps=args.steps,
                        instrument=timers.instrument if timers else None)  # fmt: skip
    print(machine_line())
    print(result.to_json())
    if timers:
        timers.report(result.wall_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
