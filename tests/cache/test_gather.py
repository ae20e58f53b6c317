"""The report is keyed by what its upstream entries hold (cache/gather.py): a re-measured
cell changes the report's key although the cell's own key stays; identical outputs give the
identical key; upstream tasks that did not finish leave the inputs and enter the params."""

from __future__ import annotations

import json
from pathlib import Path

from recipes_util import minimal_recipe

from runner.cache.decide import decide
from runner.cache.gather import gathered
from runner.cache.store import Cache
from runner.host import devices as host_devices
from runner.plan.tasks import REPORT
from runner.session import open_session

CELL = "bench:int8:CPU:LATENCY"
# a probed host: measuring tasks are keyed on its fingerprint (an unprobed host re-runs them)
PROBE = json.loads((Path(__file__).parent / "fixtures" / "keys_before_layout.json").read_text())[
    "probe"
]


def _publish(cache: Cache, task_id: str, key: str, result: dict) -> None:
    if cache.has(key):
        cache.remove(key)
    staging = cache.begin(key)
    (staging.out / "result.json").write_text(json.dumps(result), encoding="utf-8")
    cache.publish(staging, {"task_id": task_id})


def _fully_cached(tmp_path):
    recipe = minimal_recipe(tmp_path)
    host_devices.remember(tmp_path / "c", PROBE)
    session = open_session(recipe, tmp_path / "c", probe_devices=False, devices=["CPU"])
    for task in session.plan.order():
        if task.id != REPORT and task.id not in session.plan.skipped:
            _publish(session.cache, task.id, task.key, {"throughput": 100.0})
    return session


def test_a_remeasured_cell_changes_the_report_key(tmp_path):
    session = _fully_cached(tmp_path)
    plan, cache = session.plan, session.cache
    static = plan.tasks[REPORT].key
    decide(plan, cache)
    measured = plan.tasks[REPORT].key
    assert measured != static  # keyed by the upstream outputs once they exist
    assert plan.tasks[REPORT].preimage["upstream_outputs"][CELL]

    cell_key = plan.tasks[CELL].key
    _publish(cache, CELL, cell_key, {"throughput": 101.0})  # --force: same key, new figures
    decide(plan, cache)
    assert plan.tasks[CELL].key == cell_key
    assert plan.tasks[REPORT].key != measured

    _publish(cache, CELL, cell_key, {"throughput": 100.0})  # the same bytes: the same key
    decisions = decide(plan, cache)
    assert plan.tasks[REPORT].key == measured
    assert decisions[REPORT].state == "run" and decisions[CELL].state == "cached"


def test_a_cached_report_of_the_same_outputs_is_reused(tmp_path):
    session = _fully_cached(tmp_path)
    plan, cache = session.plan, session.cache
    decide(plan, cache)
    _publish(cache, REPORT, plan.tasks[REPORT].key, {"cells": 1})
    assert decide(plan, cache)[REPORT].state == "cached"


def test_missing_upstream_tasks_leave_the_inputs_and_enter_the_params(tmp_path):
    session = _fully_cached(tmp_path)
    plan, cache = session.plan, session.cache
    complete = gathered(plan.tasks[REPORT], plan, cache)
    failed = {CELL: {"state": "failed", "reason": "compile on CPU rejected the config"}}
    partial = gathered(plan.tasks[REPORT], plan, cache, failed)
    assert CELL in complete.deps.values() and CELL not in partial.deps.values()
    assert partial.params["missing"] == failed and "missing" not in complete.params
    assert partial.key != complete.key
    cache.remove(plan.tasks["eval:int8"].key)  # an entry gone since: missing as well
    gone = gathered(plan.tasks[REPORT], plan, cache)
    assert gone.params["missing"]["eval:int8"]["state"] == "missing"
