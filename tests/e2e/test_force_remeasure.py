"""`--force` shows what it measured (issue 15, item 8): a re-measured cell keeps its key but
not its figures, so the report is keyed by its upstream outputs. Forced twice, and once
more after its cache entry was lost, the table, results.json and report.html carry the
figures of the freshly published cache entry, never the previous measurement."""

from __future__ import annotations

import json

import pytest
from recipes_util import ovrun

from runner.cache.store import Cache
from runner.report.stamp import stamp_comment

pytestmark = pytest.mark.slow

RECIPE = """
version: 1
name: remeasure
model: {source: {path: model}, task: feature-extraction}
data: {eval: {text: eval.txt, samples: 12, max_length: 16}}
variants:
  fp32: {}
  w8: {compress_weights: {mode: int8_asym}}
targets: {devices: [CPU], hints: [LATENCY]}
benchmark: {duration_s: 0.2, warmup: 1, seq_len: 16, repeats: 2}
evaluate: {dataset: eval, reference: fp32}
"""
CELL = "bench:fp32:CPU:LATENCY"


def _shown_matches_the_entry(project, stdout: str) -> dict:
    """results.json, report.html and the table show the cell's published result.json."""
    results = project.results()
    task = results["run"]["tasks"][CELL]
    published = json.loads(
        (Cache(project.cache).out_dir(task["key"]) / "result.json").read_text(encoding="utf-8")
    )
    row = next(b for b in results["benchmarks"] if b["task"] == CELL)
    for field in ("throughput", "latency_ms", "repeats", "iterations"):
        assert row[field] == published[field], field
    html = (project.out / "report.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith(stamp_comment(json.loads(json.dumps(results, default=str))))
    assert f"{published['throughput']:.1f}" in html
    assert f"{published['throughput']:.1f}" in stdout  # the terminal table
    return published


def test_forced_cell_reaches_table_results_and_report(tmp_path, tiny_project):
    project = tiny_project(RECIPE, {"eval.txt": (12, 2)}, dir=tmp_path)
    args = (str(project.recipe), "--cache-dir", str(project.cache))
    first = ovrun(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    measured = [_shown_matches_the_entry(project, first.stdout)]
    report_keys = [project.results()["run"]["tasks"]["report"]["key"]]

    for _ in range(2):
        forced = ovrun(*args, "--force", CELL)
        assert forced.returncode == 0, forced.stdout + forced.stderr
        tasks = project.results()["run"]["tasks"]
        assert tasks[CELL]["state"] == "ran" and tasks["report"]["state"] == "ran"
        measured.append(_shown_matches_the_entry(project, forced.stdout))
        report_keys.append(tasks["report"]["key"])

    # an entry lost to `cache gc` or a hand removal is re-measured: the same holds
    Cache(project.cache).remove(project.results()["run"]["tasks"][CELL]["key"])
    plan = ovrun("plan", *args)
    assert "will run" in plan.stdout.split("report")[-1].splitlines()[0], plan.stdout
    healed = ovrun(*args)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    measured.append(_shown_matches_the_entry(project, healed.stdout))
    report_keys.append(project.results()["run"]["tasks"]["report"]["key"])

    # four measurements, four reports (timings never repeat to the nanosecond)
    assert len({json.dumps(m["repeats"]) for m in measured}) == 4
    assert len(set(report_keys)) == 4

    # nothing re-measured: the report of the last measurement is reused as it is
    again = ovrun(*args)
    assert again.returncode == 0
    tasks = project.results()["run"]["tasks"]
    assert tasks["report"] == {**tasks["report"], "state": "cached", "key": report_keys[-1]}
    _shown_matches_the_entry(project, again.stdout)
