"""Reading a folder of demonstrations: MB/s of `.demo` files through `read_demonstration`.

    python benchmarks/bench_demo_read.py [--megabytes 100] [--repeats 3]

Two folders of about --megabytes each are made first: a file of 20,000 records of a built-in
heuristic, copied: 3DBall (8 floats and 2 actions a record, about 90 bytes) and GridWorld (its
3 x 32 x 32 camera as a PNG and the goal signal, about 240 bytes a record). Each
folder is then read --repeats times; the median is reported as MB/s and microseconds per record.
Target: at least 100 MB/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
    """One file of the environment's heuristic, copied until the folder holds `megabytes` (reading
    does not depend on which episodes the files hold; recording a camera in Python is slow);
    the folder's size in bytes."""
    env, behavior, policy = teacher(env_name, seed=0)
    first = folder / f"{env_name}_000.demo"
    record_demonstrations(env, RECORDS_PER_FILE, first, behavior, seed=0, policy=policy)
    size, index = os.path.getsize(first), 1
    while size < megabytes * 1e6:
        shutil.copyfile(first, folder / f"{env_name}_{index:03d}.demo")
        size += os.path.getsize(first)
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
