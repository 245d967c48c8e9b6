"""`num_envs` copies of a Python environment in worker processes, stepped over shared memory.

Every array (observations, rewards, flags, masks *and* actions) lives in one shared-memory
block laid out by `BatchLayout`; each of W workers runs a contiguous chunk of copies that
write their rows in place. A step sends one byte to each worker and waits for one byte
back (a socket per worker, polled together with the workers' process sentinels): nothing
is pickled per step. Raw bytes over a socket measured faster than a pair of semaphores
or pickled Connection messages with 2 workers and tens of microseconds of work per step
(see the benchmark notes in benchmarks/bench_python_envs.py).

Workers start with 'forkserver' where the platform has it, else 'spawn' (never 'fork',
which copies the parent's threads and locks): the factory must be picklable, i.e. a
module-level function or class, or a `functools.partial` / dataclass instance of one.
Ctrl+C reaches the workers too; they ignore it and leave the decision to the parent.

Failures follow ML-Agents' rules for restarting environments. A worker whose process
died, that did not answer within `timeout_s` (ML-Agents' `--timeout-wait`: for its start, a
reset or a step), or one of whose copies raised an exception
(ML-Agents treats an environment's exception as a crash too) is restarted: its copies
are built again and reset, and their slots end the episode with truncated=True, the last
observation they held as terminal_obs and episode_return / episode_length 0 (unknown),
so a trainer bootstraps instead of treating the cut as an ending. A worker may restart at
most `max_lifetime_restarts` times (-1: unlimited) and `restarts_rate_limit_n` times per
`restarts_rate_limit_period_s` seconds (-1: unlimited). Beyond that, or when a restarted
worker fails to start, the step raises EnvError naming the environment, the copy, the
limit hit and the worker's exception, and the environment closes. Restarted copies are
seeded with seed + num_envs * (restarts so far) + copy, so they do not replay the episode
that failed. NaN or inf written by a copy is not a crash: EnvError at once, as in process.

The workers as the parent sees them (start, handles, stop) are in `pool.py`, the restart
limits in `restarts.py` and the worker's side of the protocol in `_worker.py`.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import time
from collections.abc import Mapping
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext
from typing import Any

from mlagents_fast.envs.parameters import Sampler
from mlagents_fast.envs.python import _worker
from mlagents_fast.envs.python._worker import FAILED, PARAMETERS, READY, RESET, STEP
from mlagents_fast.envs.python.env import EnvFactory
from mlagents_fast.envs.python.layout import BatchLayout, fill_agent_ids
from mlagents_fast.envs.python.pool import Worker, WorkerFailure, WorkerPool, default_start_method, preload, split
from mlagents_fast.envs.python.restarts import RestartLimits
from mlagents_fast.envs.python.shm import create_block, guard
from mlagents_fast.envs.python.stepper import RowStepper, check_same_specs, default_name
from mlagents_fast.envs.vector import EnvError


class ProcessVectorEnv(RowStepper):
    """Runs `num_envs` copies built by `factory` in `num_workers` processes (default: one per CPU)."""

    OPTIONS = (
        "num_workers",
        "timeout_s",
        "max_lifetime_restarts",
        "restarts_rate_limit_n",
        "restarts_rate_limit_period_s",
        "start_method",
    )

    def __init__(
        self,
        factory: EnvFactory,
        num_envs: int,
        name: str | None = None,
        *,
        num_workers: int | None = None,
        timeout_s: float = 60.0,
        max_lifetime_restarts: int = 10,
        restarts_rate_limit_n: int = 1,
        restarts_rate_limit_period_s: float = 60.0,
        start_method: str | None = None,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1; got {num_envs}.")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be a positive number of seconds; got {timeout_s}.")
        count = max(1, min(num_envs, num_workers or os.cpu_count() or 1))
        self._restarts = RestartLimits(
            count, max_lifetime_restarts, restarts_rate_limit_n, restarts_rate_limit_period_s
        )
        self.name = name or default_name(factory)
        self._factory = factory
        self._timeout_s = float(timeout_s)
        self._context: BaseContext = multiprocessing.get_context(start_method or default_start_method())
        preload(self._context, factory)
        self._pool = WorkerPool()
        self._closed = False
        self._finalizer = guard(self, self._pool.shutdown)
        self._chunks = split(num_envs, count)
        self._parameters: tuple[dict[str, Sampler], int] | None = None
        self._poller = select.poll()
        self._workers: tuple[Worker, ...] = ()
        self._owner: dict[int, int] = {}
        self._block_names: list[str] = []
        try:
            self._start(num_envs)
        except BaseException:
            self.close()
            raise

    # ----- start-up

    def _start(self, num_envs: int) -> None:
        self._pool.workers = [None] * len(self._chunks)
        for index in range(len(self._chunks)):
            self._set_worker(index, self._spawn(index))
        hellos = [self._hello(worker) for worker in self._live_workers()]
        shapes = [shape for hello in hellos for shape in hello[1]]
        for copy, shape in enumerate(shapes[1:], 1):
            check_same_specs(self.name, shapes[0], shape, copy)
        self._parameter_names = hellos[0][2]
        layout = BatchLayout(shapes[0][0], shapes[0][1], num_envs)
        block = create_block(layout.nbytes)
        self._pool.block = block
        arrays = layout.bind(block.buf)
        fill_agent_ids(arrays)
        self._bind(self.name, layout, arrays)
        self._block_names.append(block.name)
        for worker in self._live_workers():
            try:
                self._attach(worker)
            except WorkerFailure as failure:
                raise EnvError(
                    f"Environment {self.name!r}: worker {worker.index} ({worker.copies}) failed to start: "
                    f"{failure.reason}."
                ) from None

    def _spawn(self, index: int) -> Worker:
        first, count = self._chunks[index]
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(  # type: ignore[attr-defined]
            target=_worker.worker_main,
            args=(child_end, self._factory, first, count),
            name=f"{self.name}-worker-{index}",
            daemon=True,
        )
        process.start()
        child_end.close()  # so the parent sees end-of-file when the worker dies
        worker = Worker(index, first, count, process, parent_end, parent_end.fileno(), process.sentinel)
        for fd in (worker.fd, worker.sentinel):
            self._poller.register(fd, select.POLLIN)
            self._owner[fd] = index
        return worker

    def _hello(self, worker: Worker) -> Any:
        message = self._receive(worker)
        if message[0] == "error":
            _, copy, text = message
            raise EnvError(
                f"Environment {self.name!r}, copy {copy}: building it in worker {worker.index} failed:\n{text}"
            )
        return message

    def _attach(self, worker: Worker) -> None:
        assert self._pool.block is not None
        try:
            worker.conn.send(("attach", self._pool.block.name, self._layout))
        except OSError:
            raise WorkerFailure(worker.exit_reason()) from None
        self._await(worker)

    def _receive(self, worker: Worker) -> Any:
        """One pickled message from `worker`, or EnvError if it dies or stays silent for timeout_s."""
        ready = wait([worker.conn, worker.sentinel], self._timeout_s)
        if worker.conn in ready:
            try:
                return worker.conn.recv()
            except (EOFError, OSError):
                pass
        reason = worker.exit_reason() if ready else f"it did not answer within {self._timeout_s:g} s"
        raise EnvError(f"Environment {self.name!r}: worker {worker.index} ({worker.copies}) failed to start: {reason}.")

    def _await(self, worker: Worker) -> None:
        """Wait for one worker's READY (used outside the hot path); WorkerFailure otherwise."""
        failures: dict[int, WorkerFailure] = {}
        self._collect((worker,), failures)
        if failures:
            raise failures[worker.index]

    # ----- the VectorEnv interface

    def reset(self, seed: int | None = None) -> None:
        self._check_open()
        self._remember_seed(seed)
        self._run(RESET, seed)
        self._check_outputs()

    def step(self) -> None:
        self._check_open()
        self._before_step()
        self._run(STEP, None)
        self._check_outputs()

    def set_parameters(self, parameters: Mapping[str, Any]) -> None:
        self._check_open()
        known = None if self._parameter_names is None else set(self._parameter_names)
        self._parameters = (self._parse_parameters(parameters, known), self._seed or 0)
        self._run(PARAMETERS, self._parameters)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._finalizer()

    @property
    def shared_memory_names(self) -> list[str]:
        """Names of the shared-memory blocks this stepper created (in /dev/shm on Linux until closed)."""
        return list(self._block_names)

    @property
    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._live_workers() if w.process.pid is not None]

    @property
    def num_workers(self) -> int:
        return len(self._chunks)

    # ----- commands and failures

    def _live_workers(self) -> list[Worker]:
        return [w for w in self._pool.workers if w is not None]

    def _set_worker(self, index: int, worker: Worker | None) -> None:
        self._pool.workers[index] = worker
        self._workers = tuple(self._live_workers())  # what a step iterates over

    def _check_open(self) -> None:
        if self._closed:
            raise EnvError(f"Environment {self.name!r} is closed.")

    def _run(self, command: bytes, payload: Any) -> None:
        """Send `command` to every worker, wait for all, restart the ones that failed."""
        try:
            workers = self._workers
            failures: dict[int, WorkerFailure] = {}
            write = os.write
            for worker in workers:
                try:
                    write(worker.fd, command)
                    if command != STEP:
                        worker.conn.send(payload)
                except OSError:
                    failures[worker.index] = WorkerFailure(worker.exit_reason())
            self._collect(workers, failures)
            for index, failure in sorted(failures.items()):
                self._restart(index, failure, ended_episodes=command == STEP)
        except BaseException:
            # Ctrl+C, a restart beyond the limits, or any other surprise: the workers' state is
            # unknown, so nothing more can be stepped. Release processes and shared memory now.
            self.close()
            raise

    def _collect(self, workers: tuple[Worker, ...], failures: dict[int, WorkerFailure]) -> None:
        """Wait for READY from each of `workers` not in `failures`; add the ones that fail to it.

        The hot path of every step: one poll, one read per worker."""
        pending = {w.index: w for w in workers if w.index not in failures}
        deadline = time.monotonic() + self._timeout_s
        poll, owner, read = self._poller.poll, self._owner, os.read
        timeout_ms = self._timeout_s * 1000.0
        while pending:
            events = poll(timeout_ms)
            for fd, _ in events:
                waited = pending.get(owner.get(fd, -1))
                if waited is None:
                    # The exit of a worker that already answered: its next command reports it. Its
                    # sentinel stays readable, so this loop may spin until the others answer.
                    continue
                if fd == waited.fd:
                    try:
                        answer = read(fd, 1)
                    except OSError:  # reset by a worker that died
                        answer = b""
                    if answer != READY:
                        failures[waited.index] = self._failure(waited, answer)
                elif waited.conn.poll(0):
                    continue  # exited, but its answer is readable too: read it via the socket
                else:
                    failures[waited.index] = WorkerFailure(waited.exit_reason())
                del pending[waited.index]
            remaining_s = deadline - time.monotonic()
            if pending and remaining_s <= 0:
                for index in pending:
                    failures[index] = WorkerFailure(f"it did not answer within {self._timeout_s:g} s")
                return
            timeout_ms = remaining_s * 1000.0

    def _failure(self, worker: Worker, answer: bytes) -> WorkerFailure:
        """What a worker's answer other than READY means: an exception report, or its death."""
        if answer == FAILED:
            try:
                copy, what, text, details = worker.conn.recv()
                return WorkerFailure(f"{what} of copy {copy} raised {text}", copy, details)
            except (EOFError, OSError):
                pass
        return WorkerFailure(worker.exit_reason())

    def _restart(self, index: int, failure: WorkerFailure, ended_episodes: bool) -> None:
        old = self._pool.workers[index]
        assert old is not None
        where = f"copy {failure.copy}" if failure.copy is not None else old.copies
        described = f"Environment {self.name!r}, {where} (worker {index}): {failure.reason}"
        if failure.traceback_text:
            described += f"\n{failure.traceback_text.rstrip()}"
        limit = self._restarts.reached(index)
        if limit is not None:
            raise EnvError(f"{described}\nThe worker may not restart: {limit}.")
        self._restarts.record(index)
        self._set_worker(index, None)
        for fd in (old.fd, old.sentinel):
            self._poller.unregister(fd)
            self._owner.pop(fd, None)
        self._pool.stop(old, grace_s=0.5)  # a live worker exits at once on CLOSE; a hung one is killed
        rows = {name: slice(old.first * k, (old.first + old.count) * k) for name, k in self.agents_per_env.items()}
        if ended_episodes:
            for name, batch in self._arrays.batches.items():
                for obs, terminal in zip(batch.obs, batch.terminal_obs, strict=True):
                    terminal[rows[name]] = obs[rows[name]]
        try:
            worker = self._spawn(index)
            self._set_worker(index, worker)
            hello = self._hello(worker)
            for copy, shape in enumerate(hello[1], worker.first):
                check_same_specs(self.name, (self.behavior_specs, self.agents_per_env), shape, copy)
            self._attach(worker)
            if self._parameters is not None:
                self._send(worker, PARAMETERS, self._parameters)
            seed = None if self._seed is None else self._seed + self.num_envs * self._restarts.total
            self._send(worker, RESET, seed)
        except WorkerFailure as again:
            raise EnvError(f"{described}\nRestarting the worker failed too: {again.reason}.") from None
        if ended_episodes:
            for name, batch in self._arrays.batches.items():
                batch.truncated[rows[name]] = True
                batch.terminated[rows[name]] = False
                batch.reward[rows[name]] = 0.0
                batch.episode_return[rows[name]] = 0.0
                batch.episode_length[rows[name]] = 0

    def _send(self, worker: Worker, command: bytes, payload: Any) -> None:
        try:
            os.write(worker.fd, command)
            worker.conn.send(payload)
        except OSError:
            raise WorkerFailure(worker.exit_reason()) from None
        self._await(worker)
