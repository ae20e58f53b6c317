"""Re-hash the cached entries a run reads directly, before it reads them.

Tasks re-hash their upstream entries before consuming them (executor/task_runner.py). A fully
cached run consumes nothing, but it still shows the report entry's results.json, so that entry
is checked here: a corrupt one is removed and rebuilt from its (checked) inputs instead of
being shown."""

from __future__ import annotations

from runner.keying import Decision
from runner.plan import REPORT


def recheck_cached_report(session) -> None:
    report = session.plan.tasks.get(REPORT)
    decision = session.decisions.get(REPORT)
    if report is None or decision is None or decision.state != "cached":
        return
    problems = session.cache.verify(report.key)
    if problems:
        session.cache.remove(report.key)
        session.decisions[REPORT] = Decision(
            "run", f"cached entry was corrupt ({problems[0]}); rebuilding it"
        )
