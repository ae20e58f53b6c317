"""Cost of power-cut durability on the quickstart (issue 17, goal <= 2 % of a cold run).

ovrun fsyncs every file and directory of a cache entry before the publishing rename, the
parent directory after it, and the directory of every atomically replaced file (results.json,
ovrun.lock, memos). This runs the cold quickstart in-process into a fresh cache with those
fsync calls wrapped by a timer, and reports the time spent in them against the run's wall
time: one run measures both, so machine noise between runs does not enter the ratio.

    .venv/bin/python benchmarks/fsync_overhead.py [--markdown benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 0.02


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=str(REPO / "recipes" / "quickstart.yaml"))
    parser.add_argument("--markdown", type=Path, help="append the result row to this file")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(REPO))
    from runner.cache import store
    from runner.cli.main import main as ovrun
    from runner.core import atomic

    spent = {"seconds": 0.0, "calls": 0}

    def timed(func):
        def wrapper(*a, **kw):
            started = time.perf_counter()
            try:
                return func(*a, **kw)
            finally:
                spent["seconds"] += time.perf_counter() - started
                spent["calls"] += 1

        return wrapper

    # write_text_atomic calls atomic.fsync_dir; the store imported both names itself
    atomic.fsync_dir = timed(atomic.fsync_dir)
    store.fsync_dir = timed(store.fsync_dir)
    store.fsync_tree = timed(store.fsync_tree)

    work = Path(tempfile.mkdtemp(prefix="ovrun-fsync-"))
    started = time.perf_counter()
    code = ovrun([args.recipe, "--cache-dir", str(work / "cache"), "--out", str(work / "out")])
    wall = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    share = spent["seconds"] / wall
    verdict = "meets" if code == 0 and share <= GOAL else "misses"
    row = (
        f"| D1 | fsync before publish / replace, cold {Path(args.recipe).stem} "
        f"({spent['calls']} fsync calls) | {spent['seconds']:.2f} s of {wall:.0f} s = "
        f"{100 * share:.2f} % | ≤ {100 * GOAL:.0f} % | {verdict} |"
    )
    print(f"exit {code}; {row}")
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as f:
            f.write("\n| id | measure | measured | goal | verdict |\n|---|---|---|---|---|\n")
            f.write(row + "\n")
    return 0 if code == 0 else code


if __name__ == "__main__":
    sys.exit(main())
