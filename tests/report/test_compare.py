"""`ovrun compare`: what differs between two runs (named, both values), verdicts withheld for
different models / hosts / shapes, and the cross-run significance rule (noise floor and the
runs' own spreads). Documents are complete results.json files, checked against
schemas/results.schema.json. The floor's memo and a real measurement: test_noise_floor.py."""

from __future__ import annotations

import json

import pytest

from runner.report.compare import NoiseFloor, cell_deltas, comparison, only_in
from runner.report.cross_run import verdict
from runner.report.load import _schema_problem

MINILM = {"kind": "hf", "ref": "sentence-transformers/all-MiniLM-L6-v2", "commit": "c9745ed1"}
BERT_TINY = {"kind": "hf", "ref": "prajjwal1/bert-tiny", "commit": "6f75de8b"}
IR_A, IR_B = "a" * 64, "b" * 64
FLOOR = NoiseFloor(
    "memo",
    "test",
    {
        "LATENCY": {"throughput": 0.05, "latency_median": 0.05},
        "THROUGHPUT": {"throughput": 0.08, "latency_median": 0.1},
    },
)


def _doc(
    cpu="Xeon",
    nncf="3.4.0",
    runs=(100.0, 110.0),
    task="bench:int8:CPU:LATENCY",
    model=MINILM,
    ir=IR_A,
    batch=1,
    seq_len=128,
    threads=None,
    size=1000,
) -> dict:
    """A complete results.json (schema-valid) with one CPU LATENCY cell."""
    ordered = sorted(runs)
    ms = sorted(1000.0 / t for t in runs)
    latency = {"median": ms[len(ms) // 2], "p90": ms[-1], "p99": ms[-1]}
    latency |= {"min": ms[0], "max": ms[-1], "mean": sum(ms) / len(ms)}
    spread = {
        "min": min(runs),
        "max": max(runs),
        "relative": (max(runs) - min(runs)) / ordered[len(ordered) // 2],
    }
    properties = {"PERFORMANCE_HINT": "LATENCY"} | (
        {"INFERENCE_NUM_THREADS": threads} if threads else {}
    )
    row = {
        "task": task,
        "variant": "int8",
        "device": "CPU",
        "hint": "LATENCY",
        "cell": "CPU:LATENCY",
        "status": "ok",
        "batch": batch,
        "seq_len": seq_len,
        "input_shapes": {"input_ids": [batch, seq_len]},
        "mode": "sync",
        "nireq": 1,
        "throughput": ordered[len(ordered) // 2],
        "latency_ms": latency,
        "repeats": [
            {
                "throughput": t,
                "latency_ms": latency | {"median": 1000.0 / t},
                "iterations": 10,
                "duration_s": 1.0,
            }
            for t in runs
        ],
        "spread": {"throughput": spread, "latency_median": spread},
        "properties_requested": properties,
        "resolved_properties": {},
        "size_bytes": size,
        "compile_s": 0.1,
        "first_inference_ms": 1.0,
    }
    if ir:
        row["ir_digest"] = ir
    doc = {
        "schema": "ovrun.results/2",
        "recipe": "tiny",
        "host": {
            "openvino": "2026.4.1",
            "available_devices": ["CPU"],
            "host": {"cpu_model": cpu, "cores": 2, "cpu_flags_relevant": ["avx2"], "os": "Linux"},
            "versions": {"nncf": nncf},
            "devices": {
                "CPU": {"FULL_DEVICE_NAME": cpu, "OPTIMIZATION_CAPABILITIES": ["FP32", "INT8"]}
            },
        },
        "benchmarks": [row],
        "run": {"started": 1.8e9, "seconds": 1.0, "tasks": {}},
        "variants": {},
        "evaluations": {},
        "gates": [],
    }
    if model:
        doc["model"] = model
    problem = _schema_problem(doc)
    assert problem is None, problem
    return doc


def _lines(a: dict, b: dict, allowed=frozenset()) -> list[str]:
    return [d["line"] for d in comparison(a, b, FLOOR, allowed)["differences"]]


def test_same_runs_have_no_differences():
    assert _lines(_doc(), _doc()) == []


def test_different_models_are_named_and_withhold_the_verdict():
    a, b = _doc(runs=(100, 101)), _doc(model=BERT_TINY, ir=IR_B, runs=(3000, 3010))
    found = comparison(a, b, FLOOR)
    lines = [d["line"] for d in found["differences"]]
    assert (
        "different model ref: A sentence-transformers/all-MiniLM-L6-v2 vs B prajjwal1/bert-tiny"
        in lines
    )
    assert "different model commit: A c9745ed1 vs B 6f75de8b" in lines
    assert "different IR digest in int8:CPU:LATENCY: A aaaaaaaaaaaa vs B bbbbbbbbbbbb" in lines
    cell = found["cells"][0]["throughput"]
    # the ratio is shown; the bare "significant" is not
    assert cell["ratio"] == pytest.approx(3005 / 100.5, rel=0.01)
    assert cell["verdict"] == "not comparable (different model)"
    assert cell["rule_verdict"] == "significant"
    assert found["not_comparable"] == "not comparable (different model)"
    allowed = comparison(a, b, FLOOR, {"models"})["cells"][0]["throughput"]
    assert allowed["verdict"] == "significant" and "rule_verdict" not in allowed


def test_an_older_results_json_without_model_still_tells_different_irs_apart():
    """No `model`/`ir_digest` recorded (ovrun before this change): a different IR size in the
    same cell may be a different model, so the verdict is withheld just the same."""
    a = _doc(model=None, ir=None, size=90_000_000, runs=(100, 101))
    b = _doc(model=None, ir=None, size=17_000_000, runs=(3000, 3010))
    found = comparison(a, b, FLOOR)
    assert [d["line"] for d in found["differences"]] == [
        "different IR size (bytes) in int8:CPU:LATENCY: A 90000000 vs B 17000000"
    ]
    assert found["cells"][0]["throughput"]["verdict"] == "not comparable (different model)"


def test_different_hosts_are_named_and_withhold_the_verdict():
    a, b = _doc(runs=(100, 101)), _doc(cpu="EPYC", nncf="3.5.0", runs=(150, 151))
    lines = _lines(a, b)
    assert "different CPU device_name: A Xeon vs B EPYC" in lines
    assert "different CPU cpu_model: A Xeon vs B EPYC" in lines
    assert "different nncf: A 3.4.0 vs B 3.5.0" in lines  # software: warned, not withheld
    cell = comparison(a, b, FLOOR)["cells"][0]["throughput"]
    assert cell["verdict"] == "not comparable (different host)"
    only_software = comparison(_doc(runs=(100, 101)), _doc(nncf="3.5.0", runs=(150, 151)), FLOOR)
    assert only_software["cells"][0]["throughput"]["verdict"] == "significant"


def test_different_shapes_are_named_per_cell():
    a, b = _doc(runs=(100, 101)), _doc(batch=2, seq_len=64, runs=(150, 151))
    lines = _lines(a, b)
    assert "different batch in int8:CPU:LATENCY: A 1 vs B 2" in lines
    assert "different seq_len in int8:CPU:LATENCY: A 128 vs B 64" in lines
    assert (
        comparison(a, b, FLOOR)["cells"][0]["throughput"]["verdict"]
        == "not comparable (different shape)"
    )
    assert comparison(a, b, FLOOR, {"shapes"})["cells"][0]["throughput"]["verdict"] == "significant"


def test_different_ir_of_the_same_model_and_other_properties_warn_only():
    a, b = _doc(runs=(100, 101)), _doc(ir=IR_B, threads=1, runs=(50, 51))
    found = comparison(a, b, FLOOR)
    lines = [d["line"] for d in found["differences"]]
    assert "different IR digest in int8:CPU:LATENCY: A aaaaaaaaaaaa vs B bbbbbbbbbbbb" in lines
    assert (
        "different requested INFERENCE_NUM_THREADS in int8:CPU:LATENCY: A (not recorded) vs B 1"
        in lines
    )
    assert not any(d["blocking"] for d in found["differences"])
    assert found["cells"][0]["throughput"]["verdict"] == "significant"


def test_significant_only_beyond_floor_and_spreads():
    # tight spreads that do not overlap, ratio 1.03: under the 5% LATENCY floor
    under = cell_deltas(_doc(runs=(100, 100.5)), _doc(runs=(103, 103.5)), FLOOR)[0]["throughput"]
    assert under["beyond_spreads"] is True and under["beyond_floor"] is False
    assert under["verdict"] == "within noise"
    # ratio 1.2, spreads apart: beyond both
    over = cell_deltas(_doc(runs=(100, 101)), _doc(runs=(120, 121)), FLOOR)[0]["throughput"]
    assert over["beyond_floor"] is True and over["verdict"] == "significant"
    # ratio 1.2 but the repeats overlap: within the runs' own noise
    wide = cell_deltas(_doc(runs=(80, 120)), _doc(runs=(110, 150)), FLOOR)[0]["throughput"]
    assert wide["beyond_floor"] is True and wide["verdict"] == "within noise"
    # no floor known: never a bare "significant"
    none = cell_deltas(_doc(runs=(100, 101)), _doc(runs=(120, 121)))[0]["throughput"]
    assert none["verdict"] == "no noise floor"
    single = cell_deltas(_doc(runs=(100,)), _doc(runs=(200,)), FLOOR)[0]["throughput"]
    assert single["verdict"] == "noise not measured"


def test_verdict_rule_directly():
    assert (
        verdict((1.0, 0.99, 1.01, True), (1.2, 1.19, 1.21, True), 0.1)["verdict"] == "significant"
    )
    assert (
        verdict((1.0, 0.99, 1.01, True), (1.2, 1.19, 1.21, True), 0.25)["verdict"] == "within noise"
    )
    # slower is judged like faster: |log ratio| against log(1 + floor)
    assert (
        verdict((1.2, 1.19, 1.21, True), (1.0, 0.99, 1.01, True), 0.1)["verdict"] == "significant"
    )


def test_cells_in_one_run_only_are_listed():
    a, b = _doc(), _doc(task="bench:int8:CPU:THROUGHPUT")
    assert cell_deltas(a, b, FLOOR) == []
    assert only_in(a, b) == ["bench:int8:CPU:LATENCY"]


def test_compare_cli_json_and_text(tmp_path):
    from recipes_util import ovrun

    docs = {"a": _doc(runs=(100, 104)), "b": _doc(cpu="EPYC", runs=(150, 151))}
    for name, doc in docs.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(doc))
    args = (str(tmp_path / "a"), str(tmp_path / "b"), "--cache-dir", str(tmp_path / "cache"))
    result = ovrun("compare", *args, "--json", "--no-measure-noise")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert "different CPU cpu_model: A Xeon vs B EPYC" in [d["line"] for d in found["differences"]]
    cell = found["cells"][0]
    assert cell["task"] == "bench:int8:CPU:LATENCY"
    assert cell["throughput"]["verdict"] == "not comparable (different host)"
    assert found["noise_floor"]["status"] == "missing"
    text = ovrun("compare", *args, "--no-measure-noise", "--allow-different", "hosts")
    assert text.returncode == 0, text.stderr
    assert "warning: different CPU cpu_model: A Xeon vs B EPYC" in text.stdout
    assert "noise floor: none" in text.stdout
    assert "no noise floor" in text.stdout  # the withheld-floor verdict, not "significant"
    bad = ovrun("compare", *args, "--allow-different", "colours")
    assert bad.returncode == 2 and "unknown kind 'colours'" in bad.stderr + bad.stdout
    missing = ovrun("compare", str(tmp_path / "a"), str(tmp_path / "none"), "--json")
    assert (
        missing.returncode == 2
        and "no results.json" in json.loads(missing.stdout)["error"]["message"]
    )
