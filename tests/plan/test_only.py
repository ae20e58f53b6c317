"""`--only`: a run narrowed to named tasks and what they need, with unchanged keys."""

from __future__ import annotations

import json

import pytest
from recipes_util import TINY_CORPUS, minimal_recipe, ovrun, tiny_recipe

from runner.cache.store import Cache
from runner.session import open_session


def _plan_lines(recipe, cache, *only: str) -> dict[str, str]:
    args = ("plan", str(recipe), "--cache-dir", str(cache), *(("--only", *only) if only else ()))
    result = ovrun(*args)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    return {row[1]: row[0] for row in rows if len(row[0]) == 12 and len(row) > 2}


def test_only_keeps_the_upstream_closure_with_the_same_keys(tmp_path):
    recipe = minimal_recipe(tmp_path)
    full = _plan_lines(recipe, tmp_path / "c")
    narrowed = _plan_lines(recipe, tmp_path / "c", "bench:int8:CPU:LATENCY")
    assert set(narrowed) == {"export", "data:calib", "compress:int8", "bench:int8:CPU:LATENCY"}
    assert all(full[task] == key for task, key in narrowed.items())


def test_only_globs_and_counts_what_it_leaves_out(tmp_path):
    recipe = minimal_recipe(tmp_path)
    result = ovrun("plan", str(recipe), "--cache-dir", str(tmp_path / "c"), "--only", "compress:*")
    assert result.returncode == 0, result.stderr
    listed = [line.split()[1] for line in result.stdout.splitlines() if line[12:14] == "  "]
    assert sorted(listed) == ["compress:int8", "compress:w4", "data:calib", "export"]
    full = open_session(recipe, tmp_path / "c", probe_devices=False)
    left_out = len(full.plan.tasks) - len(listed)
    assert result.stdout.splitlines()[-1].endswith(f"; {left_out} left out by --only")


def test_only_unknown_task_is_a_one_line_error_with_a_hint(tmp_path):
    recipe = minimal_recipe(tmp_path)
    result = ovrun("plan", str(recipe), "--cache-dir", str(tmp_path / "c"), "--only", "exprot")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "ovrun: error: --only names no task matching 'exprot'",
        "hint: did you mean 'export'?",
    ]


def test_only_export_needs_no_device_probe(tmp_path):
    recipe = minimal_recipe(tmp_path)
    session = open_session(recipe, tmp_path / "c", probe_devices=True, only=["export"])
    assert list(session.plan.tasks) == ["export"]
    assert session.host is None  # nothing was probed: no selected task names a device
    assert not list((tmp_path / "c" / "memo").glob("devices-*.json"))


@pytest.mark.slow
def test_run_only_export_builds_the_export_and_nothing_else(tmp_path, tiny_project):
    recipe = tiny_project(tiny_recipe(), TINY_CORPUS, dir=tmp_path).recipe
    cache = tmp_path / "cache"
    result = ovrun(
        str(recipe), "--cache-dir", str(cache), "--only", "export", "--out", str(tmp_path / "out")
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--only: " in result.stdout and "task(s) left out" in result.stdout
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert list(doc["run"]["tasks"]) == ["export"]
    assert doc["run"]["tasks"]["export"]["state"] == "ran"
    assert "report" in doc["run"]["left_out"]
    assert not (tmp_path / "out" / "report.html").exists()
    export_key = doc["run"]["tasks"]["export"]["key"]
    assert (Cache(cache).out_dir(export_key) / "model" / "openvino_model.xml").stat().st_size > 0
    assert len(list(cache.glob("objects/*/*"))) == 1  # nothing but the export was built
    # the full run afterwards reuses the export
    full = ovrun(str(recipe), "--cache-dir", str(cache), "--out", str(tmp_path / "out2"))
    assert full.returncode == 0, full.stdout + full.stderr
    tasks = json.loads((tmp_path / "out2" / "results.json").read_text())["run"]["tasks"]
    assert tasks["export"]["state"] == "cached"
