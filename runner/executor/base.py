"""The executor contract: what `runner.execution` hands an executor and what it gets back.

An executor walks a keyed plan with its decisions and returns one Outcome per task it
reached. Failure, skip and block are data, not exceptions: a failed task never erases the
outcomes of the others. Every executor settles tasks that need no execution the same way
(:func:`settle`) and asks the plan's pruner before it starts a task (:func:`pruned`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runner.cache.decision import Decision
    from runner.cache.store import Cache
    from runner.plan.search import ResultReader
    from runner.plan.tasks import Plan, Task


@dataclass
class Outcome:
    """What happened to one task in a run, and why."""

    task_id: str
    state: str  # cached | ran | skipped | failed | blocked
    reason: str = ""
    seconds: float = 0.0
    exit_code: int = 0  # for failed: 2 when the user can fix the input, 1 otherwise
    summary: dict[str, Any] | None = field(default=None, repr=False)
    host: str = ""
    worker: str = ""  # Dask worker address when run on a cluster


class Progress(Protocol):
    """Live view of a run: told when a task starts, logs and ends."""

    def start(self, task: Task, decision: Decision) -> None: ...
    def log(self, task: Task, message: str) -> None: ...
    def finish(self, task: Task, outcome: Outcome) -> None: ...


class NullProgress:
    def start(self, task: Task, decision: Decision) -> None: ...
    def log(self, task: Task, message: str) -> None: ...
    def finish(self, task: Task, outcome: Outcome) -> None: ...


@dataclass(frozen=True)
class RunOptions:
    """What execution.py hands every executor besides the plan and the decisions."""

    log_dir: Path  # each task's log: the libraries' output, a failing task's traceback
    progress: Progress = field(default_factory=NullProgress)
    keep_going: bool = False  # after a failure, run what does not depend on it
    stream_output: bool = False  # -v: libraries print to the console instead of the task log


class Executor(Protocol):
    cache: Cache

    def run(
        self, plan: Plan, decisions: dict[str, Decision], options: RunOptions
    ) -> dict[str, Outcome]: ...


STOPPED = "run stopped after a failure (use --keep-going)"


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
    if decision.state == "cached":  # costs nothing after a stop, and its result is reported
        return Outcome(task.id, "cached")
    if stop:
        return Outcome(task.id, "blocked", STOPPED)
    return None


def pruned(plan: Plan, task: Task, outcomes: dict[str, Outcome], cache: Cache) -> Outcome | None:
    """A skip when the plan's pruner (search) rules ``task`` out given what finished so far."""
    if plan.prune is None:
        return None
    reason = plan.prune(task, result_reader(plan, cache, outcomes))
    return Outcome(task.id, "skipped", reason) if reason else None


def result_reader(plan: Plan, cache: Cache, outcomes: dict[str, Outcome]) -> ResultReader:
    """Reads the result.json of a task that ran or was cached in this run."""

    def read(task_id: str) -> dict[str, Any] | None:
        outcome = outcomes.get(task_id)
        if outcome is None or outcome.state not in ("ran", "cached"):
            return None
        path = cache.out_dir(plan.tasks[task_id].key) / "result.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    return read
