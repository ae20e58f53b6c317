"""Load a recipe and bring it to a keyed plan with decisions: the shared front half of
`run`, `plan`, `explain` and `graph`. Imports no heavy library unless devices must be probed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import hostinfo
from runner.availability import check_required_devices
from runner.cache import Cache, default_cache_dir
from runner.digest import DigestMemo
from runner.graph import topological
from runner.keying import Decision, assign_keys, decide, mark_skipped
from runner.matrix import check_properties
from runner.plan import Plan, build_plan
from runner.recipe.model import Recipe, load_recipe


@dataclass
class Session:
    recipe: Recipe
    plan: Plan
    cache: Cache
    host: dict[str, Any] | None  # device probe; None when not probed (plan without a memo)
    skipped: dict[str, str]
    decisions: dict[str, Decision]
    remote: Any = None  # runner.remote.Remote when a shared cache is configured
    left_out: list[str] = field(default_factory=list)  # task ids `--only` did not select


def open_session(
    recipe_path: str | Path,
    cache_dir: str | Path | None = None,
    *,
    probe_devices: bool,
    force: set[str] | None = None,
    devices: list[str] | None = None,
    overrides: Any = None,
    remote: str | None = None,
    only: list[str] | None = None,
) -> Session:
    """``devices`` overrides this host's probe (a Dask cluster reports what its workers have)."""
    recipe = load_recipe(recipe_path, overrides)
    plan = build_plan(recipe)
    plan.tasks = {t.id: t for t in topological(plan)}
    _check_forced(plan, force)
    left_out: list[str] = []
    if only:
        from runner.selection import select

        left_out = select(plan, only)
    cache = Cache(Path(cache_dir) if cache_dir else default_cache_dir())
    # A run whose tasks name no device (`--only export`) needs no device probe.
    probe = probe_devices and any(t.device for t in plan.tasks.values())
    host = hostinfo.probe(cache.root) if probe else hostinfo.memoized(cache.root)
    if devices is not None:
        host = {**(host or {}), "available_devices": devices}
    check_properties(recipe, host)  # unknown property names: exit 2 before anything runs
    check_required_devices(recipe, host)  # evaluate/deploy device absent: exit 2 up front
    skipped = mark_skipped(plan, host["available_devices"] if host else None)
    memo = DigestMemo(cache.root / "memo" / "digests.json")
    assign_keys(plan, memo, skipped)
    memo.save()
    decisions = decide(plan, cache, skipped, force)
    session = Session(recipe, plan, cache, host, skipped, decisions, left_out=left_out)
    if remote:
        from runner.remote import attach

        # `run` (which probes devices) pulls remote hits; `plan` and `explain` only look.
        attach(session, remote, force, pull=probe_devices)
    return session


def _check_forced(plan: Plan, force: set[str] | None) -> None:
    unknown = sorted((force or set()) - set(plan.tasks))
    if unknown:
        import difflib

        from runner.errors import OvrunError

        close = difflib.get_close_matches(unknown[0], list(plan.tasks), n=1)
        raise OvrunError(
            f"--force names unknown task '{unknown[0]}'",
            hint=f"did you mean '{close[0]}'?" if close else "see `ovrun plan` for task ids",
        )
