"""The process stepper's workers as the parent sees them: how they start, what they are, how they stop.

`Worker` is one worker process with its socket; `WorkerPool` holds what must be released when
the stepper goes away (the processes and the shared-memory block). Workers start with
'forkserver' where the platform has it, else 'spawn', and the fork server imports the worker's
and the factory's modules once, before it forks the first worker.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from mlagents_fast.envs.python import _worker
from mlagents_fast.envs.python._worker import CLOSE
from mlagents_fast.envs.python.shm import SharedBlock


class WorkerFailure(Exception):
    """A worker died, hung or reported an exception; `reason` says which, for the error message."""

    def __init__(self, reason: str, copy: int | None = None, traceback_text: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.copy = copy
        self.traceback_text = traceback_text


@dataclass
class Worker:
    index: int
    first: int
    count: int
    process: BaseProcess
    conn: Connection
    fd: int
    sentinel: int

    @property
    def copies(self) -> str:
        last = self.first + self.count - 1
        return f"copy {self.first}" if last == self.first else f"copies {self.first}-{last}"

    def exit_reason(self) -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        if code is None:
            return "its process stopped answering"
        if code < 0:
            return f"its process was killed by signal {-code}"
        return f"its process exited with code {code}"


class WorkerPool:
    """What must be released when the stepper goes away; owned by a weakref.finalize, never by the stepper."""

    def __init__(self) -> None:
        self.workers: list[Worker | None] = []
        self.block: SharedBlock | None = None

    def stop(self, worker: Worker, grace_s: float = 1.0) -> None:
        try:
            os.write(worker.fd, CLOSE)
        except OSError:
            pass
        worker.process.join(grace_s)
        _kill(worker.process)
        worker.conn.close()

    def shutdown(self) -> None:
        workers = [w for w in self.workers if w is not None]
        self.workers = []
        for worker in workers:  # ask all first, so they exit in parallel
            try:
                os.write(worker.fd, CLOSE)
            except OSError:
                pass
        deadline = time.monotonic() + 1.0
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            _kill(worker.process)
            worker.conn.close()
        if self.block is not None:
            self.block.release()
            self.block = None


def _kill(process: BaseProcess) -> None:
    if process.is_alive():
        process.terminate()
        process.join(0.5)
    if process.is_alive():
        process.kill()
        process.join()


def default_start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


_preload_set = False


def preload(context: BaseContext, factory: Any) -> None:
    """Ask the fork server, before it first starts, to import the worker and the factory's module
    (besides '__main__', its default): forked workers then start in tens of milliseconds, not
    the half second a fresh import of numpy and the environment takes. Done once per program."""
    global _preload_set
    if _preload_set or context.get_start_method() != "forkserver":
        return
    _preload_set = True
    module = getattr(factory, "__module__", None) or type(factory).__module__
    modules = ["__main__", _worker.__name__] + ([module] if module and module != "__main__" else [])
    context.set_forkserver_preload(modules)


def split(num_envs: int, num_workers: int) -> list[tuple[int, int]]:
    """Contiguous (first, count) chunks whose sizes differ by at most one."""
    base, extra = divmod(num_envs, num_workers)
    chunks, first = [], 0
    for w in range(num_workers):
        count = base + (w < extra)
        chunks.append((first, count))
        first += count
    return chunks
