"""`ovrun.lock`: what a recipe resolved to, next to the recipe, as sorted YAML for diffs.

One lock file serves every recipe in its directory (``recipes: {<file name>: ...}``). Per
task it records the cache key and everything the key was made of — op and implementation
version, params with every default filled in, package versions, input file digests (per
file inside a model directory, so a diff names the file) — plus what the libraries resolved
at run time (e.g. ``nncf_params``) and a short summary of the results.

`ovrun run --locked` recomputes all of it without running anything and refuses (exit 2)
when anything differs, printing one line per cause: a package that moved, a file whose
content changed, a parameter or default that changed, a task added or removed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runner.cache.digest import DigestMemo, iter_tree
from runner.core.atomic import write_text_atomic
from runner.core.errors import Location, OvrunError

if TYPE_CHECKING:
    from runner.cache.store import Cache
    from runner.plan.tasks import Plan
    from runner.recipe.spec import Recipe


class Locked(Protocol):
    """What a lock is written from and checked against: a keyed session (`runner.session`)."""

    recipe: Recipe
    plan: Plan
    cache: Cache


LOCK_NAME = "ovrun.lock"
LOCK_SCHEMA = "ovrun.lock/1"
_SUMMARY_LIMIT = 12  # scalar fields of a task's result kept in the lock


def lock_path(recipe_file: Path) -> Path:
    return Path(recipe_file).parent / LOCK_NAME


def read_lock(path: Path) -> dict[str, Any] | None:
    import yaml

    if path.is_symlink() or (path.exists() and not path.is_file()):
        # a committed lock is as untrusted as the recipe: no reading through links or FIFOs
        raise OvrunError(
            f"{LOCK_NAME} is a symlink or not a regular file",
            hint="remove it and regenerate it with `ovrun lock RECIPE`",
            location=Location(str(path)),
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise OvrunError(
            f"cannot read {LOCK_NAME} ({type(exc).__name__})",
            hint="regenerate it with `ovrun lock RECIPE`",
            location=Location(str(path)),
        ) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OvrunError(
            f"{LOCK_NAME} is not valid YAML: {str(exc).splitlines()[0]}",
            hint="regenerate it with `ovrun lock RECIPE`",
            location=Location(str(path)),
        ) from None
    if (
        not isinstance(doc, dict)
        or doc.get("schema") != LOCK_SCHEMA
        or not isinstance(doc.get("recipes", {}), dict)
    ):
        raise OvrunError(
            f"{path} is not an ovrun lock file ({LOCK_SCHEMA})",
            hint="regenerate it with `ovrun lock RECIPE`",
            location=Location(str(path)),
        )
    return doc


# -- building -----------------------------------------------------------------


def resolve(session: Locked) -> dict[str, Any]:
    """The lock entry of a session's recipe, from its keyed plan and (when present) cache."""
    from runner.cache.key import lib_version

    recipe, plan, cache = session.recipe, session.plan, session.cache
    memo = DigestMemo(cache.root / "memo" / "digests.json")
    tasks: dict[str, Any] = {}
    packages: dict[str, str] = {}
    for task in plan.order():
        if task.id in session.plan.skipped:
            tasks[task.id] = {"skipped": session.plan.skipped[task.id]}
            continue
        pre = task.preimage or {}
        packages.update(pre.get("libs", {}))
        entry: dict[str, Any] = {
            "key": task.key,
            "op": pre.get("op"),
            "op_version": pre.get("op_version"),
            "params": pre.get("params"),
            "libs": pre.get("libs"),
            "upstream": dict(sorted(task.deps.items())),
            "files": {
                role: _file_entry(recipe.file.parent, path, memo)
                for role, path in sorted(task.files.items())
            },
        }
        if pre.get("device"):
            entry["device"] = pre["device"]
        entry.update(_outcome(cache, task.key))
        tasks[task.id] = entry
    memo.save()
    for name in ("ovrun", "python"):
        packages[name] = _python_version() if name == "python" else lib_version(name)
    return {
        "name": recipe.name,
        "model": _model_entry(recipe, tasks.get("export", {})),
        "datasets": {
            task.labels["dataset"]: tasks[task.id]["files"].get("source")
            for task in plan.order()
            if task.op.name == "dataset" and task.id in tasks and "files" in tasks[task.id]
        },
        "packages": dict(sorted(packages.items())),
        "tasks": tasks,
        "results": _results_summary(session),
    }


def _python_version() -> str:
    import platform

    return platform.python_version()


def _file_entry(base: Path, path: Path, memo: DigestMemo) -> dict[str, Any]:
    try:
        shown = str(Path(path).relative_to(base))
    except ValueError:
        shown = str(path)
    if Path(path).is_dir():
        return {
            "path": shown,
            "sha256": memo.tree(Path(path)),
            "files": {rel: memo.file(p) for rel, p in iter_tree(Path(path))},
        }
    return {"path": shown, "sha256": memo.file(Path(path))}


def _model_entry(recipe: Recipe, export: dict[str, Any]) -> dict[str, Any]:
    source = recipe.model.source
    entry: dict[str, Any] = {"kind": source.kind, "ref": source.ref}
    if source.kind == "hf":
        entry["revision"] = source.revision
    elif export.get("files", {}).get("model"):
        entry["sha256"] = export["files"]["model"]["sha256"]
    return entry


def _outcome(cache: Cache, key: str) -> dict[str, Any]:
    """What the task resolved to when it ran: library-applied params and a short summary."""
    if not cache.has(key):
        return {"built": False}
    try:
        result = json.loads((cache.out_dir(key) / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"built": True}
    resolved = {k: v for k, v in result.items() if k.endswith("_params") or k == "resolved"}
    scalars = {
        k: v
        for k, v in sorted(result.items())
        if isinstance(v, str | int | float | bool) and k not in resolved
    }
    out: dict[str, Any] = {"built": True}
    if resolved:
        out["resolved"] = resolved
    if scalars:
        out["summary"] = dict(list(scalars.items())[:_SUMMARY_LIMIT])
    return out


def _results_summary(session: Locked) -> dict[str, Any]:
    report = session.plan.tasks.get("report")
    if report is None or not report.key or not session.cache.has(report.key):
        return {}
    try:
        results = json.loads(
            (session.cache.out_dir(report.key) / "results.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return {}
    summary: dict[str, Any] = {}
    evaluations = results.get("evaluations") or {}
    if evaluations:
        summary["accuracy"] = {
            v: {"metric": e.get("metric"), "value": e.get("value")}
            for v, e in sorted(evaluations.items())
        }
    if results.get("gates"):
        summary["gates_passed"] = all(g.get("passed") for g in results["gates"])
    bench = {
        b["task"]: round(b["throughput"], 3)
        for b in results.get("benchmarks", [])
        if b.get("status") == "ok" and isinstance(b.get("throughput"), int | float)
    }
    if bench:
        summary["throughput_per_s"] = bench
    return summary


def write_lock(session: Locked) -> Path:
    """Add or replace this recipe's entry in the lock file beside it; returns the path."""
    import yaml

    path = lock_path(session.recipe.file)
    doc = read_lock(path) or {"schema": LOCK_SCHEMA, "recipes": {}}
    doc.setdefault("recipes", {})[session.recipe.file.name] = resolve(session)
    header = (
        "# ovrun.lock: what each recipe here resolved to. Written by `ovrun lock`;\n"
        "# `ovrun run --locked` refuses to run when anything differs. Commit it.\n"
    )
    text = yaml.safe_dump(doc, sort_keys=True, default_flow_style=False, allow_unicode=True)
    write_text_atomic(path, header + text)
    return path


# -- checking -----------------------------------------------------------------


def check(session: Locked) -> list[str]:
    """Differences between the lock and what the recipe resolves to now ([] when none)."""
    path = lock_path(session.recipe.file)
    doc = read_lock(path)
    if doc is None:
        raise OvrunError(
            f"--locked: no {LOCK_NAME} beside {session.recipe.file.name}",
            hint=f"create it with `ovrun lock {session.recipe.file}` and commit it",
            location=Location(str(path)),
        )
    locked = doc.get("recipes", {}).get(session.recipe.file.name)
    if locked is None:
        raise OvrunError(
            f"--locked: {LOCK_NAME} has no entry for {session.recipe.file.name}",
            hint=f"create it with `ovrun lock {session.recipe.file}`",
            location=Location(str(path)),
        )
    return diff_locks(locked, resolve(session))


def diff_locks(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Readable causes, not consequences: a changed upstream key is implied by its cause."""
    from runner.cache.key import diff

    lines: list[str] = []
    packages: dict[tuple[str, str, str], list[str]] = {}
    old_tasks, new_tasks = old.get("tasks", {}), new.get("tasks", {})
    for task_id in sorted(set(old_tasks) | set(new_tasks)):
        a, b = old_tasks.get(task_id), new_tasks.get(task_id)
        if a is None:
            lines.append(f"task {task_id}: new (not in the lock)")
            continue
        if b is None:
            lines.append(f"task {task_id}: in the lock but no longer planned")
            continue
        if "skipped" in a or "skipped" in b:
            continue  # device availability differs per host; not a resolution change
        for lib in sorted(set(a.get("libs") or {}) | set(b.get("libs") or {})):
            va, vb = (
                (a.get("libs") or {}).get(lib, "absent"),
                (b.get("libs") or {}).get(lib, "absent"),
            )
            if va != vb:
                packages.setdefault((lib, va, vb), []).append(task_id)
        if a.get("op_version") != b.get("op_version"):
            lines.append(
                f"task {task_id}: op {b.get('op')} implementation version "
                f"{a.get('op_version')} -> {b.get('op_version')}"
            )
        for line in diff({"params": a.get("params")}, {"params": b.get("params")}):
            lines.append(f"task {task_id}: {line}")
        lines.extend(_file_changes(task_id, a.get("files") or {}, b.get("files") or {}))
        if a.get("device") != b.get("device"):
            lines.append(f"task {task_id}: device {a.get('device')} -> {b.get('device')}")
    for (lib, va, vb), users in sorted(packages.items()):
        lines.insert(0, f"package {lib}: {va} -> {vb} (keys {', '.join(users)})")
    return lines


def _file_changes(task_id: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = []
    for role in sorted(set(old) | set(new)):
        a, b = old.get(role), new.get(role)
        if a is None or b is None:
            lines.append(f"task {task_id}: input {role} {'added' if a is None else 'removed'}")
            continue
        if a.get("sha256") == b.get("sha256"):
            continue
        inner_a, inner_b = a.get("files"), b.get("files")
        if isinstance(inner_a, dict) and isinstance(inner_b, dict):
            for rel in sorted(set(inner_a) | set(inner_b)):
                if inner_a.get(rel) != inner_b.get(rel):
                    what = (
                        "added"
                        if rel not in inner_a
                        else "removed"
                        if rel not in inner_b
                        else f"content changed (sha256 {inner_a[rel][:12]} -> {inner_b[rel][:12]})"
                    )
                    lines.append(f"file {b.get('path')}/{rel} ({task_id} {role}): {what}")
        else:
            lines.append(
                f"file {b.get('path')} ({task_id} {role}): content changed "
                f"(sha256 {a.get('sha256', '')[:12]} -> {b.get('sha256', '')[:12]})"
            )
    return lines
