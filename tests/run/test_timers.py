from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from mlagents_fast.run import timers
from mlagents_fast.run.gauge_writer import GaugeWriter
from mlagents_fast.run.stats import StatsAggregationMethod, StatsRegistry, StatsReporter
from mlagents_fast.run.timers import TimerStack, hierarchical_timer, set_gauge, timed, write_timing_tree


def test_tree_structure() -> None:
    stack = TimerStack()
    for _ in range(3):
        with hierarchical_timer("env_step", stack):
            with hierarchical_timer("policy", stack):
                time.sleep(0.001)
            with hierarchical_timer("step", stack):
                pass
    with hierarchical_timer("policy", stack):  # same name, different parent: its own node
        pass
    tree = stack.get_timing_tree()

    assert tree["name"] == "root" and tree["count"] == 1
    assert set(tree) == {"name", "metadata", "total", "count", "self", "children"}
    env_step = tree["children"]["env_step"]
    assert env_step["count"] == 3
    assert set(env_step["children"]) == {"policy", "step"}
    assert env_step["children"]["policy"]["total"] >= 0.003
    assert env_step["self"] == pytest.approx(
        env_step["total"] - sum(c["total"] for c in env_step["children"].values()), abs=1e-9
    )
    leaf = env_step["children"]["step"]
    assert set(leaf) == {"total", "count", "self"}  # no "children" or "is_parallel" keys when empty/false
    assert tree["children"]["policy"]["count"] == 1
    assert tree["total"] >= env_step["total"]


def test_metadata_and_gauges() -> None:
    stack = TimerStack()
    set_gauge("3DBall.Policy.Entropy.mean", 1.0, stack)
    set_gauge("3DBall.Policy.Entropy.mean", 3.0, stack)
    set_gauge("3DBall.Policy.Entropy.mean", float("nan"), stack)  # ignored
    set_gauge("3DBall.Policy.Entropy.mean", 2.0, stack)
    timers.add_version_metadata(stack)
    tree = stack.get_timing_tree()
    assert tree["gauges"] == {"3DBall.Policy.Entropy.mean": {"value": 2.0, "min": 1.0, "max": 3.0, "count": 3}}
    meta = tree["metadata"]
    assert meta["timer_format_version"] == "0.1.0"
    for key in ("start_time_seconds", "end_time_seconds", "python_version", "command_line_arguments"):
        assert isinstance(meta[key], str)
    assert meta["mlagents_version"] == meta["mlagents_fast_version"]
    assert int(meta["end_time_seconds"]) >= int(meta["start_time_seconds"])


def test_exception_still_counts_and_unwinds() -> None:
    stack = TimerStack()
    with pytest.raises(ValueError), hierarchical_timer("outer", stack), hierarchical_timer("inner", stack):
        raise ValueError("boom")
    assert stack.stack == [stack.root]
    assert stack.get_timing_tree()["children"]["outer"]["children"]["inner"]["count"] == 1


def test_timed_decorator_and_thread_merge(tmp_path: Path) -> None:
    @timed
    def update() -> int:
        return 7

    def trainer() -> None:
        for _ in range(4):
            update()
        set_gauge("from_thread", 5.0)

    timers.reset_timers()
    thread = threading.Thread(target=trainer)
    thread.start()
    thread.join()
    assert update() == 7 and update.__name__ == "update"
    timers.merge_thread_timers([thread])
    path = write_timing_tree(tmp_path)

    assert path == tmp_path / "timers.json"
    tree = json.loads(path.read_text())
    qualname = update.__qualname__
    assert tree["children"][qualname]["count"] == 1
    merged = tree["children"]["trainer_threads"]["children"]["thread_root"]
    assert merged["is_parallel"] is True
    assert merged["children"][qualname] == {
        "total": pytest.approx(merged["children"][qualname]["total"]),
        "count": 4,
        "is_parallel": True,
        "self": pytest.approx(merged["children"][qualname]["total"]),
    }
    assert tree["gauges"]["from_thread"]["value"] == 5.0


def test_gauge_writer_mirrors_stats() -> None:
    timers.reset_timers()
    registry = StatsRegistry()
    registry.add_writer(GaugeWriter())
    rep = StatsReporter("3DBall", registry)
    rep.add_stat("Environment/Cumulative Reward", 1.0)
    rep.add_stat("Environment/Cumulative Reward", 3.0)
    rep.write_stats(10)
    gauges = timers.get_timer_tree()["gauges"]
    assert gauges["3DBall.Environment.CumulativeReward.mean"]["value"] == 2.0
    assert gauges["3DBall.Environment.CumulativeReward.sum"]["value"] == 4.0
    rep.add_stat("Custom/x", 4.0, StatsAggregationMethod.SUM)
    rep.write_stats(20)
    assert timers.get_timer_tree()["gauges"]["3DBall.Custom.x.sum"]["count"] == 1


def test_overhead_per_timer_is_small() -> None:
    # Documented at a few hundred ns; the bound is loose so a busy machine does not fail it.
    stack = TimerStack()
    n = 20000
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            with hierarchical_timer("step", stack):
                pass
        best = min(best, (time.perf_counter() - start) / n)
    assert best < 5e-6
