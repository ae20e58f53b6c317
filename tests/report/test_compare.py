"""`ovrun compare` building blocks: fingerprint differences and noise-aware cell deltas.
The CLI end to end (on a real run) is in test_report_html.py."""

from __future__ import annotations

from runner.report.compare import cell_deltas, fingerprint_differences, only_in
from runner.report.stats import verdict


def _doc(cpu="Xeon", nncf="3.4.0", runs=(100.0, 110.0), task="bench:int8:CPU:LATENCY"):
    ordered = sorted(runs)
    return {
        "schema": "ovrun.results/2",
        "host": {
            "openvino": "2026.4.1",
            "host": {"cpu_model": cpu, "cores": 2, "cpu_flags_relevant": ["avx2"], "os": "Linux"},
            "versions": {"nncf": nncf},
            "devices": {"CPU": {"OPTIMIZATION_CAPABILITIES": ["FP32", "INT8"]}},
        },
        "benchmarks": [
            {
                "task": task,
                "variant": "int8",
                "status": "ok",
                "throughput": ordered[len(ordered) // 2],
                "latency_ms": {"median": 1000.0 / ordered[0]},
                "repeats": [{"throughput": t, "latency_ms": {"median": 1000.0 / t}} for t in runs],
            }
        ],
    }


def test_same_fingerprint_has_no_differences():
    assert fingerprint_differences(_doc(), _doc()) == []


def test_fingerprint_differences_name_each_field():
    lines = fingerprint_differences(_doc(), _doc(cpu="EPYC", nncf="3.5.0"))
    assert lines == ["CPU: Xeon vs EPYC", "nncf: 3.4.0 vs 3.5.0"]


def test_deltas_are_significant_only_beyond_the_spread():
    far = cell_deltas(_doc(runs=(100, 104)), _doc(runs=(150, 151)))[0]["throughput"]
    assert far["verdict"] == "significant" and far["ratio"] == 151 / 104
    near = cell_deltas(_doc(runs=(100, 110)), _doc(runs=(105, 112)))[0]["throughput"]
    assert near["verdict"] == "within noise"
    single = cell_deltas(_doc(runs=(100,)), _doc(runs=(200,)))[0]["throughput"]
    assert single["verdict"] == "noise not measured"


def test_cells_in_one_run_only_are_listed():
    a, b = _doc(), _doc(task="bench:int8:CPU:THROUGHPUT")
    assert cell_deltas(a, b) == []
    assert only_in(a, b) == ["bench:int8:CPU:LATENCY"]


def test_verdict_rule():
    assert verdict((1.0, 0.9, 1.1, True), (1.2, 1.15, 1.3, True)) == "significant"
    assert verdict((1.0, 0.9, 1.2, True), (1.2, 1.15, 1.3, True)) == "within noise"
    assert verdict((1.0, 1.0, 1.0, False), (2.0, 2.0, 2.0, True)) == "noise not measured"


def test_compare_json_is_one_document(tmp_path):
    import json

    from recipes_util import ovrun

    for name, doc in (("a", _doc(runs=(100, 104))), ("b", _doc(cpu="EPYC", runs=(150, 151)))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(doc))
    result = ovrun("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["fingerprint_differences"] == ["CPU: Xeon vs EPYC"]
    cell = found["cells"][0]
    assert cell["task"] == "bench:int8:CPU:LATENCY"
    assert cell["throughput"]["verdict"] == "significant"
    missing = ovrun("compare", str(tmp_path / "a"), str(tmp_path / "none"), "--json")
    assert (
        missing.returncode == 2
        and "no results.json" in json.loads(missing.stdout)["error"]["message"]
    )
