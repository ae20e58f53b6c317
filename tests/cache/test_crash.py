"""Crash safety: a run killed with SIGKILL at any point (mid-export, before/after an adapter,
between writing meta.json and the publishing rename, after publishing) leaves only complete,
intact cache entries; the next run resumes where it stopped; the end result matches an
uninterrupted run. SIGINT exits 130 and leaves no staging dir behind.

Deterministic kill points use the OVRUN_TEST_KILL_AT hook (runner/faults.py); one kill comes
from outside, at whatever moment the exporter is writing files."""

from __future__ import annotations

import signal

import pytest
from hardening_util import (
    SMALL_CORPUS,
    SMALL_RECIPE,
    SMALL_TASKS,
    assert_cache_sound,
    entries,
    popen,
    results,
    run,
    same_output,
    staging_dirs,
    staging_files,
    wait_for,
)

pytestmark = pytest.mark.slow

# Ops whose outputs are bit-identical run to run (checked: export, tokenized data, NNCF
# quantization, evaluation), IR XML included; benchmarks and the report hold measured times.
DETERMINISTIC = ("export", "data:calib", "compress:int8", "eval:int8")


# task@phase, in the order the resumed runs reach them (see runner/faults.py for phases)
KILL_POINTS = [
    "compress:int8@start",
    "compress:int8@publish",
    "bench:int8:CPU:LATENCY@written",
    "report@done",
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_project):
    """One uninterrupted run: the result every interrupted sequence must reach."""
    tmp = tmp_path_factory.mktemp("reference")
    recipe = tiny_project(SMALL_RECIPE, SMALL_CORPUS, dir=tmp).recipe
    done = run(str(recipe), "--cache-dir", str(tmp / "cache"), "--out", str(tmp / "out"))
    assert done.returncode == 0, done.stdout + done.stderr
    keys = {t: v["key"] for t, v in results(tmp / "out")["run"]["tasks"].items()}
    assert len(keys) == SMALL_TASKS
    return {"keys": keys, "entries": entries(tmp / "cache"), "cache": tmp / "cache"}


def test_sigkill_at_every_stage_then_resume(tmp_path, tiny_project, reference):
    recipe = tiny_project(SMALL_RECIPE, SMALL_CORPUS, dir=tmp_path).recipe
    cache, out = tmp_path / "cache", tmp_path / "out"
    args = (str(recipe), "--cache-dir", str(cache), "--out", str(out))
    keys = reference["keys"]

    # 1. from outside, while the exporter is writing the IR into its staging dir
    proc = popen(*args)
    wait_for(lambda: staging_files(cache, keys["export"]), proc, what="export writing files")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert_cache_sound(cache)
    assert "export" not in entries(cache)
    assert staging_dirs(cache), "the killed exporter's staging dir should still be there"

    # 2. the hook's points, each run resuming the previous one
    for point in KILL_POINTS:
        task, phase = point.split("@")
        killed = run(*args, OVRUN_TEST_KILL_AT=point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stdout + killed.stderr)
        assert_cache_sound(cache)
        published = entries(cache)
        assert (task in published) == (phase == "done"), (point, sorted(published))
        # everything upstream of the kill survived and is reused next time
        assert "export" in published and "data:calib" in published

    # 3. the last run finishes the work; nothing was lost or built twice over
    final = run(*args)
    assert final.returncode == 0, final.stdout + final.stderr
    assert "Traceback" not in final.stdout + final.stderr
    states = {t: v["state"] for t, v in results(out)["run"]["tasks"].items()}
    assert set(states.values()) <= {"cached", "ran"}, states
    assert states["report"] == "cached"  # published just before the last kill
    assert_cache_sound(cache)
    assert staging_dirs(cache) == [], "staging dirs of killed runs must be cleaned up"

    got = entries(cache)
    # the report is keyed by what the cells measured, which no two runs repeat exactly
    assert {t: m["key"] for t, m in got.items() if t != "report"} == {
        t: k for t, k in keys.items() if t != "report"
    }
    assert got["report"]["key"] == results(out)["run"]["tasks"]["report"]["key"]
    for task_id, meta in reference["entries"].items():
        assert set(got[task_id]["outputs"]) == set(meta["outputs"]), task_id
        if task_id in DETERMINISTIC:
            for rel in meta["outputs"]:
                assert same_output(reference["cache"], meta, cache, got[task_id], rel), (
                    f"{task_id}: {rel} differs from the uninterrupted run"
                )


def test_sigint_exits_130_and_leaves_no_staging_dir(tmp_path, tiny_project, reference):
    recipe = tiny_project(SMALL_RECIPE, SMALL_CORPUS, dir=tmp_path).recipe
    cache = tmp_path / "cache"
    proc = popen(str(recipe), "--cache-dir", str(cache), "--out", str(tmp_path / "out"))
    wait_for(lambda: staging_files(cache, reference["keys"]["export"]), proc, what="export started")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in out + err
    assert staging_dirs(cache) == []
    assert entries(cache) == {}
    assert not (tmp_path / "out" / "results.json").exists()
