"""Collection of `bench_*.py`, the machine description, and the same-run ratio table.

Every benchmark sets `benchmark.group` (one group pairs our native code with its
references on the same data) and `benchmark.extra_info`:

* `role`: `"native"` for ours, `"reference:<name>"` for a reference;
* `elements`: elements (or agent-steps, or rows) processed per call;
* `bytes` (optional): bytes moved per call, for bandwidth;
* `target` (optional, on a reference): the ratio ours should reach against it;
* `min_rate` (optional, on ours): the elements/s ours should reach on its own.

At the end of the session a table gives, per group, our median and throughput and
each reference's median divided by ours. The same table goes into the
`--benchmark-json` file under `"ratios"`, with the machine description.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from machine import cpu_model, load_1min

from mlagents_fast import _native

NATIVE = "native"
REFERENCE = "reference:"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collect `bench_*.py` here; pytest's own rules take such a file only when it is named on the command line."""
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def machine() -> dict[str, str]:
    return {
        "nproc": str(os.cpu_count()),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "native_threads": str(_native.kernel_threads()),
        "load_1min": f"{load_1min():.2f}",
    }


def machine_line() -> str:
    m = machine()
    return (
        f"machine: nproc={m['nproc']}, CPU {m['cpu_model']}, Python {m['python']}, numpy {m['numpy']}, "
        f"native kernel threads {m['native_threads']}, numpy references single-threaded, "
        f"1-min load {m['load_1min']}"
    )


@pytest.fixture
def timed(benchmark: Any) -> Any:
    """`timed(group, extra_info, function, *args)`: label the benchmark, call `function(*args)`
    once to warm up, then time it."""

    def run(group: str, info: dict[str, Any], function: Any, *args: Any) -> Any:
        benchmark.group = group
        benchmark.extra_info.update(info)
        function(*args)
        return benchmark(function, *args)

    return run


def pytest_report_header(config: pytest.Config) -> str:
    return machine_line()


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    machine_info.update(machine())


def _median(bench: Any) -> float:
    return float(bench.stats.median)


def _rate(value: float, unit: str) -> str:
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.2f} {prefix} {unit}/s"
    return f"{value:.0f} {unit}/s"


def _time(seconds: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if seconds >= scale:
            return f"{seconds / scale:.1f} {unit}"
    return f"{seconds * 1e9:.0f} ns"


def ratio_rows(benchmarks: list[Any]) -> list[dict[str, Any]]:
    """One row per (group, reference): medians, our throughput and the ratio reference / ours."""
    groups: dict[str, dict[str, Any]] = {}
    for bench in benchmarks:
        if bench and "role" in bench.extra_info:
            groups.setdefault(bench.group or "", {})[bench.extra_info["role"]] = bench
    rows = []
    for group, roles in groups.items():
        ours = roles.get(NATIVE)
        if ours is None:
            continue
        median = _median(ours)
        info = ours.extra_info
        for role, ref in sorted(roles.items()):
            if not role.startswith(REFERENCE):
                continue
            target = ref.extra_info.get("target")
            ratio = _median(ref) / median
            rows.append(
                {
                    "group": group,
                    "native_median_s": median,
                    "elements_per_s": info["elements"] / median,
                    "bytes_per_s": info["bytes"] / median if "bytes" in info else None,
                    "reference": role.removeprefix(REFERENCE),
                    "reference_median_s": _median(ref),
                    "ratio": ratio,
                    "target": target,
                    "meets_target": None if target is None else ratio >= target,
                }
            )
    return rows


def rate_rows(benchmarks: list[Any]) -> list[dict[str, Any]]:
    """One row per benchmark of ours that has an absolute throughput target (`min_rate`)."""
    rows = []
    for bench in benchmarks:
        info = bench.extra_info if bench else {}
        if info.get("role") == NATIVE and "min_rate" in info:
            rate = info["elements"] / _median(bench)
            rows.append({"group": bench.group, "elements_per_s": rate, "min_rate": info["min_rate"],
                         "meets_target": rate >= info["min_rate"]})  # fmt: skip
    return rows


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list[Any], output_json: dict[str, Any]) -> None:
    output_json["ratios"] = ratio_rows(benchmarks)
    output_json["rates"] = rate_rows(benchmarks)
    # Keep the file small: the summary statistics stay, the per-round timings go.
    for bench in output_json.get("benchmarks", []):
        bench.get("stats", {}).pop("data", None)


def _format_row(row: dict[str, Any], first: bool) -> str:
    left = " " * 66
    if first:
        rate = _rate(row["elements_per_s"], "elem")
        if row["bytes_per_s"] is not None:
            rate += f", {row['bytes_per_s'] / 1e9:.2f} GB/s"
        left = f"{row['group']:<26} {_time(row['native_median_s']):>10} {rate:>28}"
    # Against a plain copy of the same bytes the ratio is our share of its bandwidth.
    as_share = row["reference"].endswith("same_bytes")
    ratio = f"{row['ratio']:.0%}" if as_share else f"{row['ratio']:,.1f}x"
    check = ""
    if row["target"] is not None:
        target = f"{row['target']:.0%}" if as_share else f"{row['target']:g}x"
        check = f"target {target}: {'ok' if row['meets_target'] else 'MISSED'}"
    reference = f"{row['reference']:<22} {_time(row['reference_median_s']):>10} {ratio:>10}"
    return f"{left}  {reference}  {check}".rstrip()


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    # pytest-benchmark keeps its results on the config; it has no public accessor for them.
    session = getattr(config, "_benchmarksession", None)
    rows = ratio_rows(session.benchmarks) if session is not None else []
    rates = rate_rows(session.benchmarks) if session is not None else []
    if not rows and not rates:
        return
    write = terminalreporter.write_line
    terminalreporter.section("native vs references (medians, same run)")
    write(machine_line())
    write(
        f"{'group':<26} {'native':>10} {'native throughput':>28}  {'reference':<22} {'median':>10} {'ref/native':>10}"
    )
    previous = None
    for row in rows:
        write(_format_row(row, row["group"] != previous))
        previous = row["group"]
    for rate in rates:
        verdict = "ok" if rate["meets_target"] else "MISSED"
        target = _rate(rate["min_rate"], "elem")
        write(f"{rate['group']:<26} {_rate(rate['elements_per_s'], 'elem'):>39}  target {target}: {verdict}")
