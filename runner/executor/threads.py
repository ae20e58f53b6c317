"""Thread budget for tasks that share a host with other Dask workers.

OpenVINO (also inside NNCF, which compiles its own models), torch and OpenBLAS each size their
pools to every core. Two workers on a 2-core host running one compression each then run four
busy threads on two cores: measured here, two concurrent int4 weight compressions of MiniLM
took 3.5 s each with default threading and 1.6 s each with one thread each (1.5 s alone).
OpenVINO also pins a small stream to the first cores of the process mask, so two 1-thread
processes land on the same core (concurrent inference 8.5 s vs 3.9 s unpinned): a budgeted
compile turns pinning off too.

Benchmark and generate cells never get a budget: they have the host to themselves and measure
with the device's defaults (or what the recipe sets), exactly as the local executor does.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any


def host_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def budget_for(cores: int, slots_on_host: int) -> int | None:
    """Threads per task when ``slots_on_host`` task slots share ``cores``; None = no limit."""
    if slots_on_host <= 1:
        return None
    return max(1, cores // slots_on_host)


def slots_per_host(workers: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Task slots (worker threads) per host, from ``Client.scheduler_info()["workers"]``."""
    slots: dict[str, int] = {}
    for info in workers.values():
        host = info.get("host") or ""
        slots[host] = slots.get(host, 0) + int(info.get("nthreads") or 1)
    return slots


@contextlib.contextmanager
def thread_budget(threads: int | None) -> Iterator[None]:
    """Run the body with at most ``threads`` threads in OpenVINO CPU compiles, torch and
    BLAS/OpenMP pools; ``None`` leaves every library at its default."""
    if not threads:
        yield
        return
    from runner.adapters import compile_threads  # wraps openvino's compile_model once

    with contextlib.ExitStack() as stack:
        stack.enter_context(compile_threads.limited(threads))
        stack.enter_context(_torch_threads(threads))
        stack.enter_context(_blas_threads(threads))
        yield


@contextlib.contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    torch = sys.modules.get("torch")  # only a task that uses torch has imported it
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _blas_threads(threads: int):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its default pool
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)
