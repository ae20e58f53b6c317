"""Dask priorities from the plan.

Dask runs the ready tasks of a worker highest priority first, by default in submission order.
The task with the longest chain of tasks waiting on it (the calibration dataset before
compressions) goes first, so the critical path does not wait behind short side work.
Benchmarks get no boost: they have the host to themselves (:mod:`.host_lock`), so nothing
overlaps them wherever they are placed."""

from __future__ import annotations

from runner.plan.tasks import Plan


def downstream_depth(plan: Plan) -> dict[str, int]:
    """Task id -> number of tasks on its longest path to a task nothing depends on."""
    dependents: dict[str, list[str]] = {tid: [] for tid in plan.tasks}
    for task in plan.tasks.values():
        for dep in task.deps.values():
            dependents[dep].append(task.id)
    depth: dict[str, int] = {}
    for task in reversed(plan.order()):  # dependents come later in topological order
        depth[task.id] = max((depth[d] + 1 for d in dependents[task.id]), default=0)
    return depth


def priorities(plan: Plan) -> dict[str, int]:
    """Task id -> Dask priority (higher runs first)."""
    return downstream_depth(plan)
