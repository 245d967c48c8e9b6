"""Shared pieces of the end-to-end training benchmarks (scripts, not pytest).

`train_ours` runs PPOTrainer on a native environment the way `mlagents-learn` would
(act before the step, record after), keeps the last 100 episode returns, and notes the
wall time and agent-steps at which their mean first reaches each milestone.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from machine import cpu_model, load_1min

from mlagents_fast.config.loader import load_run_options
from mlagents_fast.envs.registry import make
from mlagents_fast.trainers.ppo import PPOTrainer

ROOT = Path(__file__).resolve().parent.parent
WINDOW = 100  # episodes in the moving mean, as rl-zoo and SB3's ep_info_buffer


def reaches(mean: float, threshold: float) -> bool:
    """`mean >= threshold`, forgiving float32 rounding: Basic's 0.93 is its optimum (every
    episode -0.01 x 7 + 1), and float32 sums of such returns may land a hair under it."""
    return mean >= threshold - 1e-6 * max(1.0, abs(threshold))


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_1min": load_1min(),
    }


def machine_line() -> str:
    m = machine()
    return (
        f"machine: nproc={m['nproc']}, CPU {m['cpu_model']}, Python {m['python']}, numpy {m['numpy']}, "
        f"torch {m['torch']} on {m['torch_threads']} thread(s), 1-min load {m['load_1min']}"
    )


def timed_training(trainer: PPOTrainer, env: Any, behavior: str, steps: int) -> float:
    """Wall seconds of `trainer` acting and learning on `env` until `steps` agent-steps (the
    trainer closed, so a threaded update in flight is counted)."""
    batch, actions = env.batch(behavior), env.actions(behavior)
    started = time.perf_counter()
    while trainer.step < steps:
        trainer.act(batch, actions)
        env.step()
        trainer.record(batch)
    trainer.close()
    return time.perf_counter() - started


def interleaved_rates(
    variants: tuple[str, str], repeats: int, rate: Callable[[str, int], float]
) -> tuple[float, float, dict[str, list[float]]]:
    """A/B rates measured in turn, `repeats` times (repeat r seeded 1 + r), printed as they come:
    (median of the first, median of the second, every run by variant)."""
    runs: dict[str, list[float]] = {name: [] for name in variants}
    for repeat in range(repeats):
        for name in variants:
            runs[name].append(rate(name, 1 + repeat))
            print(f"{name}: {runs[name][-1]:,.0f} agent-steps/s", flush=True)
    return statistics.median(runs[variants[0]]), statistics.median(runs[variants[1]]), runs


def shipped_settings(env_name: str) -> Any:
    """The behavior settings of config/ppo/<env_name>.yaml, strictly loaded."""
    options = load_run_options(ROOT / "config" / "ppo" / f"{env_name}.yaml")
    return options.behaviors[env_name]


@dataclass
class TrainingRun:
    """What one training run reached; times are seconds of the training loop only."""

    env: str
    seed: int
    num_envs: int
    agents: int
    setup_s: float  # environment and trainer construction, not in wall_s
    wall_s: float = 0.0
    steps: int = 0
    episodes: int = 0
    network_s: float = 0.0  # PPOTrainer.network_seconds: forward and backward passes
    outside_share: float = 0.0  # 1 - network_s / wall_s
    gradient_steps: int = 0  # PPOTrainer.gradient_steps: minibatch steps taken
    best_mean: float = float("-inf")  # best mean of a full window of WINDOW episodes
    final_mean: float = float("nan")
    reached: bool = False  # the stop threshold was reached
    stopped_by: str = ""  # "threshold", "max_steps" or "max_seconds"
    # milestone -> [wall seconds, agent-steps] when the windowed mean first reached it
    milestones: dict[str, list[float]] = field(default_factory=dict)
    # [wall seconds, agent-steps] when the mean of the episodes that ended within one
    # summary_freq period (what ML-Agents prints as "Mean Reward") first reached stop_at
    summary_period_hit: list[float] | None = None
    best_summary_period_mean: float = float("-inf")
    # After training: the deterministic policy (means of the action distribution, no updates)
    # over the first `eval_episodes` episodes that start after training stopped.
    eval_episodes: int = 0
    eval_mean: float = float("nan")
    eval_min: float = float("nan")
    load_1min_after: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def train_ours(
    env_name: str,
    settings: Any,
    *,
    num_envs: int,
    seed: int,
    milestones: list[float],
    stop_at: float | None,
    max_steps: int | None = None,
    max_seconds: float = float("inf"),
    instrument: Callable[[PPOTrainer, Any], None] | None = None,
    eval_episodes: int = 0,
) -> TrainingRun:
    """Train until the mean of the last WINDOW returns reaches `stop_at` (None: never stop early),
    `max_steps` agent-steps (default: the config's) or `max_seconds` of wall time.

    The mean is judged only on a full window, so a lucky first few episodes do not count.
    `instrument(trainer, env)` may wrap their methods before the loop (profile_training.py).
    With `eval_episodes`, the trained policy then plays that many whole episodes deterministically
    (outside the timed loop).
    """
    started = time.perf_counter()
    env = make(env_name, num_envs, seed=seed)
    (behavior,) = env.behavior_specs
    agents = env.num_agents(behavior)
    trainer = PPOTrainer(behavior, env.behavior_specs[behavior], settings, agents, seed=seed)
    run = TrainingRun(env_name, seed, num_envs, agents, setup_s=time.perf_counter() - started)
    if instrument is not None:
        instrument(trainer, env)
    limit = int(settings.max_steps) if max_steps is None else max_steps
    pending = sorted(milestones)
    window: deque[float] = deque(maxlen=WINDOW)
    period = int(settings.summary_freq)  # ML-Agents' console summary
    period_returns: list[float] = []
    next_summary = period
    batch, actions = env.batch(behavior), env.actions(behavior)
    mean = float("nan")
    started = time.perf_counter()
    while True:
        trainer.act(batch, actions)
        env.step()
        trainer.record(batch)
        done = batch.terminated | batch.truncated
        if np.count_nonzero(done):  # (a quarter of any()'s call cost, every step)
            returns = batch.episode_return[done].tolist()
            run.episodes += len(returns)
            window.extend(returns)
            period_returns += returns
            if len(window) == WINDOW:
                mean = sum(window) / WINDOW
                run.best_mean = max(run.best_mean, mean)
                while pending and reaches(mean, pending[0]):
                    run.milestones[f"{pending.pop(0):g}"] = [time.perf_counter() - started, trainer.step]
                if stop_at is not None and reaches(mean, stop_at):
                    run.reached, run.stopped_by = True, "threshold"
                    break
        if trainer.step >= next_summary:
            next_summary += period
            if period_returns:
                period_mean = sum(period_returns) / len(period_returns)
                run.best_summary_period_mean = max(run.best_summary_period_mean, period_mean)
                if stop_at is not None and reaches(period_mean, stop_at) and run.summary_period_hit is None:
                    run.summary_period_hit = [time.perf_counter() - started, trainer.step]
            period_returns = []
        if trainer.step >= limit:
            run.stopped_by = "max_steps"
            break
        if time.perf_counter() - started >= max_seconds:
            run.stopped_by = "max_seconds"
            break
    run.wall_s = time.perf_counter() - started
    run.steps = trainer.step
    run.network_s = trainer.network_seconds
    run.outside_share = 1.0 - trainer.network_seconds / run.wall_s
    run.gradient_steps = trainer.gradient_steps
    run.final_mean = mean
    if eval_episodes:
        evaluate(trainer, env, behavior, eval_episodes, run)
    run.load_1min_after = load_1min()
    return run


def evaluate(trainer: PPOTrainer, env: Any, behavior: str, episodes: int, run: TrainingRun) -> None:
    """Play the trained policy deterministically, without updates, and record the returns of the
    first `episodes` episodes that start after this call (the ones under way are not counted)."""
    trainer.wait_for_update()
    trainer.training, trainer.deterministic = False, True
    batch, actions = env.batch(behavior), env.actions(behavior)
    fresh = np.zeros(env.num_agents(behavior), bool)  # the agent's episode began in the evaluation
    returns: list[float] = []
    while len(returns) < episodes:
        trainer.act(batch, actions)
        env.step()
        trainer.record(batch)
        done = batch.terminated | batch.truncated
        if np.count_nonzero(done):
            returns += batch.episode_return[done & fresh].tolist()
            fresh |= done
    run.eval_episodes = episodes
    run.eval_mean = float(np.mean(returns[:episodes]))
    run.eval_min = float(np.min(returns[:episodes]))


def median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")
