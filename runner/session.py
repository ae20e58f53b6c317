"""Recipe -> keyed plan -> decisions: the shared front half of `run`, `plan`, `explain`,
`graph` and `lock`, computed once, as data. Nothing after this rewrites a task, a skip or a
decision. Imports no heavy library unless devices must be probed (and then only in adapters)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.cache.decide import assign_keys, decide
from runner.cache.decision import Decision
from runner.cache.digest import DigestMemo
from runner.cache.store import Cache, default_cache_dir
from runner.core.errors import OvrunError, suggest
from runner.host import devices as host_devices
from runner.host.availability import check_required_devices
from runner.host.fingerprint import cluster_fingerprint, device_fingerprint
from runner.plan.build import build_plan
from runner.plan.select import select
from runner.plan.tasks import Plan
from runner.recipe.matrix import check_properties
from runner.recipe.resolve import load_recipe
from runner.recipe.spec import Recipe

if TYPE_CHECKING:
    from runner.cache.remote import Remote
    from runner.core.confine import Grants
    from runner.recipe.compose import Overrides


@dataclass(frozen=True)
class Session:
    """A recipe resolved into a keyed plan and its decisions, computed once."""

    recipe: Recipe
    plan: Plan
    cache: Cache
    host: dict[str, Any] | None  # device probe; None when not probed (plan without a memo)
    decisions: dict[str, Decision]
    remote: Remote | None = None  # the team's shared cache, when one is configured
    left_out: list[str] = field(default_factory=list)  # task ids `--only` did not select

    @property
    def skipped(self) -> dict[str, str]:
        return self.plan.skipped


def open_session(
    recipe_path: str | Path,
    cache_dir: str | Path | None = None,
    *,
    probe_devices: bool,
    probe_in_child: bool = False,
    force: set[str] | None = None,
    devices: list[str] | None = None,
    host_extra: dict[str, Any] | None = None,
    overrides: Overrides | None = None,
    remote: str | Remote | None = None,
    only: list[str] | None = None,
    grants: Grants | None = None,
    worker_probes: dict[str, dict[str, Any]] | None = None,
) -> Session:
    """``devices`` overrides this host's probe (a Dask cluster reports what its workers have);
    ``host_extra`` adds facts about where the run happens (the cluster's workers).

    ``probe_devices`` (`run`): probe devices, pull remote hits and re-hash the cached report
    entry before deciding; without it (`plan`, `explain`) nothing is pulled or removed, and
    with ``probe_in_child`` a host not probed yet is probed once in a child process (the
    fingerprint bench cells are keyed on) so that this process imports no openvino.
    ``grants``: --allow-read / --allow-pickle (`runner.core.confine`).
    ``worker_probes``: a cluster's workers' device probes (address -> probe); measuring tasks
    are then keyed on the hardware of the workers that will run them, not this host's."""
    cache = Cache(Path(cache_dir) if cache_dir else default_cache_dir())
    memos = cache.root / "memo"
    recipe = load_recipe(
        recipe_path,
        overrides,
        memo_dir=memos / "valid-recipes",
        grants=grants,
        parse_memo=memos / "parsed-recipes",
    )
    plan, left_out = _planned(recipe, only, force)
    # A run whose tasks name no device (`--only export`) needs no device probe.
    needs_devices = any(t.device for t in plan.tasks.values())
    probe = "here" if probe_devices else "child" if probe_in_child else None
    host = _host(cache.root, probe if needs_devices else None, devices, host_extra)
    check_properties(recipe, host)  # unknown property names: exit 2 before anything runs
    check_required_devices(recipe, host)  # evaluate/deploy device absent: exit 2 up front
    available = host.get("available_devices") if host else None
    if available is not None and needs_devices:
        plan, left_out = _planned(recipe, only, force, available)
    memo = DigestMemo(cache.root / "memo" / "digests.json")
    assign_keys(plan, memo, _machine(host, worker_probes))
    memo.save()
    shared = remote or None
    if isinstance(remote, str):
        from runner.cache.remote import open_remote

        shared = open_remote(remote)
    decisions = decide(plan, cache, force, remote=shared, pull=probe_devices)
    return Session(recipe, plan, cache, host, decisions, remote=shared, left_out=left_out)


def _machine(
    host: dict[str, Any] | None, worker_probes: dict[str, dict[str, Any]] | None
) -> Callable[[str], dict[str, Any] | None]:
    """The hardware fingerprint a measuring task on a device is keyed on."""
    if worker_probes:
        return lambda device: cluster_fingerprint(device, worker_probes)
    return lambda device: device_fingerprint(device, host)


def _planned(
    recipe: Recipe,
    only: list[str] | None,
    force: set[str] | None,
    available: list[str] | None = None,
) -> tuple[Plan, list[str]]:
    unavailable = None
    if available is not None:

        def unavailable(device: str) -> str | None:
            return host_devices.unavailable_reason(device, available)

    plan = build_plan(recipe, unavailable)
    _check_forced(plan, force)
    return plan, (select(plan, only) if only else [])


def _host(
    cache_root: Path,
    probe: str | None,
    devices: list[str] | None,
    extra: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """``probe``: "here" (imports openvino), "child" (a child process does), None (memo only)."""
    host = host_devices.memoized(cache_root)
    if host is None and probe == "here":
        from runner.adapters.devices import probe_memoized  # imports openvino

        host = probe_memoized(cache_root)
    elif host is None and probe == "child":
        host = host_devices.probe_in_child(cache_root)
    if devices is not None:
        host = {**(host or {}), "available_devices": devices}
    if extra:
        host = {**(host or {}), **extra}
    return host


def _check_forced(plan: Plan, force: set[str] | None) -> None:
    unknown = sorted((force or set()) - set(plan.tasks))
    if unknown:
        raise OvrunError(
            f"--force names unknown task '{unknown[0]}'",
            hint=suggest(unknown[0], list(plan.tasks), otherwise="see `ovrun plan` for task ids"),
        )
