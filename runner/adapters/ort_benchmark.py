"""The ``ort_benchmark`` op: one ONNX Runtime cell, ``repeats`` timed rounds of
``duration_s`` (or ``iterations`` inferences), with the row fields the OpenVINO
``benchmark`` op writes (throughput = median repeat, latency stats over every repeat's
inferences, the repeats' spread), plus ``runtime`` and ``runtime_version``.

Deliberately thin: the measuring is ``runner.adapters.ort_cell.OrtCell`` (the
``MeasuredCell`` shape), so interleaved rounds across cells can drive the same cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from runner.adapters.benchmark import (
    _check_seq_len,
    _read_config,
    _summarize,
    latency_stats,
    peak_rss_mb,
    spread,
)
from runner.adapters.ort_cell import OrtCell, import_ort
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext
from runner.recipe.runtimes import ORT, ORT_DEVICE

_DEFAULT_VOCAB = 1000  # as the OpenVINO benchmark, for a model without config.json


def run(ctx: TaskContext) -> dict[str, Any]:
    from runner.host.cpu import fingerprint_without_openvino

    ort = import_ort()
    params = ctx.params
    device = ctx.device or ORT_DEVICE
    if device != ORT_DEVICE:  # the plan skips these; a hand-made task must not mislabel CPU figures
        raise OvrunError(
            f"onnxruntime cells run on CPU only, not {device}",
            hint="ONNX Runtime's CPU execution provider is what ovrun measures",
        )
    batch, seq_len = int(params["batch"]), int(params["seq_len"])
    config = _read_config(ctx.model_dir("model"))  # the export's: same vocabulary as OpenVINO
    _check_seq_len(seq_len, config)
    onnx = _onnx_file(ctx)
    cell = OrtCell(
        task_id=ctx.task_id,
        onnx=onnx,
        hint=params["hint"],
        batch=batch,
        seq_len=seq_len,
        vocab=int(config.get("vocab_size") or _DEFAULT_VOCAB),
        seed=int(params["seed"]),
        warmup=int(params["warmup"]),
        iterations=int(params["iterations"]) if params.get("iterations") else None,
    )
    ctx.log(f"onnxruntime {ort.__version__}: {onnx.name} on {device}, {params['hint']}")
    try:
        facts = cell.prepare()
        rounds = [cell.round(float(params["duration_s"])) for _ in range(int(params["repeats"]))]
    finally:
        cell.close()

    runs = [_summarize({"latencies": r.latencies_ms, "wall_s": r.wall_s}, batch) for r in rounds]
    latencies = [lat for r in rounds for lat in r.latencies_ms]
    wall_s = sum(r.wall_s for r in rounds)
    ctx.log(f"{len(latencies)} inferences in {wall_s:.2f} s over {len(runs)} repeat(s)")
    return {
        "runtime": ORT,
        "runtime_version": ort.__version__,
        "device": device,
        "compiled_for": device,
        "execution_devices": [device],
        "hint": params["hint"],
        "batch": batch,
        "seq_len": seq_len,
        "stateful": False,
        **facts,
        "warmup": int(params["warmup"]),
        "latency_ms": latency_stats(latencies),
        "throughput": float(np.median([r["throughput"] for r in runs])),
        "iterations": len(latencies),
        "duration_s": wall_s,
        "repeats": runs,
        "spread": spread(runs),
        "properties_requested": {},
        "resolved_properties": {},
        "size_bytes": _size(onnx) + sum(_size(p) for p in _external_data(ctx)),
        "peak_rss_mb": peak_rss_mb(),
        "host": fingerprint_without_openvino(),
    }


def _onnx_file(ctx: TaskContext) -> Path:
    """The onnx: source file itself, or the onnx_export task's output."""
    if "onnx" in ctx.files:
        return Path(ctx.files["onnx"])
    path = ctx.inputs["onnx"] / "model.onnx"
    if not path.is_file():
        raise OvrunError(f"no ONNX model at {path}", hint="the onnx task must write model.onnx")
    return path


def _external_data(ctx: TaskContext) -> list[Path]:
    if "onnx_data" in ctx.files:
        return [Path(ctx.files["onnx_data"])]
    if "onnx" in ctx.inputs:
        return sorted(p for p in ctx.inputs["onnx"].glob("*.data"))
    return []


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0
