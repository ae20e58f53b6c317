"""Give every task of a plan its content key and decide what is cached, skipped or will run,
with the reason. Needs no heavy import: keys depend on params and upstream keys, not outputs,
except the report's, which depends on what its upstream entries hold (`cache/gather.py`).

Decided once per session: the shared cache is consulted (and, for a run, its hits pulled)
and the cached report entry re-hashed here, so nothing later rewrites a decision."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runner.cache.decision import Decision
from runner.cache.digest import DigestMemo
from runner.cache.gather import gathered
from runner.cache.integrity import corrupt_report_entry
from runner.cache.key import diff, key_of, preimage
from runner.cache.store import Cache
from runner.plan.tasks import REPORT, Plan, Task

if TYPE_CHECKING:
    from runner.cache.remote import Remote


def assign_keys(
    plan: Plan,
    memo: DigestMemo,
    machine: Callable[[str], dict[str, Any] | None] | None = None,
) -> None:
    """Fill in each task's preimage and key (skipped tasks have none: they never run).

    ``machine(device)``: the hardware fingerprint measuring tasks are keyed on (None: this
    host is not probed yet, and such a task is shown as one that will run)."""
    for task in plan.order():
        if task.id in plan.skipped:
            continue
        files = {role: memo.any(path) for role, path in task.files.items()}
        upstream = {role: plan.tasks[dep].key for role, dep in task.deps.items()}
        fingerprint = machine(task.device) if machine and task.op.measures and task.device else None
        capabilities = _capabilities(task, machine) if task.op.precision_dependent else None
        task.preimage = preimage(
            task.op, task.params, upstream, files, task.device, fingerprint, capabilities
        )
        task.key = key_of(task.preimage)


def _capabilities(
    task: Task, machine: Callable[[str], dict[str, Any] | None] | None
) -> list[Any] | None:
    """OPTIMIZATION_CAPABILITIES of the device a precision-dependent task computes on (each
    present member of a meta-device); None when the host is not probed yet."""
    device = task.params.get("device")
    found = machine(device) if machine and isinstance(device, str) else None
    if not found:
        return None
    members = found.get("members") or {device: found}
    return [[name, members[name].get("capabilities")] for name in sorted(members)]


def decide(
    plan: Plan,
    cache: Cache,
    force: set[str] | None = None,
    *,
    remote: Remote | None = None,
    pull: bool = False,
) -> dict[str, Decision]:
    """cached / run / skipped for each task, with a reason a person can act on.

    ``force``: task ids to re-run; an empty set means every task. ``remote``: the team's cache;
    with ``pull`` (a run) its hits are downloaded and the cached report entry is re-hashed,
    without it (`plan`) a remote hit is shown as what a run would take from there."""
    local = _decide_local(plan, cache, force)
    if remote is None:
        decisions = local
    elif pull:
        from runner.cache.remote import sync_down

        pulled = sync_down(plan, local, cache, remote, _warn)
        decisions = _decide_local(plan, cache, force) if pulled else local
        if pulled:
            # the report's key is known only now that its upstream entries are here
            pulled += sync_down(plan, decisions, cache, remote, _warn)
            decisions = _decide_local(plan, cache, force)
            print(f"pulled {len(pulled)} cache entries from {remote.url}", file=sys.stderr)
    else:
        decisions = {
            tid: _remote_decision(remote, plan.tasks[tid].key, d) if _would_pull(d) else d
            for tid, d in local.items()
        }
        decisions = _report_on_remote(plan, cache, remote, decisions)
    if pull:
        corrupt = corrupt_report_entry(plan, cache, decisions)
        if corrupt:
            decisions = {**decisions, REPORT: Decision("run", corrupt)}
    return decisions


def _report_on_remote(
    plan: Plan, cache: Cache, remote: Remote, decisions: dict[str, Decision]
) -> dict[str, Decision]:
    """`plan` with a shared cache: when every upstream task is cached here or there, key the
    report by their outputs (read from either meta.json) and look for it in both."""
    report = plan.tasks.get(REPORT)
    if report is None or decisions[REPORT].state != "run" or decisions[REPORT].reason == "forced":
        return decisions
    if not _upstream_all_cached(report, decisions):
        return decisions
    keyed = gathered(report, plan, cache, meta_of=lambda key: cache.meta(key) or remote.meta(key))
    report.key, report.preimage = keyed.key, keyed.preimage
    if cache.has(report.key):
        return {**decisions, REPORT: Decision("cached", "")}
    return {**decisions, REPORT: _remote_decision(remote, report.key, decisions[REPORT])}


def _remote_decision(remote: Remote, key: str | None, local: Decision) -> Decision:
    """What a run would do with the remote's entry: take it only when a pull would accept
    it (well-formed, signed by a trusted key when keys are trusted)."""
    if not key or not remote.has(key):  # has(): an unreachable remote is one clear error
        return local
    meta = remote.meta(key)
    if meta is None:
        return Decision("run", f"the remote entry at {remote.url} is malformed (not used)")
    problem = remote.refusal(key, meta)
    if problem:
        return Decision("run", f"the remote entry would be refused: {problem}")
    return Decision("cached", f"on the remote cache {remote.url}")


def _would_pull(decision: Decision) -> bool:
    return decision.state == "run" and decision.reason != "forced"


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _decide_local(plan: Plan, cache: Cache, force: set[str] | None) -> dict[str, Decision]:
    decisions: dict[str, Decision] = {}
    for task in plan.order():
        if task.id in plan.skipped:
            decisions[task.id] = Decision("skipped", plan.skipped[task.id])
            continue
        forced = force is not None and (not force or task.id in force)
        if task.id == REPORT and _upstream_all_cached(task, decisions):
            # keyed by the upstream outputs, which exist now: a re-measured cell is seen
            keyed = gathered(task, plan, cache)
            task.key, task.preimage = keyed.key, keyed.preimage
        if forced:
            decisions[task.id] = Decision("run", "forced")
            continue
        if _unprobed(task):
            decisions[task.id] = Decision("run", UNPROBED)
            continue
        if cache.has(task.key):
            decisions[task.id] = Decision("cached", "")
            continue
        decisions[task.id] = Decision("run", _why_not_cached(plan, task, cache, decisions))
    return decisions


UNPROBED = "this host's devices are not probed yet: a measurement is keyed on its hardware"


def _unprobed(task: Task) -> bool:
    return task.op.measures and (task.preimage or {}).get("machine") is None


def _other_machine(changes: list[str]) -> str | None:
    """What differs (``cpu_model: "A" -> "B"; cores: 8 -> 4``) when only the machine does."""
    if not changes or not all(line.startswith(("machine.", "machine:")) for line in changes):
        return None
    if changes[0].startswith("machine:"):
        return "not recorded (the entry predates hardware fingerprints)"
    shown = [line.removeprefix("machine.") for line in changes]
    more = f" (+{len(shown) - 2} more)" if len(shown) > 2 else ""
    return "; ".join(shown[:2]) + more


_CONSEQUENCES = ("upstream.", "upstream_outputs", "params.missing")


def _upstream_all_cached(task: Task, decisions: dict[str, Decision]) -> bool:
    return all(decisions[dep].state == "cached" for dep in task.deps.values())


def _why_not_cached(plan: Plan, task: Task, cache: Cache, decisions: dict[str, Decision]) -> str:
    rerun = [dep for dep in task.deps.values() if decisions[dep].state == "run"]
    ref = cache.read_ref(plan.recipe.name, task.id)
    if ref and ref.get("preimage") and ref["key"] != task.key:
        lines = diff(ref["preimage"], task.preimage or {})
        # consequences, not causes: upstream keys, the report's upstream outputs and the
        # upstream tasks that did not finish last time
        changes = [line for line in lines if not line.startswith(_CONSEQUENCES)]
        elsewhere = _other_machine(changes)
        if elsewhere and cache.has(ref["key"]):
            return f"measured on another machine: {elsewhere}"
        if (
            not changes
            and not rerun
            and any(line.startswith("upstream_outputs.") for line in lines)
        ):
            return "an upstream result changed (measured again)"
        if changes:
            more = f" (+{len(changes) - 2} more)" if len(changes) > 2 else ""
            return "changed: " + "; ".join(changes[:2]) + more
    if rerun:
        return f"upstream {rerun[0]} will run"
    if ref and ref["key"] == task.key:
        return "cache entry missing (removed or never published)"
    return "not in cache"
