"""Test hook for crash-safety tests: kill this process with SIGKILL at a named point of a task.

``OVRUN_TEST_KILL_AT=<task_id>@<phase>[,<task_id>@<phase>...]`` makes the process kill itself
(SIGKILL: no cleanup, no finally blocks, exactly like a power cut or the OOM killer) when the
task reaches that phase. Phases, in order:

    start    lock held, inputs verified, staging dir created, adapter not called yet
    written  the adapter returned; its outputs sit complete in the staging dir
    publish  meta.json written into the staging dir; the rename into objects/ not done yet
    done     the entry is published; the run has not recorded it anywhere else yet
    push     (shared cache) the entry's outputs are uploaded; its meta.json is not yet

``OVRUN_TEST_PAUSE_AT=<task_id>@<phase>=<file>`` instead waits at that point until ``file``
exists, so a test can line up two processes deterministically (e.g. make the second reach a
task while the first holds its lock).

Unset (the normal case) these are two dict lookups per phase and do nothing. `@` separates the
task id from the phase because task ids contain `:`.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ENV = "OVRUN_TEST_KILL_AT"
PAUSE_ENV = "OVRUN_TEST_PAUSE_AT"
PHASES = ("start", "written", "publish", "done", "push")


def point(task_id: str | None, phase: str) -> None:
    if task_id is None:
        return
    spec = os.environ.get(ENV)
    if spec and f"{task_id}@{phase}" in spec.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get(PAUSE_ENV)
    if pause:
        where, _, release = pause.partition("=")
        if where == f"{task_id}@{phase}":
            while not Path(release).exists():
                time.sleep(0.05)


SIMULATED_MACHINE_ENV = "OVRUN_TEST_SIMULATED_MACHINE"


def simulated_machine(worker_name: str, probe: dict) -> dict:
    """``OVRUN_TEST_SIMULATED_MACHINE=<worker name>=<cpu model>``: that Dask worker reports
    another CPU model, so one machine can stand in for a cluster of two kinds of hardware
    (the tests of measuring-task routing). Unset: the probe unchanged."""
    spec = os.environ.get(SIMULATED_MACHINE_ENV, "")
    name, sep, model = spec.partition("=")
    if not sep or name != worker_name:
        return probe
    return {**probe, "host": {**probe.get("host", {}), "cpu_model": model}}


TEST_OPS_ENV = "OVRUN_TEST_OPS"


def test_ops_enabled() -> bool:
    """``OVRUN_TEST_OPS=1``: a recipe may hold a ``test_ops:`` section that plans N ``noop`` or
    ``sleep`` tasks (the engine-overhead benchmarks and their tests). Unset, such a recipe is
    refused, so these ops never reach a user's plan."""
    return os.environ.get(TEST_OPS_ENV) == "1"
