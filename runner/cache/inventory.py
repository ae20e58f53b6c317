"""What `ovrun cache ls|du|gc|verify|push` see: every entry of the store, even a damaged one.

A cache dir outlives versions, crashes and hand edits, so each entry is read defensively: a
meta.json that is not an object, a `published` that is not a number or an unreadable file
becomes a ``problem`` the commands report while they go on with the rest.

Garbage collection keeps the newest N entries *per recipe and task*: the refs of each recipe
(`refs/<recipe>/<task>.json`, with the keys it had before) say which entries belong to it, so
another recipe's newer `export` never pushes this recipe's only one out. Entries no ref names
(caches written before refs kept their history, pulled entries) are grouped by task alone.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.cache.store import Cache

UNOWNED = "?"  # the recipe of an entry that no ref names


@dataclass
class Entry:
    key: str
    task: str
    op: str
    published: float
    size: int
    problem: str | None = None  # why its meta.json cannot be trusted, if it cannot
    groups: set[tuple[str, str]] = field(default_factory=set)  # (recipe, task)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "task": self.task,
            "op": self.op,
            "published": self.published,
            "size": self.size,
            "problem": self.problem,
            "recipes": sorted({r for r, _ in self.groups if r != UNOWNED}),
        }


def entries(cache: Cache) -> list[Entry]:
    objects = cache.root / "objects"
    if not objects.is_dir():
        return []
    owners = _owners(cache.root / "refs")
    found = []
    for entry_dir in sorted(p for p in objects.glob("*/*") if p.is_dir()):
        meta_file = entry_dir / "meta.json"
        if not meta_file.exists():
            continue  # not an entry (yet): publish renames a complete dir into place
        found.append(_read(entry_dir, meta_file, owners))
    return found


def _read(entry_dir: Path, meta_file: Path, owners: dict[str, set[tuple[str, str]]]) -> Entry:
    problem = None
    try:
        meta: Any = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        meta, problem = {}, f"meta.json unreadable ({_reason(exc)})"
    if not isinstance(meta, dict):
        meta, problem = {}, f"meta.json is a {type(meta).__name__}, not an object"
    published = meta.get("published")
    if not isinstance(published, int | float) or isinstance(published, bool):
        if problem is None and "published" in meta:
            problem = f"meta.json 'published' is not a number ({str(published)[:30]!r})"
        published = _mtime(meta_file)
    elif not math.isfinite(published):
        problem, published = "meta.json 'published' is not finite", _mtime(meta_file)
    task = meta.get("task_id") if isinstance(meta.get("task_id"), str) else "?"
    op = meta.get("op") if isinstance(meta.get("op"), str) else "?"
    key = entry_dir.name
    groups = owners.get(key) or {(UNOWNED, task)}
    return Entry(key, task, op, float(published), _size(entry_dir), problem, set(groups))


def _owners(refs: Path) -> dict[str, set[tuple[str, str]]]:
    """key -> the (recipe, task) pairs whose refs name it, now or before."""
    owners: dict[str, set[tuple[str, str]]] = {}
    if not refs.is_dir():
        return owners
    for ref_file in refs.glob("*/*.json"):
        try:
            ref = json.loads(ref_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(ref, dict):
            continue
        task = ref.get("task_id") or ref_file.stem.replace("__", ":")
        keys = ref.get("keys") if isinstance(ref.get("keys"), list) else []
        for key in [*keys, ref.get("key")]:
            if isinstance(key, str):
                owners.setdefault(key, set()).add((ref_file.parent.name, str(task)))
    return owners


def _size(entry_dir: Path) -> int:
    total = 0
    for path in entry_dir.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue
    return total


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)[:60]


def select_garbage(
    found: list[Entry],
    keep_last: int | None,
    older_than: float | None,
    protected: set[str],
    now: float,
) -> list[Entry]:
    """Entries to remove: older than the age (if given) and beyond the newest N of every
    (recipe, task) group they belong to (if given); never a protected (locked) key."""
    best_rank: dict[str, int] = {}
    by_group: dict[tuple[str, str], list[Entry]] = {}
    for e in found:
        for group in e.groups or {(UNOWNED, e.task)}:
            by_group.setdefault(group, []).append(e)
    for group in by_group.values():
        for i, e in enumerate(sorted(group, key=lambda e: -e.published)):
            best_rank[e.key] = min(i, best_rank.get(e.key, i))
    doomed = []
    for e in found:
        if e.key in protected:
            continue
        if keep_last is not None and best_rank[e.key] < keep_last:
            continue
        if older_than is not None and now - e.published <= older_than:
            continue
        doomed.append(e)
    return doomed
