"""Fidelity: do ovrun's benchmark figures match OpenVINO's own `benchmark_app`?

Both tools measure the same IR on the same device, hint and static shapes; they alternate
(ovrun, benchmark_app, ovrun, ...) over ROUNDS rounds so drift on a shared machine hits both
alike, each round in a fresh process; the medians over rounds are compared and the ratios
printed (ovrun / benchmark_app). Targets: throughput 0.95–1.05, median latency 0.9–1.1.

Like with like:
  * LATENCY: benchmark_app's default for `-hint latency` is `-api sync` (one request,
    blocking infer()); ovrun does the same for the LATENCY hint.
  * THROUGHPUT / CUMULATIVE_THROUGHPUT: both run an AsyncInferQueue sized by the device's
    OPTIMAL_NUMBER_OF_INFER_REQUESTS; inputs are set once (benchmark_app's
    `-inference_only`, its default for static shapes).
  * Inputs: benchmark_app fills integer inputs with random values; ovrun feeds random token
    ids in [0, vocab) with an all-ones attention mask. Dense text models do the same work
    for any ids, so this does not change the timing.
  * Both reshape to the same static shape (`-shape`) and both report OpenVINO's own
    per-request latency (`InferRequest.latency`).

    # the quickstart's INT8 IR (run the quickstart first so it is in the cache)
    .venv/bin/python benchmarks/fidelity.py --recipe recipes/quickstart.yaml --variant int8
    # any IR; short smoke run
    .venv/bin/python benchmarks/fidelity.py --ir model.xml --duration 2 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_MEDIAN = re.compile(r"Median:\s+([0-9.]+) (ms|us)")  # short latencies print in us
_THROUGHPUT = re.compile(r"Throughput:\s+([0-9.]+) FPS")


def ir_from_recipe(recipe: str, variant: str, cache_dir: str | None) -> Path:
    """The cached IR of ``variant`` (the recipe must have run with this cache)."""
    from runner.session import open_session

    session = open_session(recipe, cache_dir, probe_devices=False)
    task_id = (
        "export" if session.recipe.variants[variant].compression is None else f"compress:{variant}"
    )
    key = session.plan.tasks[task_id].key
    xml = session.cache.out_dir(key) / "model" / "openvino_model.xml"
    if not xml.is_file():
        raise SystemExit(f"fidelity: {task_id} is not in the cache; run `ovrun {recipe}` first")
    return xml


def model_root(ir: Path, scratch: Path) -> Path:
    """A dir holding model/openvino_model.{xml,bin} (+config.json), as ovrun's op reads it."""
    if ir.name == "openvino_model.xml" and ir.parent.name == "model":
        return ir.parent.parent
    target = scratch / "model"
    target.mkdir(parents=True, exist_ok=True)
    (target / "openvino_model.xml").symlink_to(ir.resolve())
    (target / "openvino_model.bin").symlink_to(ir.with_suffix(".bin").resolve())
    if (ir.parent / "config.json").is_file():
        (target / "config.json").symlink_to((ir.parent / "config.json").resolve())
    return scratch


def run_ovrun_once(args: argparse.Namespace) -> None:
    """Child process: one ovrun benchmark (one repeat), printed as JSON."""
    from runner.adapters import benchmark
    from runner.plan.context import TaskContext

    with tempfile.TemporaryDirectory() as tmp:
        root = model_root(Path(args.ir), Path(tmp) / "in")
        ctx = TaskContext(
            task_id="fidelity",
            op="benchmark",
            params={
                "hint": args.hint,
                "properties": {},
                "duration_s": args.duration,
                "repeats": 1,
                "warmup": args.warmup,
                "batch": args.batch,
                "seq_len": args.seq_len,
                "seed": 0,
            },
            inputs={"model": root},
            files={},
            out=Path(tmp),
            device=args.device,
        )
        result = benchmark.run(ctx)
    print(
        json.dumps(
            {
                "throughput": result["throughput"],
                "median_ms": result["latency_ms"]["median"],
                "nireq": result["nireq"],
                "mode": result["mode"],
            }
        )
    )


def ovrun_round(args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--_child", "--ir", str(args.ir), "--device", args.device]
    cmd += ["--hint", args.hint, "--duration", str(args.duration), "--warmup", str(args.warmup)]
    cmd += ["--batch", str(args.batch), "--seq-len", str(args.seq_len)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"fidelity: ovrun round failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def input_names(ir: Path) -> list[str]:
    import openvino as ov

    return [port.get_any_name() for port in ov.Core().read_model(ir).inputs]


def benchmark_app_round(args: argparse.Namespace, names: list[str]) -> dict:
    shape = ",".join(f"{name}[{args.batch},{args.seq_len}]" for name in names)
    app = Path(sys.executable).parent / "benchmark_app"
    cmd = [str(app) if app.exists() else "benchmark_app", "-m", str(args.ir), "-d", args.device]
    cmd += ["-hint", args.hint.lower(), "-shape", shape, "-t", str(args.duration)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    out = done.stdout + done.stderr
    median, tput = _MEDIAN.search(out), _THROUGHPUT.search(out)
    if done.returncode != 0 or not median or not tput:
        raise SystemExit(f"fidelity: benchmark_app failed ({' '.join(cmd)}):\n{out[-2000:]}")
    scale = 1.0 if median.group(2) == "ms" else 1e-3
    return {"throughput": float(tput.group(1)), "median_ms": float(median.group(1)) * scale}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--ir", help="OpenVINO IR (.xml)")
    source.add_argument("--recipe", help="take the IR of --variant from this recipe's cache")
    parser.add_argument("--variant", default="int8")
    parser.add_argument("--cache-dir", help="ovrun cache (default: as `ovrun` uses)")
    parser.add_argument("--device", default="CPU")
    parser.add_argument(
        "--hint", default="LATENCY", choices=("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the two tools")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        run_ovrun_once(args)
        return 0
    if args.recipe:
        args.ir = str(ir_from_recipe(args.recipe, args.variant, args.cache_dir))
    if not args.ir:
        parser.error("give --ir or --recipe")
    args.ir = Path(args.ir).resolve()
    names = input_names(args.ir)

    ours, theirs = [], []
    print(f"fidelity: {args.ir}")
    print(
        f"  device {args.device}, hint {args.hint}, shape [{args.batch},{args.seq_len}], "
        f"{args.duration} s x {args.rounds} rounds per tool, alternating"
    )
    for i in range(args.rounds):
        ours.append(ovrun_round(args))
        theirs.append(benchmark_app_round(args, names))
        print(
            f"  round {i + 1}: ovrun {ours[-1]['throughput']:.1f}/s {ours[-1]['median_ms']:.3f} ms"
            f" ({ours[-1]['mode']}, {ours[-1]['nireq']} req) | benchmark_app "
            f"{theirs[-1]['throughput']:.1f}/s {theirs[-1]['median_ms']:.3f} ms"
        )
    med = {
        (tool, metric): statistics.median(r[metric] for r in rows)
        for tool, rows in (("ovrun", ours), ("app", theirs))
        for metric in ("throughput", "median_ms")
    }
    t_ratio = med["ovrun", "throughput"] / med["app", "throughput"]
    l_ratio = med["ovrun", "median_ms"] / med["app", "median_ms"]
    t_ok = 0.95 <= t_ratio <= 1.05
    l_ok = 0.9 <= l_ratio <= 1.1
    print(
        f"throughput ratio ovrun/benchmark_app: {t_ratio:.3f} "
        f"(median {med['ovrun', 'throughput']:.1f} vs {med['app', 'throughput']:.1f}/s; "
        f"target 0.95-1.05: {'within' if t_ok else 'OUTSIDE'})"
    )
    print(
        f"median latency ratio ovrun/benchmark_app: {l_ratio:.3f} "
        f"(median {med['ovrun', 'median_ms']:.3f} vs {med['app', 'median_ms']:.3f} ms; "
        f"target 0.9-1.1: {'within' if l_ok else 'OUTSIDE'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
