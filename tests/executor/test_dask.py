"""Dask executor on real local clusters (worker processes on loopback only)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hardening_util import same_output
from recipes_util import TINY_CORPUS, ovrun, tiny_recipe

from runner.cache.store import Cache

pytestmark = pytest.mark.slow


def _results(recipe: Path, out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def _entries(cache_dir: Path) -> dict[str, dict]:
    cache = Cache(cache_dir)
    found = {}
    for meta_file in (cache_dir / "objects").glob("*/*/meta.json"):
        meta = json.loads(meta_file.read_text())
        assert cache.verify(meta["key"]) == [], meta["task_id"]
        found[meta["task_id"]] = meta
    return found


def test_dask_run_matches_local_run(tmp_path, tiny_project):
    recipe = tiny_project(tiny_recipe(), TINY_CORPUS, dir=tmp_path).recipe
    local = ovrun(
        str(recipe), "--cache-dir", str(tmp_path / "c_local"), "--out", str(tmp_path / "o_local")
    )
    assert local.returncode == 0, local.stderr
    dask = ovrun(
        str(recipe),
        "--cache-dir",
        str(tmp_path / "c_dask"),
        "--out",
        str(tmp_path / "o_dask"),
        "--executor",
        "dask",
        "--workers",
        "2",
    )
    assert dask.returncode == 0, dask.stdout[-2000:] + dask.stderr[-2000:]
    a, b = _results(recipe, tmp_path / "o_local"), _results(recipe, tmp_path / "o_dask")
    # the report is keyed by what the cells measured (two runs, two measurements) and is
    # gathered on the client after the executor; every other key is the same
    assert {t: v["key"] for t, v in a["run"]["tasks"].items() if t != "report"} == {
        t: v["key"] for t, v in b["run"]["tasks"].items() if t != "report"
    }
    assert {t: v["state"] for t, v in a["run"]["tasks"].items()} == {
        t: v["state"] for t, v in b["run"]["tasks"].items()
    }
    assert all(
        v.get("worker", "").startswith("tcp://127.0.0.1")
        for t, v in b["run"]["tasks"].items()
        if v["state"] == "ran" and t != "report"
    )
    local_entries, dask_entries = _entries(tmp_path / "c_local"), _entries(tmp_path / "c_dask")
    # deterministic ops give byte-identical artifacts wherever they ran
    for task_id in ("export", "data:calib", "data:eval", "compress:int8", "compress:w8"):
        la, da = local_entries[task_id], dask_entries[task_id]
        assert set(la["outputs"]) == set(da["outputs"]), task_id
        for rel in la["outputs"]:
            assert same_output(tmp_path / "c_local", la, tmp_path / "c_dask", da, rel), (
                task_id,
                rel,
            )
    assert a["evaluations"]["int8"]["value"] == pytest.approx(
        b["evaluations"]["int8"]["value"], abs=1e-6
    )
    assert [(r["variant"], r["device"], r["status"]) for r in a["benchmarks"]] == [
        (r["variant"], r["device"], r["status"]) for r in b["benchmarks"]
    ]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def test_simulated_gpu_worker_receives_exactly_the_gpu_tasks(tmp_path, tiny_project):
    """SIMULATED DEVICE: no GPU exists here; one worker claims device.GPU by hand. The GPU
    cells must land there (and fail honestly: OpenVINO on that worker has no GPU)."""
    recipe = tiny_project(tiny_recipe(), TINY_CORPUS, dir=tmp_path).recipe
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask_bin = str(Path(sys.executable).parent / "dask")
    procs = [
        _start(
            [dask_bin, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
        )
    ]
    try:
        time.sleep(3)
        common = ["--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"]
        procs.append(_start([dask_bin, "worker", address, *common, "--name", "cpu-box"]))
        procs.append(
            _start(
                [
                    dask_bin,
                    "worker",
                    address,
                    *common,
                    "--name",
                    "gpu-box",
                    "--resources",
                    "device.GPU=1",
                ]
            )
        )
        time.sleep(6)
        result = ovrun(
            str(recipe),
            "--cache-dir",
            str(tmp_path / "c"),
            "--out",
            str(tmp_path / "o"),
            "--executor",
            "dask",
            "--scheduler",
            address,
            "--keep-going",
        )
        tasks = _results(recipe, tmp_path / "o")["run"]["tasks"]
        gpu = {t: v for t, v in tasks.items() if ":GPU:" in t}
        assert gpu and all(v["state"] == "failed" for v in gpu.values()), result.stdout[-3000:]
        assert all("device GPU not available" in v["reason"] for v in gpu.values())
        workers = json.loads((tmp_path / "o" / "results.json").read_text())["host"]["workers"]
        gpu_worker = next(addr for addr, devices in workers.items() if "GPU" in devices)
        assert {v["worker"] for v in gpu.values()} == {gpu_worker}
        assert tasks["bench:int8:CPU:LATENCY"]["state"] == "ran"
        assert result.returncode == 2  # the GPU cells failed with a user-fixable error
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGKILL)


def test_killed_worker_mid_task_run_still_completes(tmp_path, tiny_project):
    recipe = tiny_project(tiny_recipe(), TINY_CORPUS, dir=tmp_path).recipe
    cache_dir = tmp_path / "c"
    killed: list[int] = []

    def kill_first_compress_worker():
        deadline = time.time() + 240
        while time.time() < deadline and not killed:
            for staging in (
                (cache_dir / "tmp").glob("*.*.*") if (cache_dir / "tmp").exists() else []
            ):
                pid = staging.name.split(".")[1]
                meta_hint = staging / "out"
                if pid.isdigit() and int(pid) != os.getpid() and meta_hint.exists():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                        killed.append(int(pid))
                    except ProcessLookupError:
                        pass
                    return
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_first_compress_worker)
    watcher.start()
    result = ovrun(
        str(recipe),
        "--cache-dir",
        str(cache_dir),
        "--out",
        str(tmp_path / "o"),
        "--executor",
        "dask",
        "--workers",
        "2",
    )
    watcher.join()
    assert killed, "no task was caught mid-run"
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tasks = _results(recipe, tmp_path / "o")["run"]["tasks"]
    assert {v["state"] for v in tasks.values()} <= {"ran", "skipped", "cached"}
    _entries(cache_dir)  # every published entry verifies
    assert list((cache_dir / "tmp").iterdir()) == []


class _RecordingProgress:
    """Progress view stand-in: the order and time of start / finish calls per task."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, float]] = []
        self.threads: set[int] = set()

    def start(self, task, decision) -> None:
        self._note("start", task.id)

    def log(self, task, message: str) -> None: ...

    def finish(self, task, outcome) -> None:
        self._note("finish", task.id)

    def _note(self, kind: str, task_id: str) -> None:
        self.events.append((kind, task_id, time.monotonic()))
        self.threads.add(threading.get_ident())


def test_dask_progress_shows_tasks_running_while_they_run(tmp_path, tiny_project):
    from runner.executor.base import RunOptions
    from runner.executor.dask import DaskExecutor
    from runner.session import open_session

    recipe = tiny_project(tiny_recipe(), TINY_CORPUS, dir=tmp_path).recipe
    cache = Cache(tmp_path / "cache")
    progress = _RecordingProgress()
    with DaskExecutor(cache, workers=2) as executor:
        session = open_session(
            recipe, cache.root, probe_devices=True, devices=executor.available_devices()
        )
        options = RunOptions(tmp_path / "logs", progress=progress)
        outcomes = executor.run(session.plan, session.decisions, options)
    ran = {tid: o for tid, o in outcomes.items() if o.state == "ran"}
    assert "export" in ran and len(ran) >= 5, {t: o.state for t, o in outcomes.items()}
    started = {tid: t for kind, tid, t in progress.events if kind == "start"}
    finished = {tid: t for kind, tid, t in progress.events if kind == "finish"}
    assert set(started) == set(ran)  # cached / skipped tasks never show as running
    assert sum(kind == "start" for kind, *_ in progress.events) == len(ran)
    for tid in ran:
        assert started[tid] < finished[tid], tid
    # shown while running, from the worker's start event, not just before the finish: the
    # export alone runs for seconds
    assert finished["export"] - started["export"] >= 0.5 * ran["export"].seconds
    assert progress.threads == {threading.get_ident()}  # only the client's own thread
