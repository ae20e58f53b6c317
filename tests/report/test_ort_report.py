"""ONNX Runtime rows in the report: a real OpenVINO cell and a real ONNX Runtime cell of one
tiny model, gathered by the report op; the rows fit the results schema, the terminal table
and report.html show the ORT row and OpenVINO's ratio over it, a GPU ORT cell is skipped
with the reason. (The same through the CLI: tests/e2e/test_ort_cells.py, slow.)"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from tiny_models import tiny_encoder

from runner.adapters import benchmark, ort_benchmark
from runner.adapters.report import build_results
from runner.plan.context import TaskContext
from runner.recipe.runtimes import NOT_CPU
from runner.report.html import render
from runner.report.load import schema_path
from runner.report.table import summary_table

PARAMS = {"duration_s": 0.05, "warmup": 1, "batch": 1, "seq_len": 8, "seed": 0, "repeats": 2}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(enc.onnx, the export-like dir holding model/openvino_model.xml of the same graph)."""
    import openvino as ov
    import torch

    root = tmp_path_factory.mktemp("ort_report")
    onnx = root / "enc.onnx"
    ids = torch.ones(1, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        tiny_encoder(60),
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(onnx),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names},
        dynamo=False,
    )
    (root / "up" / "model").mkdir(parents=True)
    ov.save_model(ov.convert_model(onnx), root / "up" / "model" / "openvino_model.xml")
    (root / "up" / "model" / "config.json").write_text('{"vocab_size": 60}')
    return onnx, root / "up"


def _measure(run, task: str, hint: str, model: tuple[Path, Path], out: Path, **extra) -> Path:
    onnx, upstream = model
    out.mkdir(parents=True)
    params = {**PARAMS, "hint": hint, **extra}
    files = {"onnx": onnx} if run is ort_benchmark.run else {}
    ctx = TaskContext(task, "x", params, {"model": upstream}, files, out, device="CPU")
    (out / "result.json").write_text(json.dumps(run(ctx)))
    return out


def test_ort_rows_fit_the_schema_and_the_table_shows_openvinos_ratio(
    model: tuple[Path, Path], tmp_path: Path
) -> None:
    import jsonschema

    cells, inputs = {}, {}
    for hint in ("LATENCY", "THROUGHPUT"):
        ov_task, ort_task = f"bench:fp32:CPU:{hint}", f"bench:fp32@onnxruntime:CPU:{hint}"
        inputs[ov_task] = _measure(
            benchmark.run, ov_task, hint, model, tmp_path / f"ov{hint}", properties={}
        )
        inputs[ort_task] = _measure(ort_benchmark.run, ort_task, hint, model, tmp_path / hint)
        shape = {"cell": f"CPU:{hint}", "device": "CPU", "hint": hint, "batch": 1, "seq_len": 8}
        cells[ov_task] = {"op": "benchmark", "variant": "fp32", **shape}
        cells[ort_task] = {
            "op": "ort_benchmark",
            "variant": "fp32@onnxruntime",
            "runtime": "onnxruntime",
            **shape,
        }
    gpu = "bench:fp32@onnxruntime:GPU:LATENCY"
    cells[gpu] = {
        **cells["bench:fp32@onnxruntime:CPU:LATENCY"],
        "device": "GPU",
        "cell": "GPU:LATENCY",
    }
    params = {
        "recipe": "r",
        "variants": {"fp32": {}},
        "reference": "fp32",
        "cells": cells,
        "skipped": {gpu: NOT_CPU},
    }
    results = build_results(params, inputs)

    schema = json.loads(schema_path().read_text())["properties"]["benchmarks"]
    jsonschema.validate(results["benchmarks"], schema)  # raises on a row that does not fit
    rows = {b["task"]: b for b in results["benchmarks"]}
    assert (rows[gpu]["status"], rows[gpu]["reason"]) == ("skipped", NOT_CPU)

    from rich.console import Console

    console = Console(file=io.StringIO(), width=220)
    console.print(summary_table(results))
    table = console.file.getvalue()
    page = render(results)
    assert "vs onnxruntime" in table and "vs onnxruntime" in page
    for hint in ("LATENCY", "THROUGHPUT"):
        ov, ort = rows[f"bench:fp32:CPU:{hint}"], rows[f"bench:fp32@onnxruntime:CPU:{hint}"]
        assert ort["status"] == "ok" and ort["runtime"] == "onnxruntime"
        ratio = ov["throughput"] / ort["throughput"]
        assert ov["speedup_vs_onnxruntime"] == pytest.approx(ratio)
        text = f"{ratio:.2f}× ({ov['speedup_vs_onnxruntime_verdict']})"
        assert text in table and text in page
        # the ORT row against the reference variant's OpenVINO cell: the inverse ratio
        assert ort["speedup_vs_reference"] == pytest.approx(1 / ratio)
    ort_lines = [line for line in table.splitlines() if "fp32@onnxruntime" in line]
    assert len(ort_lines) == 3 and any("skipped" in line for line in ort_lines)
