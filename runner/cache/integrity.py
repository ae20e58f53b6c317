"""Re-hash the cached entries a run reads directly, before it reads them.

Tasks re-hash their upstream entries before consuming them (executor/task.py). A fully
cached run consumes nothing, but it still shows the report entry's results.json, so that entry
is checked when a run decides: a corrupt one is removed and rebuilt from its (checked) inputs
instead of being shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.cache.store import Cache
from runner.plan.tasks import REPORT, Plan

if TYPE_CHECKING:
    from runner.cache.decision import Decision


def corrupt_report_entry(plan: Plan, cache: Cache, decisions: dict[str, Decision]) -> str | None:
    """Why the cached report entry must be rebuilt (it is removed), or None when it is sound."""
    report = plan.tasks.get(REPORT)
    decision = decisions.get(REPORT)
    if report is None or decision is None or decision.state != "cached":
        return None
    problems = cache.verify(report.key)
    if not problems:
        return None
    cache.remove(report.key)
    return f"cached entry was corrupt ({problems[0]}); rebuilding it"
