"""Import the plan's heavy libraries in each Dask worker as soon as the run is submitted.

A fresh worker process pays 3-6 s importing torch, transformers, optimum and NNCF inside its
first task; the sequential executor pays that once. Importing on a background thread when
the worker plugin is registered overlaps it with the client's submission and with the first
task running on another worker. Tasks wait for the warm-up to end before they start, so no
two threads of a worker import the same packages at once (torch and transformers do not
tolerate concurrent first imports) and nothing imports beside a running benchmark.
"""

from __future__ import annotations

import threading

from distributed.diagnostics.plugin import WorkerPlugin

_lock = threading.Lock()
_thread: threading.Thread | None = None


class WarmUp(WorkerPlugin):
    """Worker plugin: import ``modules`` on a background thread of the worker process."""

    name = "ovrun-warm-up"

    def __init__(self, modules: list[str]):
        self.modules = list(modules)

    def setup(self, worker) -> None:
        start(self.modules)


def start(modules: list[str]) -> None:
    global _thread
    with _lock:
        previous = _thread
        _thread = threading.Thread(
            target=_import_all, args=(previous, modules), name="ovrun-warm-up", daemon=True
        )
        _thread.start()


def wait() -> None:
    """Block until the warm-up of this process (if any) is done."""
    with _lock:
        thread = _thread
    if thread is not None:
        thread.join()


def _import_all(previous: threading.Thread | None, modules: list[str]) -> None:
    if previous is not None:  # a second run on a long-lived worker: one importer at a time
        previous.join()
    from runner.executor import heavy_imports
    from runner.executor.host_lock import host_turn

    # importing is work too: on a long-lived cluster it must not run beside a measurement
    with host_turn(exclusive=False):
        heavy_imports.import_all(modules)


def modules_for(ops: list) -> list[str]:
    """The ``imports`` of ``ops`` in first-use order, each once."""
    return list(dict.fromkeys(module for op in ops for module in op.imports))
