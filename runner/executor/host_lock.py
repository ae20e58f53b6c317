"""The host lock: a benchmark has the machine to itself.

A benchmark cell measured while anything else computes on the same host reports the
contention, not the model: two cells at once skew both, and so does a compression on the
other worker of a Dask cluster or in a second ovrun process. Exclusive tasks (benchmark,
generate) take the lock exclusively; every other task takes it shared, so compressions still
run side by side but never beside a measurement. ``flock`` locks are per open file and the
kernel drops them when a process dies, so a killed worker cannot wedge the host."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no shared locks; benchmarks still exclude each other
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = Path(tempfile.gettempdir()) / "ovrun-host.lock"


@contextlib.contextmanager
def host_turn(exclusive: bool) -> Iterator[None]:
    if fcntl is None:
        if not exclusive:
            yield
            return
        from filelock import FileLock

        with FileLock(str(LOCK_FILE) + ".exclusive"):
            yield
        return
    # read-only is enough for flock, and lets every user of a shared machine open the file
    fd = os.open(LOCK_FILE, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
