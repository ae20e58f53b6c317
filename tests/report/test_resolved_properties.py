"""A cell whose compiled model resolved a property differently from the request is marked in
the table (``s2→1``) and said under it, in the terminal and in report.html. The cell is a real
benchmark of a tiny BERT: two streams requested, one thread allowed, so the CPU plugin runs
one stream."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from runner.adapters import benchmark
from runner.adapters.report import build_results
from runner.plan.context import TaskContext
from runner.report.html import render
from runner.report.resolved import differences, resolved_lines
from runner.report.table import summary_table


@pytest.fixture(scope="module")
def bert_out(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import optimum.intel

    out = tmp_path_factory.mktemp("bert_ir")
    optimum.intel.OVModelForFeatureExtraction.from_pretrained(
        tiny_bert_dir, export=True, compile=False
    ).save_pretrained(out / "model")
    return out


def _cell(upstream: Path, out: Path, streams: int) -> Path:
    out.mkdir(parents=True)
    params = {
        "duration_s": 0.2,
        "warmup": 1,
        "batch": 1,
        "seq_len": 8,
        "seed": 0,
        "hint": "THROUGHPUT",
        "properties": {"NUM_STREAMS": streams, "INFERENCE_NUM_THREADS": 1},
    }
    ctx = TaskContext("bench", "benchmark", params, {"model": upstream}, {}, out, device="CPU")
    import json

    (out / "result.json").write_text(json.dumps(benchmark.run(ctx)))
    return out


def test_clamped_streams_are_marked_in_table_lines_and_html(bert_out: Path, tmp_path: Path) -> None:
    cells, inputs = {}, {}
    for streams in (1, 2):
        task = f"bench:fp32:CPU:THROUGHPUT:s{streams}"
        inputs[task] = _cell(bert_out, tmp_path / f"s{streams}", streams)
        cells[task] = {
            "op": "benchmark",
            "variant": "fp32",
            "device": "CPU",
            "hint": "THROUGHPUT",
            "cell": f"CPU:THROUGHPUT:s{streams}",
            "streams": streams,
            "threads": 1,
        }
    params = {"recipe": "r", "variants": {"fp32": {}}, "reference": "fp32", "cells": cells}
    results = build_results(params, inputs)
    two = results["benchmarks"][1]
    # measured, not assumed: one thread leaves room for one stream
    assert two["resolved_properties"]["NUM_STREAMS"] == 1
    assert differences(two) == {"NUM_STREAMS": (2, 1)}
    assert differences(results["benchmarks"][0]) == {}

    from rich.console import Console

    console = Console(file=io.StringIO(), width=200)
    console.print(summary_table(results))
    table = console.file.getvalue()
    assert "s2→1" in table and "s1→" not in table
    (line,) = resolved_lines(results)
    assert line == (
        "note: NUM_STREAMS requested 2 but the compiled model resolved 1 in 1 cell(s): "
        "bench:fp32:CPU:THROUGHPUT:s2"
    )
    page = render(results)
    assert "s2→1" in page and "(requested 2)" in page and "NUM_STREAMS requested 2" in page


def test_a_property_outside_the_cell_label_is_marked_after_the_hint() -> None:
    from runner.report.table import _marked

    row = {
        "hint": "LATENCY",
        "properties_requested": {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "bf16"},
        "resolved_properties": {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"},
    }
    hint, dims = _marked(row, [])
    assert hint == "LATENCY [yellow]bf16→f32[/]" and dims == ""
    # the device deciding (NUM_STREAMS AUTO) is honoured by any resolved value
    auto = {
        "properties_requested": {"NUM_STREAMS": "AUTO"},
        "resolved_properties": {"NUM_STREAMS": 3},
    }
    assert differences(auto) == {}
