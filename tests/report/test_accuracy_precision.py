"""Accuracy under the precision that will run: evaluation params from the recipe (which
numeric properties the bench cells and deploy use), gates and assert: naming which figures
they read, and the lines under the table. The evaluation itself (real inference, read-back
precision, dedupe on an f32-default CPU): tests/adapters/test_evaluate.py."""

from __future__ import annotations

from pathlib import Path

from recipes_util import minimal_recipe

from runner.adapters.report import build_results
from runner.plan.build import build_plan
from runner.recipe.resolve import load_recipe
from runner.report.accuracy import accuracy_lines
from runner.report.asserts import check
from runner.report.table import gate_lines

BODY = """
version: 1
name: mini
model:
  source: {{path: model}}
data:
  calib: {{text: calib.txt, samples: 2}}
variants:
  fp32: {{}}
  int8: {{quantize: {{dataset: calib}}}}
targets: {targets}
evaluate: {{dataset: calib, reference: fp32, max_drop: 0.01{gate}}}
{extra}
"""


def _recipe(tmp: Path, targets: str, gate: str = "", extra: str = "") -> Path:
    return minimal_recipe(tmp, BODY.format(targets=targets, gate=gate, extra=extra))


def test_eval_params_hold_the_numeric_properties_of_cells_and_deploy(tmp_path: Path) -> None:
    path = _recipe(
        tmp_path,
        "{devices: [CPU], hints: [LATENCY, THROUGHPUT], precisions: [f32, bf16], streams: [1, 2]}",
        extra="deploy: {variants: [int8], properties: {INFERENCE_PRECISION_HINT: bf16}}",
    )
    params = build_plan(load_recipe(path)).tasks["eval:int8"].params
    bf16, f32 = {"INFERENCE_PRECISION_HINT": "bf16"}, {"INFERENCE_PRECISION_HINT": "f32"}
    assert params["properties"] == f32  # the reference precision: compression alone
    assert params["deployed_properties"] == bf16
    # streams and hints do not change numerics: not in the params, so not in the key
    assert params["runtime_properties"] == [bf16, f32]


def test_adding_a_hint_does_not_rekey_the_evaluation(tmp_path: Path) -> None:
    one = build_plan(load_recipe(_recipe(tmp_path, "{devices: [CPU], hints: [LATENCY]}")))
    two = build_plan(
        load_recipe(_recipe(tmp_path, "{devices: [CPU], hints: [LATENCY, THROUGHPUT]}"))
    )
    assert one.tasks["eval:int8"].params == two.tasks["eval:int8"].params
    assert one.tasks["eval:int8"].params["deployed_properties"] == {}  # the device default


# An int8 evaluation as the adapter writes it on an AMX CPU (figures from the issue: f32 mean
# 0.9977 / worst 0.9956, bf16 default mean 0.9963 / worst 0.723).
_F32 = {"value": 0.9977, "min": 0.9956, "p05": 0.9960, "accuracy_drop": 0.0023}
_BF16 = {"value": 0.9963, "min": 0.723, "p05": 0.90, "accuracy_drop": 0.0037}
EVAL = {
    "metric": "cosine",
    **_BF16,
    "inference_precision": "bf16",
    "deployed": {"precision": "bf16", "properties": {}},
    "compression": {"precision": "f32", **_F32},
    "same_precision": False,
}


def _results(tmp_path: Path, evaluation: dict, gate: str | None, max_drop: float) -> dict:
    (tmp_path / "eval").mkdir(exist_ok=True)
    import json

    (tmp_path / "eval" / "result.json").write_text(json.dumps(evaluation))
    params = {
        "recipe": "mini",
        "variants": {"fp32": {}, "int8": {}},
        "reference": "fp32",
        "metric": "cosine",
        "max_drop": max_drop,
        "gate": gate,
        "cells": {"eval:int8": {"op": "evaluate", "variant": "int8", "reference": "fp32"}},
    }
    return build_results(params, {"eval:int8": tmp_path / "eval"})


def test_gate_reads_the_deployed_precision_by_default(tmp_path: Path) -> None:
    results = _results(tmp_path, EVAL, None, 0.003)
    (gate,) = results["gates"]
    assert (gate["on"], gate["precision"], gate["value"]) == ("deployed", "bf16", 0.9963)
    assert gate["passed"] is False  # 0.0037 > 0.003, although f32 alone would pass
    assert gate_lines(results) == [
        "gate FAILED: int8 cosine 0.9963 at bf16 (deployed) (drop 0.0037, max_drop 0.003)"
    ]


def test_gate_on_compression_reads_f32(tmp_path: Path) -> None:
    results = _results(tmp_path, EVAL, "compression", 0.003)
    (gate,) = results["gates"]
    assert (gate["on"], gate["precision"], gate["passed"]) == ("compression", "f32", True)
    assert "at f32 (compression alone)" in gate_lines(results)[0]


def test_lines_show_both_precisions_mean_and_worst_case(tmp_path: Path) -> None:
    results = _results(tmp_path, EVAL, None, 0.01)
    assert accuracy_lines(results) == [
        "int8 cosine at bf16 (deployed): mean 0.9963, min 0.7230, p5 0.9000 · "
        "at f32 (compression alone): mean 0.9977, min 0.9956, p5 0.9960"
    ]
    same = {**EVAL, **_F32, "deployed": {"precision": "f32"}, "same_precision": True}
    results = _results(tmp_path, same, None, 0.01)
    (line,) = accuracy_lines(results)
    assert line.startswith("int8 cosine at f32: mean 0.9977, min 0.9956")
    assert "one evaluation" in line


def test_asserts_name_which_precision_they_read(tmp_path: Path) -> None:
    path = _recipe(
        tmp_path,
        "{devices: [CPU], hints: [LATENCY]}",
        extra='assert:\n  - "int8.accuracy_min >= 0.9"\n  - "int8.compression_accuracy_min >= 0.9"',
    )
    recipe = load_recipe(path)
    results = _results(tmp_path, EVAL, None, 0.01)
    deployed, alone = (check(a, results) for a in recipe.asserts)
    assert deployed["passed"] is False and alone["passed"] is True
    assert deployed["precisions"] == {"int8.accuracy_min": "bf16 (deployed)"}
    assert alone["precisions"] == {"int8.compression_accuracy_min": "f32 (compression alone)"}
    from runner.report.asserts import describe

    assert describe(deployed).endswith("[int8.accuracy_min at bf16 (deployed)]")
