"""The host lock across real processes: shared holders overlap, an exclusive holder is alone."""

from __future__ import annotations

import subprocess
import sys
import time

from recipes_util import REPO

_HOLD = """
import sys, time
from runner.executor.host_lock import host_turn
exclusive = sys.argv[1] == "x"
with host_turn(exclusive):
    print(f"{time.monotonic():.6f}", flush=True)
    time.sleep(float(sys.argv[2]))
    print(f"{time.monotonic():.6f}", flush=True)
"""


def _hold(kind: str, seconds: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _HOLD, kind, str(seconds)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def _span(proc: subprocess.Popen) -> tuple[float, float]:
    out, _ = proc.communicate(timeout=60)
    start, end = (float(x) for x in out.split())
    return start, end


def test_shared_holders_overlap():
    a, b = _hold("s", 1.0), _hold("s", 1.0)
    (a0, a1), (b0, b1) = _span(a), _span(b)
    assert a0 < b1 and b0 < a1  # both held the lock at the same time


def test_exclusive_holder_never_overlaps_a_shared_one():
    shared = _hold("s", 1.0)
    time.sleep(0.3)  # let the shared holder get in first
    exclusive = _hold("x", 0.2)
    late_shared = _hold("s", 0.2)
    (_, s1), (x0, x1), (l0, l1) = _span(shared), _span(exclusive), _span(late_shared)
    assert x0 >= s1  # the benchmark waited for the running compression
    assert l1 <= x0 or l0 >= x1  # and nothing ran beside it
