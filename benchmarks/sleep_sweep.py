"""Does the Dask executor keep a larger cluster busy? A simulated sweep: N tasks of the
test-only ``sleep`` op (``OVRUN_TEST_OPS=1``, set here) on W single-threaded Dask worker
processes of a loopback LocalCluster. Sleeping needs no core, so even a 2-core machine can host
16 such workers; what is left between tasks is the engine: the client's scheduling loop, the
Dask round trip and each task's cache check, locks and publish.

The host lock (runner/executor/host_lock.py: a benchmark cell has its machine to itself) is a
file in the temp dir, shared by every ovrun process on the machine; this script gives its run a
private TMPDIR, so another ovrun's benchmark cells on a shared machine do not pause the
simulated cluster (its tasks still take that lock, shared, as every task does).

Ideal makespan = N x seconds / W. Goal: measured makespan (executor.run, the cluster started
before the clock) within 15 % of it.

    .venv/bin/python benchmarks/sleep_sweep.py [--tasks 1000] [--seconds 0.2] [--workers 16]
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
from task_overhead import MINILM, run_test_ops, write_recipe  # noqa: E402

GOAL = 1.15


def main() -> None:
    try:
        sweep()
    finally:
        shutil.rmtree(os.environ.get("OVRUN_SLEEP_TMP", "/nonexistent"), ignore_errors=True)


def sweep() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    os.environ["OVRUN_TEST_OPS"] = "1"
    private_tmp = tempfile.mkdtemp(prefix="ovrun-sleep-tmp-")
    os.environ["OVRUN_SLEEP_TMP"] = os.environ["TMPDIR"] = (
        private_tmp  # before the host lock's path is taken from it
    )
    tempfile.tempdir = None
    from runner.cache.store import Cache
    from runner.executor.dask import DaskExecutor

    ideal = args.tasks * args.seconds / args.workers
    ratios = []
    with tempfile.TemporaryDirectory(prefix="ovrun-sleep-") as tmp:
        work = Path(tmp)
        recipe = write_recipe(work, MINILM, "sleep", args.tasks, seconds=args.seconds)
        started = time.perf_counter()
        with DaskExecutor(Cache(work / "unused"), workers=args.workers) as cluster:
            cluster.client.wait_for_workers(args.workers)
            print(f"cluster of {args.workers} workers up in {time.perf_counter() - started:.1f}s")
            for round_no in range(args.rounds):
                m = run_test_ops(
                    recipe, work / f"cache-{round_no}", "sleep", "dask", cluster=cluster
                )
                if m.published != m.count or m.states != {"ran": m.count}:
                    sys.exit(f"not every task ran and published: {m.states}")
                ratios.append(m.makespan_s / ideal)
                # time inside execute_task (locks, sleep, publish) over the workers' time
                busy = sum(m.in_task_s) / (m.makespan_s * args.workers)
                print(
                    f"round {round_no + 1}: {m.count} x {args.seconds}s sleep on {args.workers} "
                    f"workers: makespan {m.makespan_s:.2f}s, ideal {ideal:.2f}s, "
                    f"ratio {ratios[-1]:.3f}; per task inside execute_task: median "
                    f"{statistics.median(m.in_task_s):.3f}s, max {max(m.in_task_s):.3f}s; "
                    f"workers busy in tasks {busy:.0%}",
                    flush=True,
                )
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio <= GOAL else "misses"
    print(
        f"sleep sweep makespan / ideal ({args.tasks} x {args.seconds}s, {args.workers} workers) "
        f"= {ratio:.3f} ({verdict} goal <= {GOAL})"
    )


if __name__ == "__main__":
    main()
