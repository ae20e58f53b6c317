"""Both executors honour Plan.prune (search candidates ruled out by what already finished):
the pruned task is skipped with the pruner's reason and never runs, the rest runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from runner.cache.store import Cache
from runner.executor.base import RunOptions
from runner.executor.local import LocalExecutor
from runner.session import open_session

PRUNED = "pruned: test rule"


RECIPE = """
version: 1
name: prune
model: {source: {path: model}, task: feature-extraction}
data: {eval: {text: eval.txt, samples: 12, max_length: 16}}
variants:
  fp32: {}
  w8: {compress_weights: {mode: int8_asym}}
targets: {devices: [CPU], hints: [LATENCY]}
benchmark: {duration_s: 0.2, warmup: 1, seq_len: 16}
evaluate: {dataset: eval, reference: fp32}
"""


def _prune_w8_bench(task, read_result) -> str | None:
    # the rule sees finished results: the compressed model's summary exists by then
    if task.id.startswith("bench:w8:"):
        assert read_result("compress:w8") is not None
        return PRUNED
    return None


def _states(executor, recipe: Path, cache: Path, tmp: Path) -> dict[str, tuple[str, str]]:
    session = open_session(recipe, cache, probe_devices=True, devices=["CPU"])
    plan = replace(session.plan, prune=_prune_w8_bench)
    outcomes = executor.run(plan, session.decisions, RunOptions(tmp / "logs"))
    return {tid: (o.state, o.reason) for tid, o in outcomes.items()}


@pytest.mark.slow
def test_local_and_dask_executors_skip_what_the_pruner_rules_out(tmp_path, tiny_project):
    from runner.executor.dask import DaskExecutor

    recipe = tiny_project(RECIPE, {"eval.txt": (12, 2)}, dir=tmp_path).recipe
    local = _states(LocalExecutor(Cache(tmp_path / "a")), recipe, tmp_path / "a", tmp_path)
    with DaskExecutor(Cache(tmp_path / "b"), workers=1) as executor:
        dask = _states(executor, recipe, tmp_path / "b", tmp_path)
    for states in (local, dask):
        assert states["bench:w8:CPU:LATENCY"] == ("skipped", PRUNED)
        assert states["bench:fp32:CPU:LATENCY"][0] == "ran"
        assert states["eval:w8"][0] == "ran"
    assert {t: s for t, (s, _) in local.items()} == {t: s for t, (s, _) in dask.items()}
    assert not Cache(tmp_path / "b").has(
        open_session(recipe, tmp_path / "b", probe_devices=False, devices=["CPU"])
        .plan.tasks["bench:w8:CPU:LATENCY"]
        .key
    )
