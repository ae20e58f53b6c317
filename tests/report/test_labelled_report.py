"""What gates, assert: names and the table read from a labelled evaluation (report/labelled.py),
on results documents built here."""

from __future__ import annotations

import pytest

from runner.adapters.report import _gates
from runner.report.labelled import task_cells, task_lines
from runner.report.stats import variant_value


def results(missing: dict | None = None) -> dict:
    task_metrics = {
        "kind": "qa",
        "primary": "f1",
        "samples": 8,
        "reference": {"f1": 0.75, "exact_match": 0.5},
        "deployed": {"f1": 0.5, "exact_match": 0.25, "precision": "bf16"},
        "compression": {"f1": 0.625, "exact_match": 0.5},
        "drop": {"f1": 0.25, "exact_match": 0.25},
    }
    evaluation = {"metric": "span_agreement", "value": 0.9, "accuracy_drop": 0.1,
                  "compression": {"precision": "f32", "value": 0.95}, "task_metrics": task_metrics}  # fmt: skip
    doc = {"reference": "fp32", "evaluations": {"int8": evaluation}, "benchmarks": []}
    if missing:
        doc["missing"] = missing
    return doc


def test_reference_reads_its_own_figures_and_variants_their_deployed_ones() -> None:
    doc = results()
    assert variant_value(doc, "fp32", "f1")[0] == 0.75  # not 1.0: measured on the labels
    assert variant_value(doc, "int8", "f1")[0] == 0.5
    assert variant_value(doc, "int8", "exact_match")[0] == 0.25
    # accuracy on a QA set stays the agreement figure (span agreement)
    assert variant_value(doc, "int8", "accuracy")[0] == 0.9
    assert task_cells(doc, "fp32") == ["0.7500", "0.5000"]
    assert task_lines(doc) == [
        "labelled qa set, 8 samples: fp32 f1 0.7500, exact_match 0.5000 (reference) · "
        "int8 f1 0.5000, exact_match 0.2500"
    ]


@pytest.mark.parametrize(("on", "value", "drop", "precision"),
                         [("deployed", 0.5, 0.25, "bf16"), ("compression", 0.625, 0.125, "f32")])  # fmt: skip
def test_the_gate_reads_the_primary_metrics_drop(on, value, drop, precision) -> None:
    cells = {"eval:int8": {"op": "evaluate", "variant": "int8", "reference": "fp32"}}
    doc = results()
    gates = _gates(cells, doc["evaluations"], {}, {}, 0.2, on)
    gate = gates[0]
    assert (gate["metric"], gate["value"], gate["reference_value"]) == ("f1", value, 0.75)
    assert gate["accuracy_drop"] == pytest.approx(drop) and gate["precision"] == precision
    assert gate["passed"] is (drop <= 0.2)


def test_a_task_metric_without_a_labelled_evaluation_says_why() -> None:
    doc = results(missing={"eval:int8": {"state": "failed", "reason": "boom"}})
    doc["evaluations"] = {}
    assert variant_value(doc, "fp32", "spearman") == "not evaluated (eval:int8 failed)"
    assert variant_value(results() | {"evaluations": {}}, "int8", "f1") == (
        "no labelled evaluation with f1 in this run"
    )
