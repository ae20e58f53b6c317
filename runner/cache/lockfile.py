"""`ovrun.lock`: what a recipe resolved to, next to the recipe, as sorted YAML for diffs.

One lock file serves every recipe in its directory (``recipes: {<file name>: ...}``). Per
task it records the cache key and everything the key was made of — op and implementation
version, params with every default filled in, package versions, input file digests (per
file inside a model directory, so a diff names the file) — plus what the libraries resolved
at run time (e.g. ``nncf_params``).

The lock is meant to be committed, so it is quiet in git: paths are relative to the lock's
directory, nothing measured is in it (timings and throughputs belong in results.json), no
YAML anchors, sorted keys. Two clones at different paths with different caches write the
same bytes for the same recipe.

`ovrun run --locked` recomputes all of it without running anything and refuses (exit 2)
when anything differs, printing one line per cause: a package or environment field that
moved, a file whose content changed, a parameter or default that changed, a task key that
changed for another reason, a task added or removed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runner.cache.digest import DigestMemo, iter_tree
from runner.core.atomic import write_text_atomic
from runner.core.errors import Location, OvrunError
from runner.plan.tasks import REPORT

if TYPE_CHECKING:
    from runner.cache.store import Cache
    from runner.plan.tasks import Plan, Task
    from runner.recipe.spec import Recipe


class Locked(Protocol):
    """What a lock is written from and checked against: a keyed session (`runner.session`)."""

    recipe: Recipe
    plan: Plan
    cache: Cache


LOCK_NAME = "ovrun.lock"
LOCK_SCHEMA = "ovrun.lock/1"


def lock_path(recipe_file: Path) -> Path:
    return Path(recipe_file).parent / LOCK_NAME


def read_lock(path: Path) -> dict[str, Any] | None:
    """The lock's document, None when there is no lock; any damage is an `OvrunError` at
    ``ovrun.lock:LINE:COL`` (see `lockfile_read`)."""
    if not os.path.lexists(path):
        return None  # the common case, decided without importing yaml
    from runner.cache.lockfile_read import load_lock_file

    if Path(path).is_symlink() or (Path(path).exists() and not Path(path).is_file()):
        # a committed lock is as untrusted as the recipe: no reading through links or FIFOs
        raise OvrunError(
            f"{LOCK_NAME} is a symlink or not a regular file",
            hint="remove it and regenerate it with `ovrun lock RECIPE`",
            location=Location(str(path)),
        )
    doc = load_lock_file(Path(path))
    if doc is None and not Path(path).exists():
        return None
    if (
        not isinstance(doc, dict)
        or doc.get("schema") != LOCK_SCHEMA
        or not isinstance(doc.get("recipes", {}), dict)
        or not all(isinstance(r, dict) for r in doc.get("recipes", {}).values())
    ):
        raise OvrunError(
            f"{path} is not an ovrun lock file ({LOCK_SCHEMA})",
            hint="regenerate it with `ovrun lock RECIPE`",
            location=Location(str(path), 1, 1),
        )
    return doc


# -- building -----------------------------------------------------------------


def _host_or_output_keyed(task: Task) -> bool:
    """Keys that are not a pin of what the recipe resolves to: a measuring task's key holds
    the host's hardware fingerprint, an evaluation's the device's precisions, and the
    report's the digests of measurements. Recording them would make every host and every
    re-measurement rewrite the lock; their params, libraries and files are recorded and
    compared like every other task's."""
    return task.op.measures or task.op.precision_dependent or task.id == REPORT


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
        if not _host_or_output_keyed(task):
            entry["key"] = task.key
        if pre.get("device"):
            entry["device"] = pre["device"]
        entry.update(_resolved(cache, task.key))
        tasks[task.id] = entry
    memo.save()
    return {
        "name": recipe.name,
        "model": _model_entry(recipe, tasks.get("export", {})),
        "datasets": {
            task.labels["dataset"]: tasks[task.id]["files"].get("source")
            for task in plan.order()
            if task.op.name == "dataset" and task.id in tasks and "files" in tasks[task.id]
        },
        "packages": dict(sorted(packages.items())),
        "environment": {"ovrun": lib_version("ovrun"), "python": _python_version()},
        "tasks": tasks,
    }


def _python_version() -> str:
    import platform

    return platform.python_version()


def _relative(base: Path, path: Path) -> str:
    """``path`` as seen from the lock's directory, with forward slashes on every OS."""
    return Path(os.path.relpath(Path(path).resolve(), Path(base).resolve())).as_posix()


def _file_entry(base: Path, path: Path, memo: DigestMemo) -> dict[str, Any]:
    shown = _relative(base, path)
    if Path(path).is_dir():
        return {
            "path": shown,
            "sha256": memo.tree(Path(path)),
            "files": {rel: memo.file(p) for rel, p in iter_tree(Path(path))},
        }
    return {"path": shown, "sha256": memo.file(Path(path))}


def _model_entry(recipe: Recipe, export: dict[str, Any]) -> dict[str, Any]:
    source = recipe.model.source
    ref = source.ref
    model_file = source.local_dir or source.files.get("model")
    if source.kind in ("path", "onnx", "ir") and model_file is not None:
        ref = _relative(recipe.file.parent, model_file)
    entry: dict[str, Any] = {"kind": source.kind, "ref": ref}
    if source.kind == "hf":
        entry["revision"] = source.revision
    elif export.get("files", {}).get("model"):
        entry["sha256"] = export["files"]["model"]["sha256"]
    return entry


def _resolved(cache: Cache, key: str) -> dict[str, Any]:
    """What the libraries resolved when the task ran (e.g. NNCF's preset rule): a fact about
    the resolution, unlike timings or throughputs, which are measured and stay out."""
    try:
        result = json.loads((cache.out_dir(key) / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(result, dict):
        return {}
    resolved = {k: v for k, v in result.items() if k.endswith("_params") or k == "resolved"}
    return {"resolved": resolved} if resolved else {}


_HEADER = (
    "# ovrun.lock: what each recipe here resolved to. Written by `ovrun lock` and refreshed\n"
    "# by a successful `ovrun run`; `ovrun run --locked` refuses to run when anything differs.\n"
    "# Commit it.\n"
)


def render_lock(doc: dict[str, Any]) -> str:
    """The lock's text: sorted keys, block style, no anchors (shared sub-dicts are written out
    in full, so locking another recipe never renumbers anything)."""
    import yaml

    class _NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    body = yaml.dump(
        doc,
        Dumper=_NoAliases,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
    return _HEADER + body


def write_lock(session: Locked) -> tuple[Path, bool]:
    """Add or replace this recipe's entry in the lock file beside it; returns the path and
    whether the file changed (it is rewritten only then)."""
    path = lock_path(session.recipe.file)
    doc = read_lock(path) or {"schema": LOCK_SCHEMA, "recipes": {}}
    name = session.recipe.file.name
    entry = resolve(session)
    recipes = doc.setdefault("recipes", {})
    _keep_resolved(recipes.get(name), entry)
    recipes[name] = entry
    text = render_lock(doc)
    try:
        unchanged = path.read_text(encoding="utf-8") == text
    except (OSError, ValueError):
        unchanged = False
    if not unchanged:
        write_text_atomic(path, text)
    return path, not unchanged


def _keep_resolved(old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    """A task whose key did not move resolved the same way: keep what the lock recorded when
    this cache no longer holds its result (collected, or a partial `--only` run)."""
    old_tasks = _dict(_dict(old).get("tasks"))
    for task_id, task in new["tasks"].items():
        before = _dict(old_tasks.get(task_id))
        if "resolved" not in task and before.get("key") == task.get("key") and "resolved" in before:
            task["resolved"] = before["resolved"]


def has_entry(recipe_file: Path) -> bool:
    """Whether a lock beside the recipe already records it (what `ovrun run` refreshes)."""
    doc = read_lock(lock_path(recipe_file))
    return bool(doc) and Path(recipe_file).name in doc.get("recipes", {})


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
    """Readable causes, not consequences: a changed upstream key is implied by its cause, and a
    task's key is named only when nothing else explains its change."""
    from runner.cache.key import diff

    lines: list[str] = []
    packages: dict[tuple[str, str, str], list[str]] = {}
    old_tasks, new_tasks = _dict(old.get("tasks")), _dict(new.get("tasks"))
    changed_keys: set[str] = set()
    for task_id in _order(old_tasks, new_tasks):
        a, b = old_tasks.get(task_id), new_tasks.get(task_id)
        if a is None:
            lines.append(f"task {task_id}: new (not in the lock)")
            continue
        if b is None:
            lines.append(f"task {task_id}: in the lock but no longer planned")
            continue
        a = _dict(a)
        if "skipped" in a or "skipped" in b:
            continue  # device availability differs per host; not a resolution change
        causes: list[str] = []
        libs_a, libs_b = _dict(a.get("libs")), _dict(b.get("libs"))
        for lib in sorted(set(libs_a) | set(libs_b)):
            va, vb = str(libs_a.get(lib, "absent")), str(libs_b.get(lib, "absent"))
            if va != vb:
                packages.setdefault((lib, va, vb), []).append(task_id)
        moved_libs = any(task_id in users for users in packages.values())
        if a.get("op_version") != b.get("op_version"):
            causes.append(
                f"task {task_id}: op {b.get('op')} implementation version "
                f"{a.get('op_version')} -> {b.get('op_version')}"
            )
        for line in diff({"params": _dict(a.get("params"))}, {"params": _dict(b.get("params"))}):
            causes.append(f"task {task_id}: {line}")
        causes.extend(_file_changes(task_id, _dict(a.get("files")), _dict(b.get("files"))))
        if a.get("device") != b.get("device"):
            causes.append(f"task {task_id}: device {a.get('device')} -> {b.get('device')}")
        lines.extend(causes)
        if a.get("key") != b.get("key"):
            changed_keys.add(task_id)
            upstream_moved = any(dep in changed_keys for dep in _dict(b.get("upstream")).values())
            # a measuring task's key may include the host's hardware fingerprint: another
            # host is not a resolution change (its params, libs and files are compared above)
            host_bound = bool(b.get("device"))
            if not causes and not moved_libs and not upstream_moved and not host_bound:
                lines.append(
                    f"task {task_id}: key {str(a.get('key'))[:12]} -> {str(b.get('key'))[:12]}"
                    " (nothing else recorded changed: the key schema, or a hand-edited lock)"
                )
    for (lib, va, vb), users in sorted(packages.items()):
        lines.insert(0, f"package {lib}: {va} -> {vb} (keys {', '.join(users)})")
    env_a, env_b = _environment(old), _environment(new)
    for name in sorted(set(env_a) | set(env_b)):
        va, vb = env_a.get(name, "absent"), env_b.get(name, "absent")
        if va != vb:
            lines.insert(0, f"environment {name}: {va} -> {vb}")
    return [_printable(line) for line in lines]


def _printable(text: str) -> str:
    """Task ids and paths in a diff line may come from a hand-edited lock: escape control
    characters so a line can never rewrite the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _dict(value: Any) -> dict[str, Any]:
    """A hand-edited lock may hold anything where a mapping belongs; compare it as empty."""
    return value if isinstance(value, dict) else {}


def _order(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Task ids in the new plan's (topological) order, then the ones only the lock has, so an
    upstream's change is seen before its consumers'."""
    return [*new, *sorted(t for t in old if t not in new)]


def _environment(entry: dict[str, Any]) -> dict[str, str]:
    env = _dict(entry.get("environment"))
    # lock files before the environment section kept these two beside the packages
    legacy = {k: v for k, v in _dict(entry.get("packages")).items() if k in ("ovrun", "python")}
    return {str(k): str(v) for k, v in {**legacy, **env}.items()}


def _file_changes(task_id: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = []
    for role in sorted(set(old) | set(new)):
        a, b = old.get(role), new.get(role)
        if a is not None:
            a = _dict(a)
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
                        else f"content changed (sha256 {str(inner_a[rel])[:12]} -> {str(inner_b[rel])[:12]})"
                    )
                    lines.append(f"file {b.get('path')}/{rel} ({task_id} {role}): {what}")
        else:
            lines.append(
                f"file {b.get('path')} ({task_id} {role}): content changed "
                f"(sha256 {str(a.get('sha256', ''))[:12]} -> {str(b.get('sha256', ''))[:12]})"
            )
    return lines
