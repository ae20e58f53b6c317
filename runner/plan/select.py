"""`--only`: narrow a plan to the tasks a user names and everything they need.

Like a make target: `--only export` exports and stops; `--only 'compress:*'` builds every
variant without benchmarking. Patterns are shell-style globs over task ids (`ovrun plan`
lists them). Keys do not change: a task's key depends only on its upstream tasks, which
the selection always keeps."""

from __future__ import annotations

from fnmatch import fnmatchcase

from runner.core.errors import OvrunError, suggest
from runner.plan.tasks import Plan


def select(plan: Plan, patterns: list[str]) -> list[str]:
    """Keep the tasks matching ``patterns`` plus their upstream closure; return the ids left out."""
    wanted: list[str] = []
    for pattern in patterns:
        matched = [tid for tid in plan.tasks if fnmatchcase(tid, pattern)]
        if not matched:
            raise OvrunError(
                f"--only names no task matching '{pattern}'",
                hint=suggest(
                    pattern,
                    plan.tasks,
                    otherwise="see `ovrun plan` for task ids (globs like 'compress:*' work)",
                ),
            )
        wanted.extend(matched)
    keep: set[str] = set()
    stack = list(wanted)
    while stack:
        tid = stack.pop()
        if tid not in keep:
            keep.add(tid)
            stack.extend(plan.tasks[tid].deps.values())
    left_out = [tid for tid in plan.tasks if tid not in keep]
    plan.tasks = {tid: task for tid, task in plan.tasks.items() if tid in keep}
    return left_out
