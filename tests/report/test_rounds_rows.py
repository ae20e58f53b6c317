"""Rows measured in interleaved rounds, through the report op, the schema and the table:
the paired verdict lands in results.json, a group stopped by max_s is flagged on its cells.
Synthetic rows (no inference): what is checked is the report side."""

from __future__ import annotations

import json
from pathlib import Path

from runner.adapters.report import build_results
from runner.report.load import schema_path
from runner.report.noise_text import speedup_text, spread_text
from runner.report.verdict import METHOD, throughput_interval

GROUP = "rounds:CPU:LATENCY"


def _row(values: list[float], reached: bool | None) -> dict:
    rounds = [
        {"pass": i, "position": i % 2, "started_s": i * 0.5, "wall_s": 0.25}
        | {"samples": int(v / 4), "throughput": v, "latency_median_ms": 1000 / v}
        for i, v in enumerate(values)
    ]
    interval = throughput_interval(rounds)
    stats = {k: 1.0 for k in ("median", "p90", "p99", "min", "max", "mean")}
    return {
        "device": "CPU", "hint": "LATENCY", "batch": 1, "seq_len": 16, "mode": "sync",
        "stateful": False, "input_shapes": {"input_ids": [1, 16]}, "compile_s": 0.1,
        "first_inference_ms": 1.0, "warmup": 1, "nireq": 1, "properties_requested": {},
        "resolved_properties": {}, "size_bytes": 10, "peak_rss_mb": 1.0,
        "latency_ms": stats, "throughput": interval.estimate,
        "throughput_ci": interval.as_dict(), "iterations": 1, "duration_s": 1.0,
        "rounds": rounds,
        "spread": {"throughput": {"min": 1, "max": 2, "relative": 0.1},
                   "latency_median": {"min": 1, "max": 2, "relative": 0.1}},
        "measurement": {"method": "interleaved rounds", "group": GROUP, "stopped": "max_s",
                        "target_ci": 0.02, "max_s": 10.0, "ci_reached": reached},
    }  # fmt: skip


def test_paired_verdict_and_max_s_flag_reach_results_and_table(tmp_path: Path) -> None:
    steady = [1000.0 + (i % 3) for i in range(12)]
    noisy = [1300.0, 900.0, 1500.0, 700.0, 1200.0, 1100.0] * 2
    inputs, cells = {}, {}
    for variant, values, reached in (("fp32", steady, True), ("int8", noisy, False)):
        task = f"bench:{variant}:CPU:LATENCY"
        (tmp_path / variant).mkdir()
        (tmp_path / variant / "result.json").write_text(json.dumps(_row(values, reached)))
        inputs[task] = tmp_path / variant
        cells[task] = {"op": "bench_cell", "variant": variant, "device": "CPU"}
        cells[task] |= {"hint": "LATENCY", "cell": "CPU:LATENCY"}
    params = {"recipe": "r", "variants": {"fp32": {}, "int8": {}}, "reference": "fp32"}
    results = json.loads(json.dumps(build_results(params | {"cells": cells}, inputs)))
    import jsonschema

    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    jsonschema.validate(results["benchmarks"], schema["properties"]["benchmarks"])
    broken = {k: v for k, v in results["benchmarks"][0].items() if k != "rounds"}
    assert not jsonschema.Draft202012Validator(schema["properties"]["benchmarks"]).is_valid(
        [broken]
    )  # an ok row needs its rounds (or, from older runs, its repeats)
    ref, var = results["benchmarks"]
    assert var["speedup_method"] == METHOD
    assert var["speedup_verdict"] == "within noise"  # ±40% noise: the interval spans 1
    low, high = var["speedup_range"]
    assert low < 1 < high
    assert "ci_not_reached" in spread_text(var) and "ci_not_reached" not in spread_text(ref)
    assert "(within noise)" in speedup_text(var)
