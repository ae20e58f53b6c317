"""Give every task of a plan its content key and decide what is cached, skipped or will run,
with the reason. Needs no heavy import: keys depend on params and upstream keys, not outputs."""

from __future__ import annotations

from dataclasses import dataclass

from runner.cache import Cache
from runner.digest import DigestMemo
from runner.hostinfo import unavailable_reason
from runner.keys import diff, key_of, preimage
from runner.plan import REPORT, Plan


@dataclass
class Decision:
    state: str  # cached | run | skipped
    reason: str


def mark_skipped(plan: Plan, available: list[str] | None) -> dict[str, str]:
    """Skip device tasks whose device is absent; the report then covers only what runs."""
    skipped: dict[str, str] = {}
    if available is None:
        return skipped
    for task in plan.order():
        if task.device is not None:
            reason = unavailable_reason(task.device, available)
            if reason:
                skipped[task.id] = reason
    report = plan.tasks.get(REPORT)
    if report is not None:
        report.deps = {role: dep for role, dep in report.deps.items() if dep not in skipped}
        report.params = {**report.params, "skipped": dict(sorted(skipped.items()))}
    return skipped


def assign_keys(plan: Plan, memo: DigestMemo, skipped: dict[str, str]) -> None:
    for task in plan.order():
        if task.id in skipped:
            continue
        files = {role: memo.any(path) for role, path in task.files.items()}
        upstream = {role: plan.tasks[dep].key for role, dep in task.deps.items()}
        task.preimage = preimage(task.op, task.params, upstream, files, task.device)
        task.key = key_of(task.preimage)


def decide(
    plan: Plan,
    cache: Cache,
    skipped: dict[str, str],
    force: set[str] | None = None,
) -> dict[str, Decision]:
    """cached / run / skipped for each task, with a reason a person can act on.

    ``force``: task ids to re-run; an empty set means every task."""
    decisions: dict[str, Decision] = {}
    for task in plan.order():
        if task.id in skipped:
            decisions[task.id] = Decision("skipped", skipped[task.id])
            continue
        forced = force is not None and (not force or task.id in force)
        if forced:
            decisions[task.id] = Decision("run", "forced")
            continue
        if cache.has(task.key):
            decisions[task.id] = Decision("cached", "")
            continue
        decisions[task.id] = Decision("run", _why_not_cached(plan, task, cache, decisions))
    return decisions


def _why_not_cached(plan: Plan, task, cache: Cache, decisions: dict[str, Decision]) -> str:
    rerun = [dep for dep in task.deps.values() if decisions[dep].state == "run"]
    ref = cache.read_ref(plan.recipe.name, task.id)
    if ref and ref.get("preimage") and ref["key"] != task.key:
        changes = [
            line
            for line in diff(ref["preimage"], task.preimage or {})
            if not line.startswith("upstream.")
        ]
        if changes:
            more = f" (+{len(changes) - 2} more)" if len(changes) > 2 else ""
            return "changed: " + "; ".join(changes[:2]) + more
    if rerun:
        return f"upstream {rerun[0]} will run"
    if ref and ref["key"] == task.key:
        return "cache entry missing (removed or never published)"
    return "not in cache"
