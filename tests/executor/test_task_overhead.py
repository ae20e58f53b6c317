"""The engine-overhead measurement (benchmarks/task_overhead.py) at a tiny scale, and the
switch that keeps its test-only ops out of users' recipes. No timing is asserted here: the
goals live in benchmarks/ (RESULTS.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from recipes_util import ovrun

from runner.core.testhooks import TEST_OPS_ENV
from runner.plan.ops import OPS, TEST_OPS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from task_overhead import run_test_ops, write_recipe  # noqa: E402

COUNT = 30


@pytest.fixture
def noop_recipe(tmp_path, tiny_project, monkeypatch) -> Path:
    monkeypatch.setenv(TEST_OPS_ENV, "1")
    project = tiny_project(
        "version: 1\nname: noop\nmodel: {source: {path: model}}\nvariants: {fp32: {}}\n",
        dir=tmp_path,
    )
    return write_recipe(project.dir, "{path: model}", "noop", COUNT, chain=True)


def test_noop_overhead_measurement_runs_and_publishes_every_task(noop_recipe, tmp_path):
    from runner.cache.store import Cache
    from runner.executor.dask import DaskExecutor

    local = run_test_ops(noop_recipe, tmp_path / "cache-local", "noop", "local")
    with DaskExecutor(Cache(tmp_path / "unused"), workers=2) as cluster:
        dask = run_test_ops(noop_recipe, tmp_path / "cache-dask", "noop", "dask", cluster=cluster)
    for measured in (local, dask):
        assert measured.count == COUNT  # --only 'noop:*' kept the chain and nothing else
        assert measured.states == {"ran": COUNT}
        assert measured.published == COUNT
        assert len(measured.hops_s) == COUNT
    # both executors built the same keys: the chain is the same plan wherever it runs
    assert sorted(p.name for p in (tmp_path / "cache-local" / "objects").glob("*/*")) == sorted(
        p.name for p in (tmp_path / "cache-dask" / "objects").glob("*/*")
    )


def test_test_ops_are_refused_without_the_switch(tmp_path, tiny_project, monkeypatch):
    monkeypatch.delenv(TEST_OPS_ENV, raising=False)
    project = tiny_project(
        "version: 1\nname: sneaky\nmodel: {source: {path: model}}\nvariants: {fp32: {}}\n"
        "test_ops: {op: sleep, count: 3, seconds: 0.1}\n",
        dir=tmp_path,
    )
    refused = ovrun("validate", str(project.recipe))
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert "sneaky.yaml:5:1: error: 'test_ops' is a test-only section" in refused.stderr
    assert TEST_OPS_ENV in refused.stderr  # the hint names the switch

    allowed = ovrun(
        "plan", str(project.recipe), "--cache-dir", str(project.cache), env={TEST_OPS_ENV: "1"}
    )
    assert allowed.returncode == 0, allowed.stderr
    assert all(f"sleep:{i}" in allowed.stdout for i in range(3))


def test_a_normal_recipe_has_no_way_to_the_test_ops():
    # the op table recipes plan from holds no test op; only the test_ops: section reaches them
    assert not set(TEST_OPS) & set(OPS)
    assert all(op.target.startswith("runner.adapters.test_ops:") for op in TEST_OPS.values())
