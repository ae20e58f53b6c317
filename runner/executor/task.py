"""Run one task: lock its key, verify its inputs, call the adapter into a staging dir, publish.

Shared by the local and the Dask executor, so a task behaves the same wherever it runs."""

from __future__ import annotations

import json
import os
import platform
import socket
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.cache.store import Cache
from runner.core import testhooks
from runner.core.errors import OvrunError
from runner.core.oserrors import storage_error
from runner.executor import chatter, heavy_imports
from runner.executor.base import Outcome
from runner.executor.host_lock import host_turn
from runner.plan.context import TaskContext
from runner.plan.tasks import Task


def execute_task(
    cache: Cache,
    task: Task,
    dep_keys: dict[str, str],
    *,
    forced: bool,
    log_dir: Path,
    log: Callable[[str], None] = lambda message: None,
    stream_output: bool = False,
) -> Outcome:
    """Build ``task`` unless its entry exists; never leaves a partial entry behind. What the
    libraries print goes to the task's log file unless ``stream_output``."""
    started = time.perf_counter()
    host = socket.gethostname()
    try:
        with cache.lock(task.key), host_turn(task.op.exclusive):
            if cache.has(task.key) and not forced:
                return Outcome(task.id, "cached", "published by another ovrun meanwhile", host=host)
            _check_inputs(cache, dep_keys)
            with chatter.to_log(log_file(log_dir, task.id), stream_output):
                summary = _run_op(cache, task, dep_keys, log)
        return Outcome(
            task.id, "ran", "", time.perf_counter() - started, summary=summary, host=host
        )
    except OvrunError as exc:
        reason = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
        return Outcome(
            task.id, "failed", reason, time.perf_counter() - started, exc.exit_code, host=host
        )
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # an adapter bug or a library failure: keep the trace for the user
        storage = storage_error(exc, "writing its output", cache.root)
        if storage is not None:  # disk full & co: the user's to fix, and a log could not be written
            return Outcome(
                task.id,
                "failed",
                storage.message + f" (hint: {storage.hint})",
                time.perf_counter() - started,
                storage.exit_code,
                host=host,
            )
        trace = log_file(log_dir, task.id)
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            with trace.open("a", encoding="utf-8") as f:  # after what the libraries said
                f.write(traceback.format_exc())
        except OSError as log_exc:
            trace = Path(f"(not written: {log_exc.strerror})")
        message = f"{type(exc).__name__}: {_summary_line(exc)} (traceback: {trace})"
        return Outcome(task.id, "failed", message, time.perf_counter() - started, 1, host=host)


def _summary_line(exc: BaseException) -> str:
    """The line that says why: OpenVINO stacks "Exception from src/...:123:" frames and puts
    the reason last, so its first line alone reads as a bare RuntimeError."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].startswith("Exception from "):
        return next(
            (ln for ln in reversed(lines) if not ln.startswith("Exception from ")), lines[0]
        )
    return lines[0]


def log_file(log_dir: Path, task_id: str) -> Path:
    """The task's log; device names in task ids may hold ':' ',' '/' (AUTO:GPU,CPU)."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id).lstrip(".")
    return log_dir / f"{name}.log"


def _check_inputs(cache: Cache, dep_keys: dict[str, str]) -> None:
    """Upstream entries are re-hashed before use: a flipped byte must not flow downstream."""
    for role, key in sorted(dep_keys.items()):
        problems = cache.verify(key)
        if problems:
            cache.remove(key)
            raise OvrunError(
                f"cache entry of input '{role}' ({key[:16]}) was corrupt ({problems[0]}) and has been removed",
                hint="run again to rebuild it",
            )


def _run_op(
    cache: Cache, task: Task, dep_keys: dict[str, str], log: Callable[[str], None]
) -> dict[str, Any]:
    staging = cache.begin(task.key)
    try:
        ctx = TaskContext(
            task_id=task.id,
            op=task.op.name,
            params=task.params,
            inputs={role: cache.out_dir(key) for role, key in dep_keys.items()},
            files=dict(task.files),
            out=staging.out,
            device=task.device,
            log=log,
            cache_root=cache.root,
        )
        testhooks.point(task.id, "start")
        t0 = time.time()
        heavy_imports.import_all(task.op.imports)
        summary = task.op.load()(ctx) or {}
        seconds = time.time() - t0
        (staging.out / "result.json").write_text(
            json.dumps(summary, indent=1, sort_keys=True, default=str), encoding="utf-8"
        )
        testhooks.point(task.id, "written")
        meta = {
            "task_id": task.id,
            "op": task.op.name,
            "preimage": task.preimage,
            "started": t0,
            "seconds": seconds,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "python": platform.python_version(),
        }
        if cache.has(task.key):  # --force: replace the old entry
            cache.remove(task.key)
        cache.publish(staging, meta)
        testhooks.point(task.id, "done")
        return summary
    except BaseException as exc:
        # judge "disk full" before the discard frees the space the task had filled
        storage = (
            storage_error(exc, "writing its output", staging.dir)
            if isinstance(exc, Exception) and not isinstance(exc, OvrunError)
            else None
        )
        cache.discard(staging)
        if storage is not None:
            raise storage from exc
        raise
