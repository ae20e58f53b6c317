"""The report's key: keyed by what its upstream tasks produced, not by their keys alone.

A benchmark cell that is measured again (``--force``, an entry lost to `cache gc`) keeps its
key but not its figures: measurements are not deterministic. So the report, which consumes
them, is keyed by the digests of its upstream entries' outputs, and by the upstream tasks
that did not finish and why (a report of a run with a failed cell is a different report).
The key is known once the upstream entries exist: at decide time for a fully cached run,
after the executor for any other."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

from runner.cache.key import canonical, key_of, preimage
from runner.cache.store import Cache
from runner.plan.tasks import Plan, Task

MetaReader = Callable[[str], "dict[str, Any] | None"]


def outputs_digest(meta_of: MetaReader, key: str) -> str | None:
    """sha256 over an entry's recorded output digests (None: no such entry)."""
    meta = meta_of(key)
    if meta is None:
        return None
    return hashlib.sha256(canonical(meta.get("outputs", {}))).hexdigest()


def gathered(
    task: Task,
    plan: Plan,
    cache: Cache,
    missing: dict[str, dict[str, str]] | None = None,
    meta_of: MetaReader | None = None,
) -> Task:
    """``task`` keyed by its upstream outputs. ``missing``: upstream task id -> {state, reason}
    for those that did not finish; they leave the task's inputs and enter its params, so the
    report lists them as rows with their reason. An upstream whose entry vanished counts as
    missing too. ``meta_of``: where entries' meta.json come from (default: the local cache;
    `plan` with a shared cache also reads the remote's, to show its report as cached)."""
    missing = dict(missing or {})
    digests: dict[str, str] = {}
    for role, dep in task.deps.items():
        if dep in missing:
            continue
        digest = outputs_digest(meta_of or cache.meta, plan.tasks[dep].key)
        if digest is None:
            missing[dep] = {"state": "missing", "reason": "its cache entry is gone"}
        else:
            digests[role] = digest
    deps = {role: dep for role, dep in task.deps.items() if dep not in missing}
    params: dict[str, Any] = dict(task.params)
    if missing:
        params["missing"] = dict(sorted(missing.items()))
    pre = preimage(
        task.op,
        params,
        {role: plan.tasks[dep].key for role, dep in deps.items()},
        {},
        task.device,
    )
    pre["upstream_outputs"] = dict(sorted(digests.items()))
    return dataclasses.replace(task, deps=deps, params=params, preimage=pre, key=key_of(pre))
