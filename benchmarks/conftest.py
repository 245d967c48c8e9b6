"""Collects bench_*.py and prints, after the run, each native kernel's speed as a ratio
against the references measured in the same run (see ../../shared BENCHMARKING rules in
benchmarks/README.md)."""

from __future__ import annotations

import os
import platform
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# group -> role -> (median seconds, work units per call, unit name)
RESULTS: dict[str, dict[str, tuple[float, float, str]]] = defaultdict(dict)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


@pytest.fixture
def measure(benchmark: Any) -> Iterator[Callable[..., Any]]:
    """`measure(group, role, function, units, unit="elements", rounds=None)` times `function`
    with pytest-benchmark and records its median for the ratio table. A `rounds` count
    switches to pedantic mode for slow references."""

    def run(group: str, role: str, function: Callable[[], object], units: float, unit: str = "elements",
            rounds: int | None = None) -> None:  # fmt: skip
        benchmark.group = group
        benchmark.extra_info.update(role=role, units=units, unit=unit)
        if rounds is None:
            benchmark(function)
        else:
            benchmark.pedantic(function, rounds=rounds, iterations=1, warmup_rounds=1)
        RESULTS[group][role] = (benchmark.stats.stats.median, units, unit)

    yield run


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    write(f"machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}, numpy {np.__version__}")
    write(f"{'group':<40} {'native':>10} {'rate':>16}   reference ratios (reference median / native median)")
    for group, roles in sorted(RESULTS.items()):
        if "native" not in roles:
            continue
        median, units, unit = roles["native"]
        rate = f"{units / median / 1e6:,.0f} M{unit[0]}/s" if unit != "bytes" else f"{units / median / 1e9:.1f} GB/s"
        ratios = ", ".join(
            f"{role}: {other[0] / median:.2f}x" for role, other in sorted(roles.items()) if role != "native"
        )
        write(f"{group:<40} {median * 1e6:>8.1f}us {rate:>16}   {ratios}")
