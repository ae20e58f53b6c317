"""Issue 18 §2 goal figure: the quickstart's benchmark phase, today's fixed 3 × 3 s per cell
against the adaptive default (target_ci 0.02, max_s 30), in one run.

Both recipes are the quickstart with only its `benchmark:` line changed; export, data and
compressions are built once into one cache first, then the two benchmark phases alternate
(`--force` on their `rounds:` groups, everything else cached), so each timing is one
`ovrun run` process doing the groups (compile + warm-up + rounds) and the report.

Printed: the wall time of each phase (median over --rounds alternations), their ratio (goal
≤ 0.5×), and per cell the relative half-width of a 95% interval of the throughput: for the
adaptive run the sign-test interval ovrun reports; for the fixed run, which has 3 rounds (too
few for a distribution-free 95% interval), Student's t interval of the mean of its 3 rounds
(mean ± 4.303·s/√3), plus its min–max half-range (the old `spread` column).

    .venv/bin/python benchmarks/adaptive_duration.py [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from perf import BIN, REPO, must, timed  # noqa: E402

FIXED = "benchmark: {duration_s: 3, repeats: 3, warmup: 10, batch: 1, seq_len: 128}"
T_975_DF2 = 4.302652729911275  # Student's t, 97.5% quantile, 2 degrees of freedom


def _recipes(root: Path) -> dict[str, Path]:
    text = (REPO / "recipes" / "quickstart.yaml").read_text(encoding="utf-8")
    shutil.copytree(REPO / "recipes" / "data", root / "data")
    line = next(ln for ln in text.splitlines() if ln.startswith("benchmark:"))
    out = {}
    for mode, bench in (("adaptive", line), ("fixed", FIXED)):
        path = root / f"quickstart-{mode}.yaml"
        path.write_text(text.replace(line, bench), encoding="utf-8")
        out[mode] = path
    return out


def _t_half_width(values: list[float]) -> float:
    mean = statistics.fmean(values)
    return T_975_DF2 * statistics.stdev(values) / len(values) ** 0.5 / mean


def _rounds_s(results: dict) -> float:
    """Seconds spent in rounds (each group once), without start-up, compile and warm-up."""
    groups = {}
    for row in results["benchmarks"]:
        if row["status"] == "ok":
            groups[row["measurement"]["group"]] = row["measurement"]["elapsed_s"]
    return sum(groups.values())


def _cells(results: dict) -> dict[str, dict]:
    out = {}
    for row in results["benchmarks"]:
        if row["status"] != "ok":
            continue
        tput = [r["throughput"] for r in row["rounds"]]
        entry = {"rounds": len(tput), "ci95": row["throughput_ci"]["rel_half_width"]}
        entry["stopped"] = row["measurement"]["stopped"]
        if len(tput) < 6:
            entry["t95"] = _t_half_width(tput)
            entry["half_range"] = (max(tput) - min(tput)) / 2 / statistics.median(tput)
        out[row["task"]] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1, help="alternations of the two phases")
    args = parser.parse_args()
    ovrun = str(BIN / "ovrun")
    with tempfile.TemporaryDirectory(prefix="ovrun-adaptive-") as tmp:
        root = Path(tmp)
        recipes = _recipes(root)
        cache = root / "cache"
        _, result = timed(
            [
                ovrun,
                "run",
                str(recipes["fixed"]),
                "--cache-dir",
                str(cache),
                "--out",
                str(root / "warm"),
                "--only",
                "compress:*",
                "eval:*",
            ],
            cwd=root,
        )
        must(result, "building the models")
        walls: dict[str, list[float]] = {"fixed": [], "adaptive": []}
        rounds_s: dict[str, list[float]] = {"fixed": [], "adaptive": []}
        cells: dict[str, dict] = {}
        for i in range(args.rounds):
            for mode in ("fixed", "adaptive"):
                out = root / f"{mode}-{i}"
                wall, result = timed(
                    [
                        ovrun,
                        "run",
                        str(recipes[mode]),
                        "--cache-dir",
                        str(cache),
                        "--out",
                        str(out),
                        "--force",
                        "rounds:CPU:LATENCY",
                        "rounds:CPU:THROUGHPUT",
                    ],
                    cwd=root,
                )
                must(result, f"{mode} benchmark phase")
                walls[mode].append(wall)
                results = json.loads((out / "results.json").read_text(encoding="utf-8"))
                cells[mode] = _cells(results)
                rounds_s[mode].append(_rounds_s(results))
                print(
                    f"round {i + 1}: {mode} {wall:.1f} s ({rounds_s[mode][-1]:.1f} s in rounds)",
                    flush=True,
                )
    fixed, adaptive = (statistics.median(walls[m]) for m in ("fixed", "adaptive"))
    print(
        f"\nbenchmark phase: fixed 3 x 3 s {fixed:.1f} s, adaptive {adaptive:.1f} s, "
        f"ratio {adaptive / fixed:.2f} (goal <= 0.5)"
    )
    rf, ra = (statistics.median(rounds_s[m]) for m in ("fixed", "adaptive"))
    print(f"time in rounds only: fixed {rf:.1f} s, adaptive {ra:.1f} s, ratio {ra / rf:.2f}")
    print(
        "cell | fixed: t 95% half-width (min-max half-range) | adaptive: sign-test 95% "
        "half-width, rounds, stopped"
    )
    worse = 0
    for task in cells["fixed"]:
        f, a = cells["fixed"][task], cells["adaptive"].get(task)
        if a is None:
            continue
        worse += a["ci95"] > f["t95"]
        print(
            f"{task} | ±{f['t95']:.2%} (±{f['half_range']:.2%}) | ±{a['ci95']:.2%}, "
            f"{a['rounds']} rounds, {a['stopped']}"
        )
    print(
        f"adaptive interval wider than fixed's in {worse} of {len(cells['fixed'])} cells (goal: 0)"
    )


if __name__ == "__main__":
    main()
