"""Sequential local executor: walks the plan in topological order, treating failure and skip
as data. Only one task runs at a time, so benchmark cells never overlap."""

from __future__ import annotations

from pathlib import Path

from runner.cache import Cache
from runner.executor.task_runner import Outcome, execute_task
from runner.keying import Decision
from runner.plan import Plan, Task

__all__ = ["LocalExecutor", "NullProgress", "Outcome", "settle"]


class NullProgress:
    def start(self, task: Task, decision: Decision) -> None: ...
    def log(self, task: Task, message: str) -> None: ...
    def finish(self, task: Task, outcome: Outcome) -> None: ...


def settle(
    task: Task, decision: Decision, outcomes: dict[str, Outcome], stop: bool
) -> Outcome | None:
    """The outcome of a task that will not execute (skipped, blocked, cached), else None."""
    # on Dask, upstream tasks still running have no outcome yet: only settled failures block
    blocked_by = [
        d
        for d in task.deps.values()
        if d in outcomes and outcomes[d].state in ("failed", "blocked")
    ]
    if decision.state == "skipped":
        return Outcome(task.id, "skipped", decision.reason)
    if blocked_by:
        return Outcome(task.id, "blocked", f"upstream {blocked_by[0]} failed")
    if stop:
        return Outcome(task.id, "blocked", "run stopped after a failure (use --keep-going)")
    if decision.state == "cached":
        return Outcome(task.id, "cached")
    return None


class LocalExecutor:
    def __init__(self, cache: Cache, log_dir: Path, progress=None, keep_going: bool = False):
        self.cache = cache
        self.log_dir = log_dir
        self.progress = progress or NullProgress()
        self.keep_going = keep_going

    def run(self, plan: Plan, decisions: dict[str, Decision]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        stop = False
        for task in plan.order():
            decision = decisions[task.id]
            outcome = settle(task, decision, outcomes, stop)
            prune = getattr(plan, "prune", None)  # search: skip candidates known to fail
            if outcome is None and prune is not None:
                reason = prune(task, outcomes, self.cache, plan)
                outcome = Outcome(task.id, "skipped", reason) if reason else None
            if outcome is None:
                self.progress.start(task, decision)
                outcome = execute_task(
                    self.cache,
                    task,
                    {role: plan.tasks[dep].key for role, dep in task.deps.items()},
                    forced=decision.reason == "forced",
                    log_dir=self.log_dir,
                    log=lambda message, task=task: self.progress.log(task, message),
                )
            self.progress.finish(task, outcome)
            outcomes[task.id] = outcome
            if outcome.state == "failed" and not self.keep_going:
                stop = True
        return outcomes
