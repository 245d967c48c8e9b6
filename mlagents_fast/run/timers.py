"""Hierarchical timers and gauges, written to ``run_logs/timers.json`` in ML-Agents' format.

Usage::

    with hierarchical_timer("env_step"):
        ...

    @timed
    def update_policy(...): ...

Nested timers form a tree keyed by name; a block reached through different parents is counted
separately under each. Each thread has its own stack, so trainer threads never contend; the
main thread merges them with :func:`merge_thread_timers` before writing.

Cost: entering and leaving one timer costs about half a microsecond in CPython (an object,
two ``perf_counter`` calls, dict lookups, a list push/pop). That is negligible around coarse
blocks (a vectorised step of many environments, a policy update, a checkpoint) but not around
per-agent or per-element work: put timers around batches, never inside inner loops.
``tests/run/test_timers.py`` keeps the per-use cost under a bound.

Output format (ML-Agents ``timer_format_version`` 0.1.0): every node is
``{"total", "count", "self"}`` plus ``"children"`` when it has any and ``"is_parallel": true``
when it was merged from another thread or process; the root also has ``"name": "root"``,
``"gauges"`` (``{name: {value, min, max, count}}``) and ``"metadata"`` (strings).
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from mlagents_fast import __version__
from mlagents_fast.run._atomic import atomic_write_text

__all__ = [
    "TIMER_FORMAT_VERSION",
    "GaugeNode",
    "TimerNode",
    "TimerStack",
    "add_metadata",
    "add_version_metadata",
    "get_timer_root",
    "get_timer_stack_for_thread",
    "get_timer_tree",
    "hierarchical_timer",
    "merge_gauges",
    "merge_thread_timers",
    "reset_timers",
    "set_gauge",
    "timed",
    "write_timing_tree",
]

TIMER_FORMAT_VERSION = "0.1.0"
TIMERS_FILE_NAME = "timers.json"

_perf_counter = time.perf_counter


class TimerNode:
    """Time spent in one block; the node's name is its key in the parent's ``children``."""

    __slots__ = ("children", "count", "is_parallel", "total")

    def __init__(self) -> None:
        self.children: dict[str, TimerNode] = {}
        self.total = 0.0
        self.count = 0
        self.is_parallel = False

    def get_child(self, name: str) -> TimerNode:
        child = self.children.get(name)
        if child is None:
            child = self.children[name] = TimerNode()
        return child

    def add_time(self, elapsed: float) -> None:
        self.total += elapsed
        self.count += 1

    def merge(self, other: TimerNode, root_name: str | None = None, is_parallel: bool = True) -> None:
        """Add ``other``'s times into this node (or into its child ``root_name``), recursively."""
        node = self.get_child(root_name) if root_name else self
        node.total += other.total
        node.count += other.count
        node.is_parallel |= is_parallel
        for name, other_child in other.children.items():
            node.get_child(name).merge(other_child, is_parallel=is_parallel)


class GaugeNode:
    """Latest value of a metric, with its min, max and number of updates (a statsd gauge)."""

    __slots__ = ("_timestamp", "count", "max_value", "min_value", "value")

    def __init__(self, value: float) -> None:
        self.value = value
        self.min_value = value
        self.max_value = value
        self.count = 1
        self._timestamp = time.time()  # decides which value wins when gauges are merged

    def update(self, value: float) -> None:
        self.value = value
        self.min_value = min(self.min_value, value)
        self.max_value = max(self.max_value, value)
        self.count += 1
        self._timestamp = time.time()

    def merge(self, other: GaugeNode) -> None:
        if other._timestamp > self._timestamp:
            self.value = other.value
            self._timestamp = other._timestamp
        self.min_value = min(self.min_value, other.min_value)
        self.max_value = max(self.max_value, other.max_value)
        self.count += other.count

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "min": self.min_value, "max": self.max_value, "count": self.count}


class TimerStack:
    """The timer tree, the stack of open blocks, the gauges and the metadata of one thread."""

    __slots__ = ("gauges", "metadata", "root", "stack", "start_time")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.root = TimerNode()
        self.stack: list[TimerNode] = [self.root]
        self.start_time = _perf_counter()
        self.gauges: dict[str, GaugeNode] = {}
        self.metadata: dict[str, str] = {
            "timer_format_version": TIMER_FORMAT_VERSION,
            "start_time_seconds": str(int(time.time())),
            "python_version": sys.version,
            "command_line_arguments": " ".join(sys.argv),
        }

    def push(self, name: str) -> TimerNode:
        node = self.stack[-1].get_child(name)
        self.stack.append(node)
        return node

    def pop(self) -> None:
        self.stack.pop()

    def get_root(self) -> TimerNode:
        """The root, whose total is the wall time since the stack was created and count is 1."""
        self.root.total = _perf_counter() - self.start_time
        self.root.count = 1
        return self.root

    def get_timing_tree(self) -> dict[str, Any]:
        res: dict[str, Any] = {"name": "root"}
        if self.gauges:
            res["gauges"] = {name: gauge.as_dict() for name, gauge in self.gauges.items()}
        if self.metadata:
            self.metadata["end_time_seconds"] = str(int(time.time()))
            res["metadata"] = dict(self.metadata)
        res.update(_node_tree(self.get_root()))
        return res

    def set_gauge(self, name: str, value: float) -> None:
        if math.isnan(value):
            return
        gauge = self.gauges.get(name)
        if gauge is None:
            self.gauges[name] = GaugeNode(value)
        else:
            gauge.update(value)

    def add_metadata(self, key: str, value: str) -> None:
        self.metadata[key] = value


def _node_tree(node: TimerNode) -> dict[str, Any]:
    res: dict[str, Any] = {"total": node.total, "count": node.count}
    if node.is_parallel:
        # Parallel blocks may report less time than their children; the flag explains why.
        res["is_parallel"] = True
    children = {name: _node_tree(child) for name, child in node.children.items()}
    # "self" is the time not accounted for by any child block.
    res["self"] = max(0.0, node.total - sum(child["total"] for child in children.values()))
    if children:
        res["children"] = children
    return res


# One stack per thread, kept by thread id so the main thread can merge the others' trees.
_thread_stacks: dict[int, TimerStack] = {}
_get_ident = threading.get_ident


def _current_stack() -> TimerStack:
    ident = _get_ident()
    stack = _thread_stacks.get(ident)
    if stack is None:
        stack = _thread_stacks[ident] = TimerStack()
    return stack


def get_timer_stack_for_thread(thread: threading.Thread) -> TimerStack | None:
    return None if thread.ident is None else _thread_stacks.get(thread.ident)


class _TimerScope:
    """Context manager behind :func:`hierarchical_timer` (a class: cheaper than a generator)."""

    __slots__ = ("_name", "_node", "_open", "_start", "_timer_stack")

    def __init__(self, name: str, timer_stack: TimerStack | None) -> None:
        self._name = name
        self._timer_stack = timer_stack

    def __enter__(self) -> TimerNode:
        # Same work as TimerStack.push, inlined: this runs on every timed block.
        open_nodes = (self._timer_stack or _current_stack()).stack
        parent = open_nodes[-1]
        node = parent.children.get(self._name)
        if node is None:
            node = parent.children[self._name] = TimerNode()
        open_nodes.append(node)
        self._open = open_nodes
        self._node = node
        self._start = _perf_counter()
        return node

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Runs on exceptions too, so the stack stays balanced and the time is still counted.
        node = self._node
        node.total += _perf_counter() - self._start
        node.count += 1
        self._open.pop()


def hierarchical_timer(name: str, timer_stack: TimerStack | None = None) -> _TimerScope:
    """Time the ``with`` block under ``name``, nested inside whatever timer is open."""
    return _TimerScope(name, timer_stack)


FuncT = TypeVar("FuncT", bound=Callable[..., Any])


def timed(func: FuncT) -> FuncT:
    """Decorator: time every call of ``func`` under its qualified name (on the thread's stack)."""
    name = func.__qualname__

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with _TimerScope(name, None):
            return func(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def set_gauge(name: str, value: float, timer_stack: TimerStack | None = None) -> None:
    """Record ``value`` for gauge ``name``; NaN is ignored, as in ML-Agents."""
    (timer_stack or _current_stack()).set_gauge(name, value)


def merge_gauges(gauges: Mapping[str, GaugeNode], timer_stack: TimerStack | None = None) -> None:
    target = (timer_stack or _current_stack()).gauges
    for name, gauge in gauges.items():
        if name in target:
            target[name].merge(gauge)
        else:
            target[name] = gauge


def merge_thread_timers(threads: Iterable[threading.Thread], name: str = "trainer_threads") -> None:
    """Fold the trees and gauges of finished threads into this thread's, as ML-Agents does."""
    with hierarchical_timer(name) as parent:
        for thread in threads:
            stack = get_timer_stack_for_thread(thread)
            if stack is not None:
                parent.merge(stack.root, root_name="thread_root", is_parallel=True)
                merge_gauges(stack.gauges)


def add_metadata(key: str, value: str, timer_stack: TimerStack | None = None) -> None:
    (timer_stack or _current_stack()).add_metadata(key, value)


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def add_version_metadata(timer_stack: TimerStack | None = None) -> None:
    """Add the version keys ML-Agents' trainer records, filled with this package's versions.

    ``mlagents_version`` holds the mlagents-fast version (this trainer wrote the file);
    ``mlagents_fast_version`` says so explicitly for tools that compare against ML-Agents.
    """
    add_metadata("mlagents_version", __version__, timer_stack)
    add_metadata("mlagents_fast_version", __version__, timer_stack)
    add_metadata("pytorch_version", _package_version("torch"), timer_stack)
    add_metadata("numpy_version", _package_version("numpy"), timer_stack)


def get_timer_tree(timer_stack: TimerStack | None = None) -> dict[str, Any]:
    return (timer_stack or _current_stack()).get_timing_tree()


def get_timer_root(timer_stack: TimerStack | None = None) -> TimerNode:
    return (timer_stack or _current_stack()).get_root()


def reset_timers(timer_stack: TimerStack | None = None) -> None:
    (timer_stack or _current_stack()).reset()


def write_timing_tree(run_logs_dir: str | Path, timer_stack: TimerStack | None = None) -> Path:
    """Write ``<run_logs_dir>/timers.json`` (indent 4, as ML-Agents) atomically; return its path."""
    path = Path(run_logs_dir) / TIMERS_FILE_NAME
    atomic_write_text(path, json.dumps(get_timer_tree(timer_stack), indent=4))
    return path
