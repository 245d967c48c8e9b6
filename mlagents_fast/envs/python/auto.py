"""Choosing between the in-process and the process stepper from the cost of one copy's step.

Model, from timings of no-op and busy-wait copies on a 2-core machine (8 copies; see
benchmarks/bench_python_envs.py): a step of the process stepper costs a fixed
synchronisation overhead of about 14 us + 12 us per worker, plus the copies of the
busiest worker; in-process, the copies one after another. Processes also cost start-up
time and memory, so they are chosen only when the model predicts them 1.5x faster.

For 8 copies on 2 workers that means processes from about 30 us per copy step. Measured
there (two runs, the machine shared with other jobs): at 10 us a copy step in-process
took 88-90 us a step against 95-131 us with processes; at 20 us they were even (167-174
against 159-208 us); at 50 us processes were 1.6x faster and at 100-200 us 1.8x. A flat
threshold of a few hundred microseconds would leave most of that gain unused. With one
worker (one CPU) the process stepper never wins.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any

import numpy as np

from mlagents_fast.envs.python.env import EnvFactory
from mlagents_fast.envs.python.layout import BatchLayout, allocate_local
from mlagents_fast.envs.python.stepper import RowStepper

PROCESS_OVERHEAD_S = 14e-6
PROCESS_OVERHEAD_PER_WORKER_S = 12e-6
PROCESS_MARGIN = 1.5
MODES = ("auto", "inprocess", "process")
logger = logging.getLogger(__name__)


def measure_step_s(factory: EnvFactory, max_steps: int = 200, budget_s: float = 0.25, seed: int = 0) -> float:
    """Median seconds one copy takes per step on random actions (at most `max_steps` or about `budget_s`)."""
    copy = factory()
    try:
        layout = BatchLayout(copy.behavior_specs, copy.agents_per_env, 1)
        _, arrays = allocate_local(layout)
        views = layout.copy_views(arrays, 0)
        copy.reset(views.out, seed)
        rng = np.random.default_rng(seed)
        times: list[float] = []
        spent = 0.0
        while len(times) < max_steps and (spent < budget_s or len(times) < 5):
            for name, spec in layout.specs.items():
                sample = spec.action_spec.random_action(layout.agents_per_env[name], rng)
                views.actions[name].continuous[:] = sample.continuous
                views.actions[name].discrete[:] = sample.discrete
            start = time.perf_counter()
            copy.step(views.actions, views.out)
            times.append(time.perf_counter() - start)
            spent += times[-1]
        return float(np.median(times[len(times) // 4 :]))  # the first steps warm caches up
    finally:
        copy.close()


def prefer_processes(step_s: float, num_envs: int, num_workers: int) -> bool:
    """Whether the model predicts the process stepper PROCESS_MARGIN times faster than in-process."""
    in_process = num_envs * step_s
    processes = (
        PROCESS_OVERHEAD_S + PROCESS_OVERHEAD_PER_WORKER_S * num_workers + math.ceil(num_envs / num_workers) * step_s
    )
    return num_workers > 1 and PROCESS_MARGIN * processes < in_process


def make_stepper(
    factory: EnvFactory, num_envs: int, mode: str = "auto", name: str | None = None, **process_options: Any
) -> RowStepper:
    """An InProcessVectorEnv or a ProcessVectorEnv for `factory`; "auto" times one copy to choose.

    `process_options` are ProcessVectorEnv's (`num_workers`, `timeout_s` (ML-Agents' timeout_wait),
    `max_lifetime_restarts`, `restarts_rate_limit_n`, `restarts_rate_limit_period_s`,
    `start_method`): they are checked whichever stepper is chosen and used by the process one
    (in-process, a copy's exception ends the step at once: there is no worker to restart)."""
    from mlagents_fast.envs.python.inprocess import InProcessVectorEnv
    from mlagents_fast.envs.python.process import ProcessVectorEnv

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}; got {mode!r}.")
    unknown = sorted(set(process_options) - set(ProcessVectorEnv.OPTIONS))
    if unknown:
        raise TypeError(
            f"make_stepper got unknown process option(s) {', '.join(unknown)}; expected "
            f"{', '.join(ProcessVectorEnv.OPTIONS)}."
        )
    if mode == "auto":
        workers = max(1, min(num_envs, process_options.get("num_workers") or os.cpu_count() or 1))
        mode = "process" if prefer_processes(measure_step_s(factory), num_envs, workers) else "inprocess"
    where = "in this process" if mode == "inprocess" else "in worker processes"
    logger.debug(f"{name or factory!r}: {num_envs} copies stepped {where}.")
    if mode == "inprocess":
        return InProcessVectorEnv(factory, num_envs, name=name)
    return ProcessVectorEnv(factory, num_envs, name=name, **process_options)
