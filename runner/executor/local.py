"""Sequential local executor: walks the plan in topological order, treating failure and skip
as data. Only one task runs at a time, so benchmark cells never overlap."""

from __future__ import annotations

import json
import os
import platform
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.adapters.context import TaskContext
from runner.cache import Cache
from runner.errors import OvrunError
from runner.keying import Decision
from runner.plan import Plan, Task


@dataclass
class Outcome:
    task_id: str
    state: str  # cached | ran | skipped | failed | blocked
    reason: str = ""
    seconds: float = 0.0
    exit_code: int = 0  # for failed: 2 when the user can fix the input, 1 otherwise
    summary: dict[str, Any] | None = field(default=None, repr=False)


class NullProgress:
    def start(self, task: Task, decision: Decision) -> None: ...
    def log(self, task: Task, message: str) -> None: ...
    def finish(self, task: Task, outcome: Outcome) -> None: ...


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
            blocked_by = [
                d for d in task.deps.values() if outcomes[d].state in ("failed", "blocked")
            ]
            if decision.state == "skipped":
                outcome = Outcome(task.id, "skipped", decision.reason)
            elif blocked_by:
                outcome = Outcome(task.id, "blocked", f"upstream {blocked_by[0]} failed")
            elif stop:
                outcome = Outcome(
                    task.id, "blocked", "run stopped after a failure (use --keep-going)"
                )
            elif decision.state == "cached":
                outcome = Outcome(task.id, "cached")
            else:
                self.progress.start(task, decision)
                outcome = self._execute(plan, task, forced=decision.reason == "forced")
            self.progress.finish(task, outcome)
            outcomes[task.id] = outcome
            if outcome.state == "failed" and not self.keep_going:
                stop = True
        return outcomes

    def _execute(self, plan: Plan, task: Task, forced: bool) -> Outcome:
        started = time.perf_counter()
        try:
            with self.cache.lock(task.key):
                if self.cache.has(task.key) and not forced:
                    return Outcome(task.id, "cached", "published by another ovrun meanwhile")
                self._check_inputs(plan, task)
                summary = self._run_op(plan, task)
            return Outcome(task.id, "ran", "", time.perf_counter() - started, summary=summary)
        except OvrunError as exc:
            return Outcome(
                task.id,
                "failed",
                exc.render().replace("\n", " — "),
                time.perf_counter() - started,
                exc.exit_code,
            )
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # an adapter bug or a library failure: keep the trace for the user
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = self.log_dir / f"{task.id.replace(':', '_')}.log"
            log.write_text(traceback.format_exc(), encoding="utf-8")
            message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} (traceback: {log})"
            return Outcome(task.id, "failed", message, time.perf_counter() - started, 1)

    def _check_inputs(self, plan: Plan, task: Task) -> None:
        """Upstream entries are re-hashed before use: a flipped byte must not flow downstream."""
        for dep_id in set(task.deps.values()):
            dep = plan.tasks[dep_id]
            problems = self.cache.verify(dep.key)
            if problems:
                self.cache.remove(dep.key)
                raise OvrunError(
                    f"cache entry of {dep_id} ({dep.key[:16]}) was corrupt ({problems[0]}) and has been removed",
                    hint="run again to rebuild it",
                )

    def _run_op(self, plan: Plan, task: Task) -> dict[str, Any]:
        staging = self.cache.begin(task.key)
        try:
            ctx = TaskContext(
                task_id=task.id,
                op=task.op.name,
                params=task.params,
                inputs={
                    role: self.cache.out_dir(plan.tasks[dep].key) for role, dep in task.deps.items()
                },
                files=dict(task.files),
                out=staging.out,
                device=task.device,
                log=lambda message: self.progress.log(task, message),
            )
            t0 = time.time()
            summary = task.op.load()(ctx) or {}
            seconds = time.time() - t0
            (staging.out / "result.json").write_text(
                json.dumps(summary, indent=1, sort_keys=True, default=str), encoding="utf-8"
            )
            meta = {
                "task_id": task.id,
                "op": task.op.name,
                "preimage": task.preimage,
                "started": t0,
                "seconds": seconds,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "python": platform.python_version(),
            }
            if self.cache.has(task.key):  # --force: replace the old entry
                self.cache.remove(task.key)
            self.cache.publish(staging, meta)
            return summary
        except BaseException:
            self.cache.discard(staging)
            raise
