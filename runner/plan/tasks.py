"""The plan's data: a Task names its op, its normalized params, its upstream tasks (by role)
and its input files; a Plan holds them in topological order. Keys are filled in by
`runner.cache.decide`; nothing here imports a heavy library."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.core.errors import OvrunError
from runner.plan.ops import Op

if TYPE_CHECKING:
    from runner.recipe.spec import Recipe

REPORT = "report"
EXPORT = "export"

# (task, outcomes so far, cache, plan) -> reason to skip the task, or None
Pruner = Callable[..., "str | None"]


@dataclass
class Task:
    """One node of the plan: an op with its params, upstream tasks and input files."""

    id: str
    op: Op
    params: dict[str, Any]
    deps: dict[str, str] = field(default_factory=dict)  # role -> upstream task id
    files: dict[str, Path] = field(default_factory=dict)  # role -> input file/dir
    device: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)  # variant/device/hint for reports
    where: tuple = ()  # recipe path that defines this task, for messages
    key: str = ""
    preimage: dict[str, Any] | None = None


@dataclass
class Plan:
    """A recipe's tasks in topological order, with the skips decided before keying."""

    recipe: Recipe
    tasks: dict[str, Task]  # in topological order
    # search uses it to skip candidates known to fail; every executor asks it before a task
    prune: Pruner | None = None
    # task id -> why it cannot run on this host (absent device); decided once, before keys
    skipped: dict[str, str] = field(default_factory=dict)

    def order(self) -> list[Task]:
        return list(self.tasks.values())


def topological(tasks: list[Task]) -> list[Task]:
    """Dependencies first; among ready tasks, the one listed first goes first.

    The standard library's heap is enough here: a fully cached run must not pay for
    importing networkx (`runner.plan.graph` keeps it for drawing)."""
    by_id = {t.id: t for t in tasks}
    index = {t.id: i for i, t in enumerate(tasks)}
    waiting = {t.id: 0 for t in tasks}
    users: dict[str, list[str]] = {t.id: [] for t in tasks}
    for task in tasks:
        for dep in task.deps.values():
            if dep not in by_id:
                raise OvrunError(
                    f"task {task.id} depends on unknown task {dep}", hint="this is a bug in ovrun"
                )
            waiting[task.id] += 1
            users[dep].append(task.id)
    ready = [(index[tid], tid) for tid, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[Task] = []
    while ready:
        _, tid = heapq.heappop(ready)
        order.append(by_id[tid])
        for user in users[tid]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (index[user], user))
    if len(order) != len(tasks):
        stuck = [t.id for t in tasks if waiting[t.id] > 0]
        raise OvrunError(
            f"task graph has a cycle through {' -> '.join(stuck[:4])}",
            hint="break the circular reference in the recipe",
        )
    return order
