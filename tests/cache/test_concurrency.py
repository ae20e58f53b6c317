"""Two `ovrun` processes on the same recipe and the same cache at the same time: each task is
built exactly once (the per-key file lock makes the second wait, then reuse the first's entry),
both runs succeed with the same keys, and the cache holds only complete, intact entries."""

from __future__ import annotations

import pytest
from hardening_util import (
    SMALL_CORPUS,
    SMALL_RECIPE,
    SMALL_TASKS,
    StreamCollector,
    assert_cache_sound,
    entries,
    popen,
    results,
    staging_dirs,
    wait_for,
)

pytestmark = pytest.mark.slow


def test_two_processes_share_one_cache(tmp_path, tiny_project):
    recipe = tiny_project(SMALL_RECIPE, SMALL_CORPUS, dir=tmp_path).recipe
    cache = tmp_path / "cache"
    outs = [tmp_path / "out-a", tmp_path / "out-b"]
    go = tmp_path / "go"
    # the first holds the export's lock, paused after its adapter ran, until `go` exists
    first = popen(
        str(recipe),
        "--cache-dir",
        str(cache),
        "--out",
        str(outs[0]),
        OVRUN_TEST_PAUSE_AT=f"export@written={go}",
    )
    wait_for(lambda: list((cache / "tmp").glob("*/out/*")), first, what="first run exporting")
    # the second plans `export` as "will run" and reaches it while the first holds the lock
    second = popen(
        str(recipe), "--cache-dir", str(cache), "--out", str(outs[1]), PYTHONUNBUFFERED="1"
    )
    seen = StreamCollector(second.stdout)
    wait_for(lambda: "running export" in seen.text, second, what="second run reaching export")
    go.touch()
    procs = [first, second]
    finished = [first.communicate(timeout=900), (seen.wait(second, 900), second.stderr.read())]
    for proc, (out, err) in zip(procs, finished, strict=True):
        assert proc.returncode == 0, out + err
        assert "Traceback" not in out + err

    runs = [results(out)["run"]["tasks"] for out in outs]
    assert runs[0].keys() == runs[1].keys() and len(runs[0]) == SMALL_TASKS
    for task_id in runs[0]:
        assert runs[0][task_id]["key"] == runs[1][task_id]["key"], task_id
        states = sorted(run[task_id]["state"] for run in runs)
        # one process built it; the other found it cached (at planning time or after waiting
        # on the lock: "published by another ovrun meanwhile")
        assert states == ["cached", "ran"], (task_id, states)

    export = runs[1]["export"]
    assert export == {**export, "state": "cached", "reason": "published by another ovrun meanwhile"}

    published = entries(cache)
    assert len(published) == SMALL_TASKS
    pids = {p.pid for p in procs}
    assert {meta["pid"] for meta in published.values()} <= pids
    assert_cache_sound(cache)
    assert staging_dirs(cache) == []
    # both report the same results (the report entry is shared, not rebuilt)
    assert results(outs[0])["run"]["tasks"]["report"]["key"] in {
        meta["key"] for meta in published.values()
    }
