"""The ``benchmark`` op: one group of cells measured in interleaved rounds.

A group is every variant of one matrix cell (device × hint × dimensions), so the cells that
are compared with each other are measured together: each model is compiled and warmed up
(`runner.adapters.ov_cell`, benchmark_app's method: static reshape, hints, async queue for
THROUGHPUT, first-inference and compile timings), then `runner.adapters.bench_rounds` runs
them round-robin, one short timed round each per pass, so drift hits them alike. Fixed mode
runs ``repeats`` passes of ``duration_s``; adaptive mode (``target_ci``) passes of
``round_s`` until every 95% interval is within ±target_ci or ``max_s`` passes.

The op writes one row per cell under ``out/cells/<variant>.json``; the ``bench:<variant>:<cell>``
tasks (op ``bench_cell``, `runner.adapters.bench_cell`) publish them, so rows, ``--only``,
``assert:`` and ``compare`` address cells as before. A cell's throughput is the median of its
rounds; its interval and the paired ratio verdicts are `runner.report.verdict`'s.

Input data is synthetic (random ids like ``benchmark_app``), built once and set on each
request before timing, so input preparation is never measured. A model none of whose inputs
is a token input (float tensors, images: converted TensorFlow / TFLite / Paddle / ONNX models)
runs at the IR's own static input shapes (``model.shapes``; a dynamic first dimension takes
``batch``) with seeded uniform [0, 1) values of each input's dtype.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

import numpy as np

from runner.adapters.devices import require_device, settable_properties
from runner.adapters.ov_compile import read_config
from runner.core.errors import OvrunError
from runner.host.devices import compile_name
from runner.plan.context import TaskContext

DEFAULTS: dict[str, Any] = {
    "hint": "LATENCY",
    "properties": {},
    "duration_s": 10.0,
    "iterations": None,
    "repeats": 1,
    "warmup": 10,
    "batch": 1,
    "seq_len": 128,
    "seed": 0,
    "task": "feature-extraction",
    "round_s": 0.25,
    "target_ci": None,
    "max_s": None,
    "reference": None,
}


def round_spec(params: dict[str, Any], reference_task: str | None) -> Any:
    """Fixed (``repeats`` passes of ``duration_s``) or adaptive (``target_ci``) rounds."""
    from runner.adapters.bench_rounds import RoundSpec

    if params.get("target_ci") is not None:
        return RoundSpec(
            round_s=float(params["round_s"]),
            rounds=1,
            target_ci=float(params["target_ci"]),
            max_s=float(params["max_s"]) if params.get("max_s") is not None else None,
            reference=reference_task,
        )
    return RoundSpec(float(params["duration_s"]), max(1, int(params["repeats"])))


def run(ctx: TaskContext) -> dict[str, Any]:
    """Measure every model in ``ctx.params["cells"]`` (variant -> row task id) on
    ``ctx.device`` in interleaved rounds; write one row per cell under ``out/cells/``."""
    import openvino as ov

    from runner.adapters.bench_rounds import run_rounds
    from runner.adapters.ov_cell import OpenVINOCell
    from runner.host.cpu import fingerprint_without_openvino
    from runner.report.verdict import throughput_interval

    params = DEFAULTS | ctx.params
    device = ctx.device or "CPU"
    cells_by_variant: dict[str, str] = params["cells"]
    core = ov.Core()
    require_device(core, device)
    config = _compile_config(core, device, params["hint"], params["properties"])
    target = compile_name(device, list(core.available_devices))  # AUTO:GPU,CPU -> AUTO:CPU

    cells: list[Any] = []
    facts: dict[str, dict[str, Any]] = {}
    try:
        for variant, task_id in cells_by_variant.items():
            model_dir = ctx.model_dir(variant)
            xml = model_dir / "openvino_model.xml"
            if not xml.is_file():
                raise OvrunError(
                    f"no OpenVINO IR at {xml}", hint="the upstream task must write out/model/"
                )
            _check_seq_len(int(params["seq_len"]), read_config(model_dir))
            cell = OpenVINOCell(task_id, core, model_dir, target, config, params, ctx.log)
            cells.append(cell)
            facts[task_id] = cell.prepare()
        reference = cells_by_variant.get(params["reference"] or "")
        spec = round_spec(params, reference)
        measured = run_rounds(cells, spec, log=ctx.log)
        for cell in cells:
            estimate = throughput_interval(measured.rounds[cell.task_id]).estimate
            facts[cell.task_id].update(cell.roofline(ctx, estimate))
    finally:
        for cell in cells:
            cell.close()

    ctx.log(
        f"{measured.passes()} interleaved pass(es) over {len(cells)} cell(s) in "
        f"{measured.elapsed_s:.2f} s, stopped: {measured.stopped}"
    )
    group = {
        "method": "interleaved rounds",
        "group": ctx.task_id,
        "cells": list(cells_by_variant.values()),
        "round_s": spec.round_s if params.get("iterations") is None else None,
        "iterations_per_round": params.get("iterations"),
        "target_ci": spec.target_ci,
        "max_s": spec.max_s,
        "stopped": measured.stopped,
        "elapsed_s": measured.elapsed_s,
        "passes": measured.passes(),
    }
    host = fingerprint_without_openvino()
    (ctx.out / "cells").mkdir()
    for variant, task_id in cells_by_variant.items():
        row = _row(params, device, facts[task_id], measured, task_id, group)
        row["host"] = host
        path = ctx.out / "cells" / f"{variant}.json"
        path.write_text(json.dumps(row, indent=1, sort_keys=True), encoding="utf-8")
    return {"cells": cells_by_variant, **group}


def _row(
    params: dict[str, Any],
    device: str,
    facts: dict[str, Any],
    measured: Any,
    task_id: str,
    group: dict[str, Any],
) -> dict[str, Any]:
    """One cell's figures: the static facts, then what its rounds measured."""
    from runner.report.verdict import throughput_interval

    rounds = measured.rounds[task_id]
    latencies = measured.latencies[task_id]
    interval = throughput_interval(rounds)
    reached = measured.reached.get(task_id) if measured.stopped != "rounds" else None
    return {
        "device": device,
        "hint": params["hint"],
        "batch": int(params["batch"]),
        "seq_len": int(params["seq_len"]),
        **facts,
        "latency_ms": latency_stats(latencies),
        # the median round, so one lucky (or unlucky) round cannot set the figure
        "throughput": interval.estimate,
        "throughput_ci": interval.as_dict(),
        "iterations": len(latencies),
        "duration_s": sum(r["wall_s"] for r in rounds),
        "rounds": rounds,
        "spread": spread(
            [
                {"throughput": r["throughput"], "latency_ms": {"median": r["latency_median_ms"]}}
                for r in rounds
            ]
        ),
        "measurement": {**group, "ci_reached": reached},
        "peak_rss_mb": peak_rss_mb(),
    }


def spread(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Min, max and (max - min) / median over repeats of throughput and median latency."""
    series = {
        "throughput": [r["throughput"] for r in runs],
        "latency_median": [r["latency_ms"]["median"] for r in runs],
    }
    out = {}
    for name, values in series.items():
        mid = float(np.median(values))
        lo, hi = float(min(values)), float(max(values))
        out[name] = {"min": lo, "max": hi, "relative": (hi - lo) / mid if mid else 0.0}
    return out


def _check_seq_len(seq_len: int, config_json: dict[str, Any]) -> None:
    # Beyond the position table, BERT-like models index out of range and time garbage.
    limit = config_json.get("max_position_embeddings")
    if isinstance(limit, int) and seq_len > limit:
        raise OvrunError(
            f"benchmark seq_len {seq_len} exceeds the model's max_position_embeddings {limit}",
            hint=f"set benchmark.seq_len to at most {limit}",
        )


def _compile_config(core: Any, device: str, hint: str, properties: dict[str, Any]) -> dict:
    """``{"PERFORMANCE_HINT": hint, **properties}`` after checking every name on the device."""
    supported = settable_properties(core, device)
    writable = sorted(name for name, mode in supported.items() if mode != "RO")
    for name in properties:
        if supported.get(name) in (None, "RO"):
            problem = "is read-only" if name in supported else "is not supported"
            raise OvrunError(
                f"property {name} {problem} on device {device}",
                hint=f"settable {device} properties: {', '.join(writable)}",
            )
    extra_hint = properties.get("PERFORMANCE_HINT")
    if extra_hint is not None and str(extra_hint) != hint:
        raise OvrunError(
            f"PERFORMANCE_HINT {extra_hint} in properties contradicts hint {hint}",
            hint="choose hints with targets.hints, not targets.properties",
        )
    return {"PERFORMANCE_HINT": hint, **properties}


def latency_stats(latencies_ms: list[float]) -> dict[str, float]:
    """Median, p90, p99, min, max and mean of per-inference latencies (ms)."""
    values = np.asarray(latencies_ms, dtype=np.float64)
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {
        "median": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean()),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (includes everything before the op)."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024
