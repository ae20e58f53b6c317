"""Content-addressed object store.

Layout under the cache root:
    objects/<k[:2]>/<k>/out/        what the task produced
    objects/<k[:2]>/<k>/meta.json   preimage, timings, output digests, summary
    tmp/                            staging dirs; renamed into objects/ when complete
    locks/<k>.lock                  one writer per key across processes
    refs/<recipe>/<task>.json       the key a recipe's task had last time (for `explain`)
    memo/                           stat memo of input digests, device probe
An entry exists only once meta.json is inside it, and it gets there only by the rename of a
complete staging dir, so readers never see a partial entry.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.cache.digest import iter_tree, sha256_file
from runner.core import testhooks as faults
from runner.core.atomic import fsync_dir, fsync_tree, write_text_atomic

_REF_HISTORY = 50  # keys a recipe's task had before, kept in its ref for `cache gc`


def default_cache_dir() -> Path:
    env = os.environ.get("OVRUN_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ovrun"))


@dataclass
class Staging:
    """A private directory a task writes into before its entry is published."""

    key: str
    dir: Path

    @property
    def out(self) -> Path:
        return self.dir / "out"


class CorruptEntry(Exception):
    def __init__(self, key: str, problems: list[str]):
        super().__init__(f"cache entry {key[:16]} is corrupt: {'; '.join(problems)}")
        self.key = key
        self.problems = problems


class Cache:
    def __init__(self, root: Path):
        self.root = Path(root).expanduser().resolve()

    # -- paths -------------------------------------------------------------
    def entry(self, key: str) -> Path:
        return self.root / "objects" / key[:2] / key

    def out_dir(self, key: str) -> Path:
        return self.entry(key) / "out"

    def has(self, key: str) -> bool:
        return (self.entry(key) / "meta.json").is_file()

    def meta(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.entry(key) / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def lock(self, key: str, timeout: float = -1):
        from filelock import FileLock

        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        return FileLock(str(locks / f"{key}.lock"), timeout=timeout)

    # -- writing -----------------------------------------------------------
    def begin(self, key: str) -> Staging:
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        staging = Staging(key, tmp / f"{key}.{os.getpid()}.{os.urandom(16).hex()}")
        staging.out.mkdir(parents=True)
        return staging

    def publish(self, staging: Staging, meta: dict[str, Any]) -> Path:
        """Record output digests, then move the staging dir into place in one rename."""
        outputs = {rel: sha256_file(path) for rel, path in iter_tree(staging.out)}
        meta = {**meta, "key": staging.key, "outputs": outputs, "published": time.time()}
        # the staging dir is this process's alone: a plain write, made durable with the rest
        # by fsync_tree (an atomic write fsynced meta.json and the dir a second time, 2 of
        # the 7 fsyncs that were most of a small task's cost: benchmarks/task_overhead.py)
        (staging.dir / "meta.json").write_text(
            json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8"
        )
        fsync_tree(staging.dir)  # after a power cut, a published name has its data
        faults.point(meta.get("task_id"), "publish")
        final = self.entry(staging.key)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(staging.dir, final)
        except OSError:
            # Another process published the same key first; the content is equivalent.
            if not self.has(staging.key):
                raise
            self.discard(staging)
            return final
        fsync_dir(final.parent)
        return final

    def discard(self, staging: Staging) -> None:
        _rmtree(staging.dir)

    def clean_stale_tmp(self, older_than_s: float = 24 * 3600) -> None:
        """Staging dirs of crashed runs; a live writer refreshes nothing, so age is the test."""
        tmp = self.root / "tmp"
        if not tmp.is_dir():
            return
        now = time.time()
        for child in tmp.iterdir():
            pid = child.name.split(".")[1] if child.name.count(".") >= 2 else ""
            alive = pid.isdigit() and _pid_alive(int(pid))
            if not alive or now - child.stat().st_mtime > older_than_s:
                _rmtree(child)

    # -- integrity ---------------------------------------------------------
    def verify(self, key: str) -> list[str]:
        """Re-hash an entry's outputs; returns the problems found (empty when intact)."""
        meta = self.meta(key)
        if meta is None:
            return ["meta.json missing or unreadable"]
        if not isinstance(meta, dict) or not isinstance(meta.get("outputs", {}), dict):
            return ["meta.json is not an ovrun entry record"]
        problems = []
        expected: dict[str, str] = meta.get("outputs", {})
        out = self.out_dir(key)
        present = dict(iter_tree(out)) if out.is_dir() else {}
        for rel, digest in sorted(expected.items()):
            path = present.get(rel)
            if path is None:
                problems.append(f"{rel} missing")
            elif sha256_file(path) != digest:
                problems.append(f"{rel} content changed")
        problems.extend(f"{rel} not recorded" for rel in sorted(set(present) - set(expected)))
        return problems

    def remove(self, key: str) -> None:
        """Take an entry out of the store: rename first so no reader sees it half-deleted."""
        entry = self.entry(key)
        if not entry.exists():
            return
        trash = self.root / "tmp" / f"{key}.deleted.{os.urandom(16).hex()}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        os.rename(entry, trash)
        _rmtree(trash)

    # -- refs (last key per recipe task, for explain) ------------------------
    def write_ref(self, recipe: str, task_id: str, key: str, pre: dict[str, Any]) -> None:
        """Remember ``key`` as the task's latest; the keys it had before stay listed (the
        newest _REF_HISTORY) so `cache gc --keep-last` can group entries by recipe."""
        path = self._ref_path(recipe, task_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        old = self.read_ref(recipe, task_id)
        old = old if isinstance(old, dict) else {}
        before = old.get("keys") if isinstance(old.get("keys"), list) else []
        earlier = [k for k in [*before, old.get("key")] if isinstance(k, str) and k != key]
        keys = list(dict.fromkeys(earlier))  # each key once, oldest first
        doc = {
            "key": key,
            "preimage": pre,
            "task_id": task_id,
            "keys": [*keys, key][-_REF_HISTORY:],
        }
        write_text_atomic(path, json.dumps(doc, sort_keys=True))

    def read_ref(self, recipe: str, task_id: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._ref_path(recipe, task_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _ref_path(self, recipe: str, task_id: str) -> Path:
        safe = task_id.replace(":", "__").replace("/", "_")
        return self.root / "refs" / recipe / f"{safe}.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rmtree(path: Path) -> None:
    # shutil (and its compression modules) only when something is removed
    import shutil

    shutil.rmtree(path, ignore_errors=True)
