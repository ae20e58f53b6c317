"""Finished Dask futures with their results, as they finish.

The client used to wait for the first finished future and then fetch each result with
``future.result()``: one synchronous round trip to a worker per task, on the loop that also
hands out the next tasks. On 16 workers of 0.2 s tasks that loop, not the workers, set the pace
(makespan 21x the ideal, benchmarks/sleep_sweep.py). ``as_completed(with_results=True)`` fetches
each result on the client's event-loop thread the moment its task ends, so the scheduling loop
only drains what is already here.
"""

from __future__ import annotations

import time
from typing import Any

from distributed import as_completed


class Completions:
    def __init__(self) -> None:
        self._done = as_completed([], with_results=True, raise_errors=False)

    def add(self, future: Any) -> None:
        self._done.add(future)

    def wait(self, timeout: float) -> list[tuple[Any, Any]]:
        """(future, result) of every future finished so far, after waiting up to ``timeout``
        seconds for the first. A failed future's result is its exception; a cancelled one's
        a CancelledError."""
        deadline = time.monotonic() + timeout
        while not self._done.has_ready():
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            # as_completed notifies this condition when a future lands in its queue
            with self._done.thread_condition:
                if not self._done.has_ready():
                    self._done.thread_condition.wait(timeout=min(left, 0.25))
        return [
            (future, _unpacked(future, result))
            for future, result in self._done.next_batch(block=False)
        ]


def _unpacked(future: Any, result: Any) -> Any:
    # raise_errors=False hands an errored future's (type, exception, traceback)
    if getattr(future, "status", "") == "error" and isinstance(result, tuple) and len(result) == 3:
        return result[1]
    return result
