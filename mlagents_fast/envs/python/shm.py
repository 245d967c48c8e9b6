"""Shared-memory blocks for the process stepper, and the guarantee that they are unlinked.

Only the process that creates a block unlinks it. It does so on `close()`, at garbage
collection and interpreter exit (`weakref.finalize`, run by the owner), and on SIGTERM
(a handler installed once in the main thread runs every live owner's cleanup, then lets
the signal do what it did before). Python's resource tracker, which the creator
registers with, is the last resort if the creator is killed outright (SIGKILL).

Worker processes attach without registering with the resource tracker: on Python < 3.13
an attached block is registered like a created one, and a tracker that sees the
attaching process exit then unlinks the block under the creator and warns of a leak.
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import sys
import threading
import weakref
from collections.abc import Callable
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from typing import Any


class SharedBlock(SharedMemory):
    """A shared-memory block whose mapping may outlive `close()` while numpy views of it are alive."""

    _unlinked = False

    def release(self) -> None:
        """Unlink (owner only, once) and unmap; views still alive keep the mapping until they go."""
        if not self._unlinked:
            self._unlinked = True
            try:
                self.unlink()
            except FileNotFoundError:
                pass
        self._close_quietly()

    def _close_quietly(self) -> None:
        try:
            self.close()
        except BufferError:
            pass  # numpy views still export the buffer; the memory is unmapped when they are freed

    def __del__(self) -> None:
        try:
            self._close_quietly()
        except OSError:
            pass


def block_name() -> str:
    # Short (macOS allows 31 characters) and recognisable in /dev/shm.
    return f"mlaf_{os.getpid()}_{secrets.token_hex(4)}"


def create_block(nbytes: int) -> SharedBlock:
    return SharedBlock(name=block_name(), create=True, size=max(nbytes, 1))


def attach_block(name: str) -> SharedBlock:
    """Map an existing block without telling the resource tracker (only the creator cleans up)."""
    if sys.version_info >= (3, 13):
        return SharedBlock(name=name, track=False)  # type: ignore[call-arg, unused-ignore]
    register = resource_tracker.register
    resource_tracker.register = _ignore_registration
    try:
        return SharedBlock(name=name)
    finally:
        resource_tracker.register = register


def _ignore_registration(name: Any, rtype: str) -> None:
    pass


# Cleanups of the live owners in this process, run by the SIGTERM handler. Reentrant: the
# handler runs in the main thread, possibly while that thread holds the lock.
_cleanups: dict[int, weakref.finalize] = {}  # type: ignore[type-arg]
_keys = itertools.count()
_previous_sigterm: Any = None
_installed = False
_lock = threading.RLock()


def guard(owner: object, cleanup: Callable[[], None]) -> weakref.finalize:  # type: ignore[type-arg]
    """Run `cleanup` once: when the returned finalizer is called, when `owner` is collected, at
    interpreter exit, or on SIGTERM. `cleanup` must not refer to `owner`."""
    key = next(_keys)

    def run() -> None:
        with _lock:
            _cleanups.pop(key, None)
        cleanup()

    finalizer = weakref.finalize(owner, run)
    with _lock:
        _cleanups[key] = finalizer
        _install_sigterm_handler()
    return finalizer


def run_all_cleanups() -> None:
    with _lock:
        finalizers = list(_cleanups.values())
    for finalizer in finalizers:
        try:
            finalizer()
        except Exception:  # best effort while the process is being terminated
            pass


def _install_sigterm_handler() -> None:
    global _installed, _previous_sigterm
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_IGN:
        return  # the program chose to survive SIGTERM; respect it
    _previous_sigterm = previous
    signal.signal(signal.SIGTERM, _on_sigterm)
    _installed = True


def _on_sigterm(signum: int, frame: Any) -> None:
    global _installed
    run_all_cleanups()
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    # Default action: restore it and terminate with SIGTERM, so the exit status stays truthful.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _installed = False
    os.kill(os.getpid(), signal.SIGTERM)
