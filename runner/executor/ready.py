"""The tasks of a plan that may start now, highest priority first.

The Dask executor hands a task to the cluster only once its upstream tasks are done and a
worker thread is free. Submitted with all its dependencies up front, Dask places a task on a
worker the moment it becomes ready, before it knows how long anything takes: measured here,
both 6 s quantizations of a recipe queued behind each other on one worker while the other
worker finished the 1 s tasks and sat idle. Deciding at the last moment keeps the choice to
the priorities of :mod:`runner.executor.priority`.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from runner.executor.base import Outcome, settle

if TYPE_CHECKING:
    from runner.cache.decision import Decision
    from runner.plan.tasks import Plan, Task


class ReadyQueue:
    """Tracks outcomes; settles tasks that need no execution, queues those that do."""

    def __init__(
        self,
        plan: Plan,
        decisions: dict[str, Decision],
        priority: dict[str, int],
        on_outcome: Callable[[Task, Outcome], None],
        prune: Callable[[Task, dict[str, Outcome]], Outcome | None] = lambda task, outcomes: None,
    ):
        self.plan = plan
        self.decisions = decisions
        self.priority = priority
        self.on_outcome = on_outcome  # (task, outcome) -> None, e.g. progress.finish
        self.prune = prune  # (task, outcomes so far) -> a skip, or None to run it
        self.outcomes: dict[str, Outcome] = {}
        self.stopped = False
        self._index = {tid: i for i, tid in enumerate(plan.tasks)}
        self._dependents: dict[str, list[str]] = {tid: [] for tid in plan.tasks}
        self._missing: dict[str, int] = {}
        self._heap: list[tuple[int, int, str]] = []
        for task in plan.order():
            deps = set(task.deps.values())
            self._missing[task.id] = len(deps)
            for dep in deps:
                self._dependents[dep].append(task.id)
        self._settle_all([t.id for t in plan.order() if not self._missing[t.id]])

    def pop(self) -> Task | None:
        """The ready task with the highest priority (plan order breaks ties), or None."""
        if not self._heap:
            return None
        return self.plan.tasks[heapq.heappop(self._heap)[2]]

    def peek(self) -> Task | None:
        """The task ``pop`` would return, left in the queue."""
        return self.plan.tasks[self._heap[0][2]] if self._heap else None

    def record(self, task: Task, outcome: Outcome) -> None:
        """An executed task's outcome: its dependents may become ready (or blocked)."""
        self.outcomes[task.id] = outcome
        self.on_outcome(task, outcome)
        self._settle_all(self._release(task.id))

    def stop(self) -> None:
        """After a failure without --keep-going: everything not yet started is blocked."""
        self.stopped = True
        queued = [tid for *_, tid in sorted(self._heap)]
        self._heap.clear()
        self._settle_all(queued)

    def _release(self, task_id: str) -> list[str]:
        """Dependents of ``task_id`` whose upstream tasks all have outcomes now."""
        ready = []
        for dependent in self._dependents[task_id]:
            self._missing[dependent] -= 1
            if not self._missing[dependent]:
                ready.append(dependent)
        return ready

    def _settle_all(self, task_ids: list[str]) -> None:
        # a loop, not recursion: a long chain of cached tasks settles without deep stacks
        todo = deque(task_ids)
        while todo:
            task = self.plan.tasks[todo.popleft()]
            settled = settle(task, self.decisions[task.id], self.outcomes, self.stopped)
            if settled is None:
                settled = self.prune(task, self.outcomes)
            if settled is None:
                heapq.heappush(self._heap, (-self.priority[task.id], self._index[task.id], task.id))
                continue
            self.outcomes[task.id] = settled
            self.on_outcome(task, settled)
            todo.extend(self._release(task.id))
