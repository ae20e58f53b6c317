"""Results survive failures (issue 15, item 2): a cell the CPU rejects at compile time, a
failed compression or a pruned cell never keeps the finished tasks' results out of
results.json, the terminal table and report.html; verdicts on what is missing say so."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from recipes_util import ovrun

pytestmark = pytest.mark.slow

CORPUS = {"eval.txt": (12, 2)}


def recipe(properties: str = "{}", extra: str = "") -> str:
    return f"""
        version: 1
        name: survive
        model: {{source: {{path: model}}, task: feature-extraction}}
        data: {{eval: {{text: eval.txt, samples: 12, max_length: 16}}}}
        variants:
          fp32: {{}}
          w8: {{compress_weights: {{mode: int8_asym}}}}
        {extra}
        targets: {{devices: [CPU], hints: [LATENCY, THROUGHPUT], properties: {properties}}}
        benchmark: {{duration_s: 0.2, warmup: 1, seq_len: 16}}
        evaluate: {{dataset: eval, reference: fp32, max_drop: 0.5}}
        assert:
          - "w8.accuracy_drop <= 0.5"
          - "w8.CPU.LATENCY.throughput > 0"
        """


# OpenVINO's CPU plugin accepts the property name but rejects this value when compiling
REJECTED = "{ENABLE_HYPER_THREADING: maybe}"


def _run(project, *args: str):
    result = ovrun(str(project.recipe), "--cache-dir", str(project.cache), *args)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def test_cells_rejected_at_compile_time_are_rows_and_the_rest_is_reported(tmp_path, tiny_project):
    project = tiny_project(recipe(REJECTED), CORPUS, dir=tmp_path)

    # without --keep-going: the first failed cell stops the run, the report still comes
    stopped = _run(project)
    assert stopped.returncode == 2, stopped.stdout  # a rejected recipe value: the user's to fix
    results = project.results()
    rows = {b["task"]: b for b in results["benchmarks"]}
    failed = [t for t, b in rows.items() if b["status"] == "failed"]
    assert len(failed) == 1 and "ENABLE_HYPER_THREADING" in rows[failed[0]]["reason"]
    assert {b["status"] for t, b in rows.items() if t not in failed} == {"blocked"}
    assert results["run"]["tasks"]["report"]["state"] == "ran"
    gate = results["gates"][0]
    assert gate["passed"] is None and gate["reason"] == "not evaluated (eval:w8 blocked)"
    assert "gate not evaluated (eval:w8 blocked): w8" in stopped.stdout
    assert (project.out / "report.html").is_file()

    # with --keep-going: every cell fails with its reason, the evaluation and gate are real
    going = _run(project, "--keep-going")
    assert going.returncode == 2, going.stdout
    results = project.results()
    assert {b["status"] for b in results["benchmarks"]} == {"failed"}
    assert all("ENABLE_HYPER_THREADING" in b["reason"] for b in results["benchmarks"])
    assert results["evaluations"]["w8"]["value"] > 0.5
    assert results["gates"][0]["passed"] is True
    verdicts = {a["text"]: a for a in results["asserts"]}
    assert verdicts["w8.accuracy_drop <= 0.5"]["passed"] is True
    cell = verdicts["w8.CPU.LATENCY.throughput > 0"]
    assert cell["passed"] is None
    assert cell["reason"] == "not evaluated (bench:w8:CPU:LATENCY failed)"
    assert "4 cell(s) failed:" in going.stdout
    assert "assert not evaluated (bench:w8:CPU:LATENCY failed)" in going.stdout
    html = (project.out / "report.html").read_text()
    assert "failed" in html and "ENABLE_HYPER_THREADING" in html
    assert "not evaluated (bench:w8:CPU:LATENCY failed)" in html


def test_failed_compression_blocks_only_its_own_rows(tmp_path, tiny_project):
    bad = "  bad: {compress_weights: {mode: int8_asym, ignored_scope: {names: [no_such_layer]}}}"
    project = tiny_project(recipe(extra=bad), CORPUS, dir=tmp_path)
    result = _run(project, "--keep-going")
    assert result.returncode in (1, 2), result.stdout
    results = project.results()
    rows = {b["task"]: b for b in results["benchmarks"]}
    assert rows["bench:bad:CPU:LATENCY"]["status"] == "blocked"
    assert rows["bench:bad:CPU:LATENCY"]["reason"] == "upstream compress:bad failed"
    assert rows["bench:w8:CPU:LATENCY"]["status"] == "ok"
    assert rows["bench:w8:CPU:LATENCY"]["throughput"] > 0
    assert results["missing"]["compress:bad"]["state"] == "failed"
    gates = {g["variant"]: g for g in results["gates"]}
    assert gates["w8"]["passed"] is True
    assert gates["bad"] == {
        **gates["bad"],
        "passed": None,
        "reason": "not evaluated (eval:bad blocked)",
    }
    assert [a["passed"] for a in results["asserts"]] == [True, True]
    assert "ovrun · survive" in result.stdout  # the table is printed
    assert "task compress:bad failed" in result.stdout


def test_dask_run_with_failed_cells_still_reports(tmp_path, tiny_project):
    project = tiny_project(recipe(REJECTED), CORPUS, dir=tmp_path)
    stopped = _run(project, "--executor", "dask", "--workers", "1")
    assert stopped.returncode == 2, stopped.stdout[-3000:] + stopped.stderr[-3000:]
    results = project.results()
    assert "failed" in {b["status"] for b in results["benchmarks"]}
    assert {b["status"] for b in results["benchmarks"]} <= {"failed", "blocked"}
    assert results["run"]["tasks"]["report"]["state"] == "ran"
    assert results["gates"][0]["passed"] in (True, None)  # eval may finish before the stop

    result = _run(project, "--keep-going", "--executor", "dask", "--workers", "1")
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-3000:]
    results = project.results()
    assert {b["status"] for b in results["benchmarks"]} == {"failed"}
    assert results["gates"][0]["passed"] is True
    assert results["run"]["tasks"]["report"]["state"] == "ran"
    assert (project.out / "report.html").is_file()


def test_pruned_upstream_cell_is_a_row_not_a_missing_report(tmp_path, tiny_project):
    from rich.console import Console

    from runner.execution import execute
    from runner.session import open_session

    project = tiny_project(recipe(), CORPUS, dir=tmp_path)
    session = open_session(project.recipe, project.cache, probe_devices=True, devices=["CPU"])

    def prune_w8_cells(task, read_result):
        return "pruned: test rule" if task.id.startswith("bench:w8:") else None

    session = replace(session, plan=replace(session.plan, prune=prune_w8_cells))
    console = Console(record=True, width=200)
    code = execute(session, project.out, console, executor=None).code
    results = project.results()
    rows = {b["task"]: b for b in results["benchmarks"]}
    assert rows["bench:w8:CPU:LATENCY"]["status"] == "skipped"
    assert rows["bench:w8:CPU:LATENCY"]["reason"] == "pruned: test rule"
    assert rows["bench:fp32:CPU:LATENCY"]["status"] == "ok"
    assert results["gates"][0]["passed"] is True
    verdicts = {a["text"]: a["passed"] for a in results["asserts"]}
    assert verdicts["w8.CPU.LATENCY.throughput > 0"] is None
    assert code == 0, console.export_text()


def test_only_after_a_full_run_keeps_the_full_results(tmp_path, tiny_project):
    project = tiny_project(recipe(), CORPUS, dir=tmp_path)
    assert _run(project).returncode == 0
    full = (project.out / "results.json").read_text()
    html = (project.out / "report.html").read_text()
    only = _run(project, "--only", "compress:*")
    assert only.returncode == 0, only.stdout
    assert (project.out / "results.json").read_text() == full
    assert (project.out / "report.html").read_text() == html
    partial = json.loads((project.out / "results-only.json").read_text())
    assert set(partial["run"]["tasks"]) == {"export", "compress:w8"}
    assert "results.json of the last full run kept" in only.stdout
    assert "results-only.json" in only.stdout
