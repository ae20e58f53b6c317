"""Interrupting the client of a Dask run: exit 130, no orphaned workers, and the rerun resumes
from what was published (issue 8, faults)."""

from __future__ import annotations

import os
import signal
import subprocess

import psutil
import pytest
from hardening_util import (
    REPO,
    SMALL_CORPUS,
    SMALL_RECIPE,
    assert_cache_sound,
    entries,
    env,
    ovrun_cmd,
    results,
    run,
    staging_dirs,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("target", ["client", "process_group"])
def test_sigint_stops_the_cluster_and_the_rerun_resumes(tmp_path, tiny_project, target):
    """``process_group`` is a Ctrl-C at a terminal: every process of the group gets SIGINT."""
    recipe = tiny_project(SMALL_RECIPE, SMALL_CORPUS, dir=tmp_path).recipe
    cache, out = tmp_path / "cache", tmp_path / "out"
    dask = ("--executor", "dask", "--workers", "2")
    proc = subprocess.Popen(
        ovrun_cmd(str(recipe), "--cache-dir", str(cache), "--out", str(out), *dask),
        cwd=REPO,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as a terminal job has
    )
    wait_for(lambda: "export" in entries(cache), proc, what="the export was published")
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert workers, "a LocalCluster run has worker processes"
    if target == "client":
        proc.send_signal(signal.SIGINT)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert "Traceback" not in stdout + stderr, stderr[-3000:]
    assert "interrupted" in stderr
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert alive == [], f"worker processes outlived the client: {alive}"
    assert_cache_sound(cache)  # whatever was published is complete; nothing half-written
    assert staging_dirs(cache) == [], "a Ctrl-C left a worker's staging dir behind"

    rerun = run(str(recipe), "--cache-dir", str(cache), "--out", str(out), *dask)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    states = {t: v["state"] for t, v in results(out)["run"]["tasks"].items()}
    assert states["export"] == "cached"
    assert set(states.values()) <= {"cached", "ran"}, states
    assert_cache_sound(cache)
    assert staging_dirs(cache) == []
