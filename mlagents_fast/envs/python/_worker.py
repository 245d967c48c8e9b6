"""The worker side of the process stepper: a contiguous chunk of copies over shared memory.

Protocol on the worker's socket (the parent side is `process.py`):
1. the worker builds its copies and sends ("hello", [(specs, agents_per_env) per copy],
   parameter_names),
   or ("error", copy, traceback) if building one failed;
2. the parent answers ("attach", block name, BatchLayout); the worker maps the block,
   builds its row views once and writes the byte READY;
3. then one command byte at a time: STEP, RESET (+ a pickled seed), PARAMETERS (+ pickled
   samplers and base seed), CLOSE. The worker answers READY, or FAILED followed by a pickled
   (copy, what, traceback). Observations never travel over the socket: copies write them
   into the shared block, so a step costs two one-byte messages.
"""

from __future__ import annotations

import os
import signal
import traceback
from multiprocessing.connection import Connection

from mlagents_fast.envs.parameters import EnvironmentParameters
from mlagents_fast.envs.python.env import EnvFactory, PythonEnv
from mlagents_fast.envs.python.layout import BatchLayout
from mlagents_fast.envs.python.shm import attach_block

STEP, RESET, PARAMETERS, CLOSE = b"S", b"R", b"P", b"C"
READY, FAILED = b"K", b"E"


def worker_main(conn: Connection, factory: EnvFactory, first: int, count: int) -> None:
    """Entry point of a worker process running copies [first, first + count)."""
    # Ctrl+C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    copies: list[PythonEnv] = []
    try:
        try:
            for _ in range(count):
                copies.append(factory())
            shapes = [(dict(c.behavior_specs), dict(c.agents_per_env)) for c in copies]
            conn.send(("hello", shapes, _parameter_names(copies[0])))
        except Exception:
            conn.send(("error", first + len(copies), traceback.format_exc()))
            return
        message = conn.recv()
        if message[0] != "attach":
            return
        _, name, layout = message
        _serve(conn, copies, first, name, layout)
    except (EOFError, OSError):
        pass  # the parent went away: nothing left to answer
    finally:
        for copy in copies:
            try:
                copy.close()
            except Exception:
                traceback.print_exc()


def _parameter_names(copy: PythonEnv) -> list[str] | None:
    names = getattr(copy, "parameter_names", None)
    return None if names is None else sorted(str(n) for n in names)


def _serve(conn: Connection, copies: list[PythonEnv], first: int, name: str, layout: BatchLayout) -> None:
    block = attach_block(name)
    arrays = layout.bind(block.buf)
    views = [layout.copy_views(arrays, first + k) for k in range(len(copies))]
    jobs = [(copy, view.actions, view.out) for copy, view in zip(copies, views, strict=True)]
    fd = conn.fileno()
    read, write = os.read, os.write
    write(fd, READY)
    while True:
        command = read(fd, 1)
        k = 0
        try:
            if command == STEP:
                for k, (copy, actions, out) in enumerate(jobs):  # noqa: B007 - k names the failing copy
                    copy.step(actions, out)
            elif command == RESET:
                seed = conn.recv()
                for k, (copy, _, out) in enumerate(jobs):
                    copy.reset(out, None if seed is None else seed + first + k)
            elif command == PARAMETERS:
                samplers, base_seed = conn.recv()
                for k, copy in enumerate(copies):
                    copy.set_parameters(EnvironmentParameters(samplers, base_seed + first + k))
            else:
                return  # CLOSE, or end of file: the parent closed its end
        except Exception as error:
            what = {STEP: "step", RESET: "reset", PARAMETERS: "set_parameters"}[command]
            write(fd, FAILED)
            text = "".join(traceback.format_exception_only(type(error), error)).strip()
            conn.send((first + k, what, text, traceback.format_exc()))
            continue
        write(fd, READY)
