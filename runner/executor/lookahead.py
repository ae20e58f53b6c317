"""How far ahead of free worker threads the Dask executor may hand out tasks.

A task is handed to Dask only when a worker thread is free for it (:mod:`.ready`: placed any
earlier, two long quantizations queued on one worker while the other sat idle). For short
tasks that rule costs more than it saves: between one task's end and the next one's start lie
the result's trip to the client and the next task's trip to a worker, which on 16 workers of
0.2 s tasks left them idle most of the time (benchmarks/sleep_sweep.py). So once tasks of an
op have been seen to take under ``SHORT_TASK_S``, each worker thread may hold one more of them
waiting: a misplaced short task costs at most its own length. Long and exclusive ops (compressions,
benchmark cells) keep the strict rule, and an op's first tasks too, as nothing is known yet.
"""

from __future__ import annotations

import statistics
from collections import defaultdict, deque

SHORT_TASK_S = 1.0
_REMEMBERED = 20  # the most recent durations per op


class Lookahead:
    def __init__(self) -> None:
        self._seconds: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=_REMEMBERED))

    def record(self, op: str, seconds: float) -> None:
        """A task of ``op`` ran for ``seconds`` on a worker."""
        self._seconds[op].append(seconds)

    def limit(self, op: str, exclusive: bool, threads: int) -> int:
        """Tasks that may be in the cluster at once while the next ready one is of ``op``."""
        seen = self._seconds.get(op)
        if exclusive or not seen or statistics.median(seen) >= SHORT_TASK_S:
            return threads
        return 2 * threads
