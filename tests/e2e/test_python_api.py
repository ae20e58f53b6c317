"""The Python API (`from runner import run`): what notebooks and scripts use, and what the
CLI is a thin layer over. Runs in-process on the tiny BERT."""

from __future__ import annotations

import json

import pytest

from runner.core.errors import OvrunError

RECIPE = """
version: 1
name: api
model:
  source: {path: model}
data:
  calib: {text: calib.txt, samples: 16, max_length: 32}
variants:
  fp32: {}
  int8:
    quantize: {dataset: calib, subset_size: 16}
targets: {devices: [CPU], hints: [LATENCY]}
benchmark: {duration_s: 0.1, warmup: 1, seq_len: 32}
evaluate: {dataset: calib, reference: fp32, max_drop: 0.5}
"""


@pytest.fixture(scope="module")
def project(tiny_project, tmp_path_factory):
    return tiny_project(RECIPE, {"calib.txt": (16, 3)}, dir=tmp_path_factory.mktemp("api"))


def test_run_returns_results_with_rows_gates_and_the_report(project):
    from runner import Results, run

    results = run(project.recipe, cache_dir=project.cache, out=project.out)
    assert isinstance(results, Results)
    assert results.ok and results.exit_code == 0
    assert results.results_file == project.out / "results.json"
    assert json.loads(results.results_file.read_text()) == json.loads(
        json.dumps(results.doc, default=str)
    )
    assert [g["passed"] for g in results.gates] == [True]
    assert set(results.evaluations) == {"int8"}  # agreement with the fp32 reference
    assert {t for t, s in results.tasks.items() if s["state"] == "failed"} == set()

    table = results.table()  # pandas is in the test extra
    assert list(table["task"]) == [b["task"] for b in results.benchmarks]
    assert set(table["variant"]) == {"fp32", "int8"}
    assert (table["throughput"] > 0).all()

    page = results._repr_html_()  # what Jupyter shows inline
    assert page.startswith("<iframe srcdoc=") and "&lt;html" in page.lower()
    assert repr(results).startswith("<ovrun Results 'api': ok")

    again = Results.load(project.out)
    assert again.rows() == results.rows() and again.ok


def test_overrides_take_python_values_and_a_failed_gate_is_not_ok(project):
    from runner import run

    # max_drop 0: any INT8 drop fails the gate; cached tasks are reused, only the verdict moves
    results = run(
        project.recipe, cache_dir=project.cache, out=project.out, sets={"evaluate.max_drop": 0.0}
    )
    assert not results.ok and results.exit_code == 1
    assert [g["passed"] for g in results.gates] == [False]
    states = {s["state"] for t, s in results.tasks.items() if t.startswith(("export", "compress"))}
    assert states == {"cached"}


def test_bad_input_raises_the_error_the_cli_prints(project, tmp_path):
    from runner import run

    with pytest.raises(OvrunError) as error:
        run(project.recipe, cache_dir=project.cache, sets={"benchmark.duration_s": -1})
    assert "duration_s" in error.value.render()
    with pytest.raises(OvrunError):
        run(tmp_path / "missing.yaml")


def test_importing_the_api_stays_light():
    """`from runner import run` must not load the heavy libraries until a run needs them."""
    import subprocess
    import sys

    code = (
        "import sys; from runner import run, Results; "
        "heavy = [m for m in ('openvino', 'nncf', 'torch', 'transformers', 'networkx') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
