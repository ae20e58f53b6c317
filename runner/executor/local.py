"""Sequential local executor: walks the plan in topological order, treating failure and skip
as data. Only one task runs at a time, so benchmark cells never overlap."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.executor.base import Outcome, RunOptions, pruned, settle

if TYPE_CHECKING:
    from runner.cache.decision import Decision
    from runner.cache.store import Cache
    from runner.plan.tasks import Plan


class LocalExecutor:
    def __init__(self, cache: Cache):
        self.cache = cache

    def run(
        self, plan: Plan, decisions: dict[str, Decision], options: RunOptions
    ) -> dict[str, Outcome]:
        progress = options.progress
        outcomes: dict[str, Outcome] = {}
        stop = False
        for task in plan.order():
            decision = decisions[task.id]
            outcome = settle(task, decision, outcomes, stop) or pruned(
                plan, task, outcomes, self.cache
            )
            if outcome is None:
                # imported when a task runs: a fully cached run never needs it
                from runner.executor.task import execute_task

                progress.start(task, decision)
                outcome = execute_task(
                    self.cache,
                    task,
                    {role: plan.tasks[dep].key for role, dep in task.deps.items()},
                    forced=decision.reason == "forced",
                    log_dir=options.log_dir,
                    log=lambda message, task=task: progress.log(task, message),
                    stream_output=options.stream_output,
                )
            progress.finish(task, outcome)
            outcomes[task.id] = outcome
            if outcome.state == "failed" and not options.keep_going:
                stop = True
        return outcomes
