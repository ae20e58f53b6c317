"""ONNX Runtime cells (`targets.runtimes`) measured for real: an `onnx:` source and an HF
model exported to ONNX, rows checked against the results schema, the table's ORT rows and
its OpenVINO-over-ONNX-Runtime ratios, non-CPU ORT cells skipped with the reason.

Plan / recipe level (ids, keys, asserts, the missing-package error): tests/plan/test_ort_plan.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from recipes_util import ovrun, write
from tiny_models import tiny_encoder

from runner.cache.store import Cache
from runner.recipe.runtimes import NOT_CPU
from runner.report.load import load_results

BENCH = "{duration_s: 0.05, warmup: 1, seq_len: 16, repeats: 2}"


def _vocab(model_dir: Path) -> int:
    return json.loads((model_dir / "config.json").read_text())["vocab_size"]


def _onnx_encoder(path: Path, vocab: int) -> Path:
    import torch

    ids = torch.ones(1, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        tiny_encoder(vocab),
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(path),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names},
        dynamo=False,
    )
    return path


def _run(tmp: Path, source: str, targets: str, asserts: str = "[]") -> tuple[dict, str, Cache]:
    recipe = write(
        tmp / "o.yaml",
        f"""
        version: 1
        name: ortcells
        model:
          source: {source}
          task: feature-extraction
        variants:
          fp32: {{}}
        targets: {targets}
        benchmark: {BENCH}
        assert: {asserts}
        """,
    )
    # wide enough that no table cell wraps: the assertions read cells as one line
    result = ovrun(str(recipe), "--cache-dir", str(tmp / "cache"), env={"COLUMNS": "260"})
    assert result.returncode == 0, result.stdout + result.stderr
    # load_results checks the file against schemas/results.schema.json (exit 2 otherwise)
    return load_results(tmp / "ortcells.out" / "results.json"), result.stdout, Cache(tmp / "cache")


def _rows(results: dict) -> dict[str, dict]:
    return {row["task"]: row for row in results["benchmarks"]}


@pytest.mark.slow  # two CLI runs with an export each (~30-60 s on a busy 2-core host)
def test_onnx_source_cells_beside_openvino_with_ratio_and_gpu_skip(
    tmp_path: Path, tiny_bert_dir: Path
) -> None:
    import onnxruntime

    _onnx_encoder(tmp_path / "enc.onnx", _vocab(tiny_bert_dir))
    shutil.copytree(tiny_bert_dir, tmp_path / "tok")
    results, stdout, _ = _run(
        tmp_path,
        "{onnx: enc.onnx, tokenizer: tok, inputs: {input_ids: [-1, -1]}}",
        "{devices: [CPU, GPU], hints: [LATENCY, THROUGHPUT], runtimes: [openvino, onnxruntime]}",
        '["fp32@onnxruntime.CPU.THROUGHPUT.throughput > 0"]',
    )
    rows = _rows(results)
    for hint, mode in (("LATENCY", "sync"), ("THROUGHPUT", "parallel")):
        ort = rows[f"bench:fp32@onnxruntime:CPU:{hint}"]
        assert ort["status"] == "ok", ort
        assert ort["runtime"] == "onnxruntime"
        assert ort["runtime_version"] == onnxruntime.__version__
        assert ort["mode"] == mode and ort["variant"] == "fp32@onnxruntime"
        assert ort["input_shapes"]["input_ids"] == [1, 16]  # the OpenVINO cell's static shape
        assert len(ort["repeats"]) == 2 and ort["throughput"] > 0
        assert ort["iterations"] == sum(r["iterations"] for r in ort["repeats"])
        assert ort["size_bytes"] == (tmp_path / "enc.onnx").stat().st_size
        ov = rows[f"bench:fp32:CPU:{hint}"]
        ratio = ov["throughput"] / ort["throughput"]
        assert ov["speedup_vs_onnxruntime"] == pytest.approx(ratio)
        lo, hi = ov["speedup_vs_onnxruntime_range"]
        assert lo <= ratio <= hi
        assert f"{ratio:.2f}× ({ov['speedup_vs_onnxruntime_verdict']})" in stdout
        assert "speedup_vs_onnxruntime" not in ort  # the ratio lives on the OpenVINO row
    for hint in ("LATENCY", "THROUGHPUT"):
        gpu = rows[f"bench:fp32@onnxruntime:GPU:{hint}"]
        assert (gpu["status"], gpu["reason"]) == ("skipped", NOT_CPU)
    assert "vs onnxruntime" in stdout and "fp32@onnxruntime" in stdout
    assert f"2 cell(s) skipped: {NOT_CPU}" in stdout
    assert "passed: fp32@onnxruntime.CPU.THROUGHPUT.throughput > 0" in stdout


@pytest.mark.slow  # the ONNX export of the tiny BERT (torch.export) plus a CLI run
def test_hf_model_exported_to_onnx_once_and_measured(tmp_path: Path, tiny_bert_dir: Path) -> None:
    import onnxruntime
    import openvino as ov

    shutil.copytree(tiny_bert_dir, tmp_path / "model")
    results, stdout, cache = _run(
        tmp_path,
        "{path: model}",
        "{devices: [CPU], hints: [LATENCY], runtimes: [openvino, onnxruntime]}",
    )
    ort = _rows(results)["bench:fp32@onnxruntime:CPU:LATENCY"]
    assert ort["status"] == "ok" and ort["runtime"] == "onnxruntime"
    assert "vs onnxruntime" in stdout

    # The export is the model: ONNX Runtime and the OpenVINO IR agree on one input.
    tasks = results["run"]["tasks"]
    onnx = cache.out_dir(tasks["onnx"]["key"]) / "model.onnx"
    ir = cache.out_dir(tasks["export"]["key"]) / "model" / "openvino_model.xml"
    rng = np.random.default_rng(0)
    feed = {
        "input_ids": rng.integers(0, _vocab(tiny_bert_dir), (2, 12), dtype=np.int64),
        "attention_mask": np.ones((2, 12), dtype=np.int64),
        "token_type_ids": np.zeros((2, 12), dtype=np.int64),
    }
    session = onnxruntime.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    got = session.run(None, feed)[0]
    compiled = ov.Core().compile_model(ir, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    want = compiled(feed)[0]
    np.testing.assert_allclose(got, want, atol=1e-4)

    # a second run: the export and the cells come from the cache
    again = ovrun(str(tmp_path / "o.yaml"), "--cache-dir", str(tmp_path / "cache"))
    assert again.returncode == 0 and "running onnx" not in again.stdout + again.stderr
