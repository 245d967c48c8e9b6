"""Reading a folder of demonstrations: MB/s of `.demo` files through `read_demonstration`.

    python benchmarks/bench_demo_read.py [--megabytes 100] [--repeats 3]

Two folders of about --megabytes each are recorded first with the built-in heuristics: 3DBall
(8 floats and 2 actions a record, about 90 bytes) and GridWorld (its 3 x 64 x 84 camera as PNG,
about 1.3 kB a record), split into files of 20,000 records as a recorder would leave them. Each
folder is then read --repeats times; the median is reported as MB/s and microseconds per record.
Target: at least 100 MB/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_common import machine_line

from mlagents_fast.demonstrations.reader import read_demonstration
from mlagents_fast.envs.testing.heuristics import teacher
from mlagents_fast.envs.testing.recorder import record_demonstrations

RECORDS_PER_FILE = 20_000


def record_folder(env_name: str, folder: Path, megabytes: float) -> int:
    """Files of the environment's heuristic until the folder holds `megabytes`; its size in bytes."""
    size, index = 0, 0
    while size < megabytes * 1e6:
        env, behavior, policy = teacher(env_name, seed=index)
        path = folder / f"{env_name}_{index:03d}.demo"
        record_demonstrations(env, RECORDS_PER_FILE, path, behavior, seed=index, policy=policy)
        size += os.path.getsize(path)
        index += 1
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(machine_line(), flush=True)
    for env_name in ("3DBall", "GridWorld"):
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            size = record_folder(env_name, folder, args.megabytes)
            seconds, records = [], 0
            for _ in range(args.repeats):
                started = time.perf_counter()
                records = len(read_demonstration(folder))
                seconds.append(time.perf_counter() - started)
            median = statistics.median(seconds)
            print(f"{env_name}: {size / 1e6:.1f} MB, {records:,} records: {size / 1e6 / median:.1f} MB/s, "
                  f"{median / records * 1e6:.2f} us a record (median of {args.repeats})", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
