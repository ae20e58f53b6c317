"""The `% peak` column: terminal table and HTML summary from the roofline fields of a row,
and the results schema accepting them (and rejecting a bad `bound`)."""

from __future__ import annotations

import io
import json

import jsonschema
import pytest
from recipes_util import REPO

from runner.report.html import render
from runner.report.roofline_text import peak_text
from runner.report.table import summary_table

ROOF = {
    "flops_per_inference": 2_893_873_152,
    "bytes_per_inference": 123_306_385,
    "intensity": 23.47,
    "gflops": 10.0,
    "peak_gflops": 40.0,
    "peak_precision": "f32",
    "peak_share": 0.25,
    "bandwidth_gbps": 8.0,
    "bound": "compute",
}


def _results(roof: dict) -> dict:
    row = {
        "task": "bench:fp32:CPU:LATENCY",
        "variant": "fp32",
        "cell": "CPU:LATENCY",
        "device": "CPU",
        "hint": "LATENCY",
        "status": "ok",
        "throughput": 3.46,
        "latency_ms": {"median": 289.0, "p90": 300.0, "p99": 310.0},
        "repeats": [{"throughput": 3.46, "latency_ms": {"median": 289.0}}],
        "spread": {"throughput": {"relative": 0.0}},
        **roof,
    }
    skipped = {
        "task": "bench:fp32:GPU:LATENCY",
        "variant": "fp32",
        "cell": "GPU:LATENCY",
        "device": "GPU",
        "hint": "LATENCY",
        "status": "skipped",
        "reason": "device GPU not available",
    }
    return {
        "schema": "ovrun.results/2",
        "recipe": "roof",
        "reference": "fp32",
        "metric": "cosine",
        "variants": {"fp32": {}},
        "evaluations": {},
        "gates": [],
        "benchmarks": [row, skipped],
        "host": {"host": {"cpu_model": "Test CPU"}},
    }


def _terminal(results: dict) -> str:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=220)
    console.print(summary_table(results))
    return console.file.getvalue()


def test_terminal_column_shows_share_and_bound() -> None:
    text = _terminal(_results(ROOF))
    assert "% peak" in text
    (line,) = [x for x in text.splitlines() if "3.5" in x and "fp32" in x]
    assert "25% cmp" in line
    memory = _terminal(_results(ROOF | {"peak_share": 0.031, "bound": "memory"}))
    assert "3% mem" in memory


def test_no_peak_shows_a_dash_not_a_figure() -> None:
    assert peak_text(ROOF | {"peak_share": None, "peak_gflops": None, "bound": None}) == "-"
    assert peak_text({"throughput": 1.0}) == "-"  # a row from before the roofline fields


def test_html_summary_has_the_column_and_the_figures_behind_it() -> None:
    page = render(_results(ROOF))
    assert "<th>% peak</th>" in page
    assert "25% compute-bound" in page
    assert "10.0 GFLOP/s achieved, 40.0 GFLOP/s peak at f32" in page


def test_schema_takes_the_roofline_fields() -> None:
    schema = json.loads((REPO / "schemas" / "results.schema.json").read_text())
    items = schema["properties"]["benchmarks"]["items"]  # self-contained: no $ref
    # the per-status requirements are not this test's business: the field types are
    row_schema = {k: v for k, v in items.items() if k != "allOf"}

    labels = ("task", "variant", "device", "hint", "cell", "status")

    def check(roof: dict) -> None:
        row = _results(roof)["benchmarks"][0]
        jsonschema.validate({k: row[k] for k in labels} | roof, row_schema)

    check(ROOF)
    check({k: None for k in ROOF})  # not measured
    with pytest.raises(jsonschema.ValidationError):
        check(ROOF | {"bound": "cache"})
    with pytest.raises(jsonschema.ValidationError):
        check(ROOF | {"peak_share": -0.1})
