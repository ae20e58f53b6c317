"""A shared cache behind an fsspec URL (`--cache URL` / `$OVRUN_CACHE`): a team pulls each
other's exports and compressions instead of rebuilding them.

Remote layout mirrors the local store: ``objects/<k[:2]>/<k>/{out/..., meta.json}``.
Push uploads the outputs first and ``meta.json`` last (via a temp name and a move), so an
entry is visible only once it is complete, on a shared filesystem and on object stores
alike. Pull downloads into a local staging dir, re-hashes every file against the digests
in the remote ``meta.json`` and only then publishes locally with the usual atomic rename.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from runner.cache.store import Cache
from runner.core.errors import OvrunError

if TYPE_CHECKING:
    from runner.cache.decision import Decision
    from runner.plan.tasks import Plan

Warn = Callable[[str], None]

ENV = "OVRUN_CACHE"


class RemoteError(Exception):
    """A remote entry that cannot be used (missing, unreadable or failing its digests)."""


def remote_url(given: str | None) -> str | None:
    return given or os.environ.get(ENV) or None


def open_remote(url: str | None) -> Remote | None:
    return Remote(url) if url else None


class Remote:
    def __init__(self, url: str):
        import fsspec

        try:
            self.fs, self.root = fsspec.core.url_to_fs(url)
        except (ValueError, ImportError) as exc:
            raise OvrunError(
                f"cannot open remote cache {url}: {exc}",
                hint="give a directory path or an fsspec URL (file://, s3://, ...) whose backend is installed",
            ) from None
        self.url = url
        self.root = self.root.rstrip("/")

    def _entry(self, key: str) -> str:
        return f"{self.root}/objects/{key[:2]}/{key}"

    def has(self, key: str) -> bool:
        return self.fs.exists(f"{self._entry(key)}/meta.json")

    def pull(self, key: str, cache: Cache) -> None:
        """Download ``key`` into the local cache, verifying every output digest."""
        entry = self._entry(key)
        try:
            meta = json.loads(self.fs.cat_file(f"{entry}/meta.json"))
        except (OSError, ValueError) as exc:
            raise RemoteError(f"meta.json of {key[:16]} unreadable: {exc}") from None
        if meta.get("key") != key:
            raise RemoteError(f"meta.json of {key[:16]} names another key")
        outputs: dict[str, str] = meta.get("outputs", {})
        staging = cache.begin(key)
        try:
            for rel, digest in sorted(outputs.items()):
                target = staging.out / _safe_rel(rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                self.fs.get_file(f"{entry}/out/{rel}", str(target))
                if _sha256(target) != digest:
                    raise RemoteError(f"{rel} of {key[:16]} does not match its recorded sha256")
            kept = {k: v for k, v in meta.items() if k not in ("key", "outputs", "published")}
            cache.publish(staging, {**kept, "pulled_from": self.url})
        except BaseException:
            cache.discard(staging)
            raise

    def push(self, key: str, cache: Cache) -> bool:
        """Upload a local entry unless the remote has it; returns whether it uploaded."""
        if self.has(key):
            return False
        local = cache.entry(key)
        meta = cache.meta(key)
        if meta is None:
            return False
        entry = self._entry(key)
        for rel in sorted(meta.get("outputs", {})):
            remote_path = f"{entry}/out/{rel}"
            self.fs.makedirs(str(PurePosixPath(remote_path).parent), exist_ok=True)
            self.fs.put_file(str(local / "out" / _safe_rel(rel)), remote_path)
        tmp = f"{entry}/.meta.{uuid.uuid4().hex}.tmp"
        self.fs.put_file(str(local / "meta.json"), tmp)
        self.fs.mv(tmp, f"{entry}/meta.json")  # last: the entry now exists, complete
        return True

    def keys(self) -> list[str]:
        found = self.fs.glob(f"{self.root}/objects/*/*/meta.json")
        return sorted(PurePosixPath(p).parent.name for p in found)


def _safe_rel(rel: str) -> Path:
    parts = PurePosixPath(rel).parts
    if not parts or rel.startswith("/") or ".." in parts:
        raise RemoteError(f"refusing output path {rel!r} (must stay inside the entry)")
    return Path(*parts)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def sync_down(
    plan: Plan, decisions: dict[str, Decision], cache: Cache, remote: Remote, warn: Warn
) -> list[str]:
    """Pull every task that would run but is on the remote; returns the task ids pulled."""
    pulled = []
    for task in plan.order():
        decision = decisions[task.id]
        if decision.state != "run" or decision.reason == "forced" or not remote.has(task.key):
            continue
        try:
            with cache.lock(task.key):
                if not cache.has(task.key):
                    remote.pull(task.key, cache)
            pulled.append(task.id)
        except (RemoteError, OSError) as exc:
            warn(f"remote entry of {task.id} not used: {exc}")
    return pulled


def push_published(remote: Remote | None, cache: Cache, keys: list[str], warn: Warn) -> int:
    """Upload the entries this run published; a failing upload never fails the run."""
    if remote is None:
        return 0
    pushed = 0
    for key in keys:
        try:
            pushed += remote.push(key, cache)
        except OSError as exc:
            warn(f"could not push {key[:16]} to {remote.url}: {exc}")
    return pushed
