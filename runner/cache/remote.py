"""A shared cache behind an fsspec URL (`--cache URL` / `$OVRUN_CACHE`): a team pulls each
other's exports and compressions instead of rebuilding them.

Remote layout mirrors the local store: ``objects/<k[:2]>/<k>/{out/..., meta.json}``.
Push uploads the outputs first and ``meta.json`` last (via a temp name and a move), so an
entry is visible only once it is complete, on a shared filesystem and on object stores
alike; with a signing key (`cache/signing.py`) the uploaded meta.json carries an ed25519
signature over the key and the output digests. Pull first checks the remote meta.json's
shape and, when the user trusts any key, its signature; then it downloads into a local
staging dir, re-hashes every file against the (signed) digests and only then publishes
locally with the usual atomic rename. An entry that fails any check is "not used" (a
warning) and the task is built locally.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from runner.cache.store import Cache
from runner.core import testhooks as faults
from runner.core.errors import OvrunError

if TYPE_CHECKING:
    from runner.cache.decision import Decision
    from runner.cache.signing import SigningKey, Trust
    from runner.plan.tasks import Plan

Warn = Callable[[str], None]

ENV = "OVRUN_CACHE"


class RemoteError(Exception):
    """A remote entry that cannot be used (missing, unreadable or failing its digests)."""


class RemoteUnreachable(OvrunError):
    """The shared cache cannot be talked to at all (endpoint down, no credentials)."""


def _reachable(method: Callable) -> Callable:
    """Object-store clients raise their own exception types for a dead endpoint or missing
    credentials (botocore's are not OSError); turn those into one ovrun error."""

    @functools.wraps(method)
    def wrapper(self: Remote, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (RemoteError, OSError, OvrunError):
            raise
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RemoteUnreachable(
                f"shared cache {self.url} unreachable: {first}",
                hint="check the endpoint and credentials (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...)"
                " or run without --cache / $OVRUN_CACHE",
            ) from None

    return wrapper


def remote_url(given: str | None) -> str | None:
    return given or os.environ.get(ENV) or None


def open_remote(url: str | None, trusted_keys: list[str] | None = None) -> Remote | None:
    """The shared cache at ``url`` with the user's trusted keys and signing key, if any."""
    if not url:
        return None
    from runner.cache.signing import configured_signing_key, configured_trust

    return Remote(url, trust=configured_trust(trusted_keys), signer=configured_signing_key())


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def checked_meta(raw: bytes, key: str) -> dict:
    """A remote meta.json of the right shape, or RemoteError: it is never trusted blindly."""
    try:
        meta = json.loads(raw)
    except ValueError as exc:
        raise RemoteError(f"meta.json of {key[:16]} is not JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise RemoteError(f"meta.json of {key[:16]} is a {type(meta).__name__}, not an object")
    if meta.get("key") != key:
        raise RemoteError(f"meta.json of {key[:16]} names another key")
    outputs = meta.get("outputs")
    if not isinstance(outputs, dict) or not all(
        isinstance(rel, str) and isinstance(d, str) and _SHA256.match(d)
        for rel, d in outputs.items()
    ):
        raise RemoteError(f"meta.json of {key[:16]} has no valid outputs table")
    for rel in outputs:
        _safe_rel(rel)
    return meta


class Remote:
    def __init__(self, url: str, trust: Trust | None = None, signer: SigningKey | None = None):
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
        if trust is None:
            from runner.cache.signing import Trust  # signing is only needed with a remote

            trust = Trust()
        self.trust = trust
        self.signer = signer

    def _entry(self, key: str) -> str:
        return f"{self.root}/objects/{key[:2]}/{key}"

    @_reachable
    def has(self, key: str) -> bool:
        path = f"{self._entry(key)}/meta.json"
        self._forget_listings(path)
        return self.fs.exists(path)

    def _forget_listings(self, path: str | None = None) -> None:
        # object-store filesystems cache listings per process; other pushers change them
        invalidate = getattr(self.fs, "invalidate_cache", None)
        if invalidate is not None:
            invalidate(path)

    @_reachable
    def pull(self, key: str, cache: Cache) -> None:
        """Download ``key`` into the local cache: shape, signature (when keys are trusted)
        and every output digest are checked before anything is published."""
        entry = self._entry(key)
        self._forget_listings()
        try:
            raw = self.fs.cat_file(f"{entry}/meta.json")
        except OSError as exc:
            raise RemoteError(f"meta.json of {key[:16]} unreadable: {exc}") from None
        meta = checked_meta(raw, key)
        outputs: dict[str, str] = meta["outputs"]
        signed_by = None
        problem = self.refusal(key, meta)
        if problem:
            raise RemoteError(f"refused: {problem}")
        if self.trust.configured:
            signed_by = sorted({str(s).partition(":")[0] for s in meta["signatures"]})
        staging = cache.begin(key)
        try:
            for rel, digest in sorted(outputs.items()):
                target = staging.out / _safe_rel(rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                self.fs.get_file(f"{entry}/out/{rel}", str(target))
                if _sha256(target) != digest:
                    raise RemoteError(f"{rel} of {key[:16]} does not match its recorded sha256")
            kept = {
                k: v
                for k, v in meta.items()
                if k not in ("key", "outputs", "published", "signatures", "pulled_from")
            }
            extra = {"signed_by": signed_by} if signed_by else {}
            cache.publish(staging, {**kept, **extra, "pulled_from": self.url})
        except BaseException:
            cache.discard(staging)
            raise

    @_reachable
    def push(self, key: str, cache: Cache, deep: bool = False) -> bool:
        """Upload a local entry unless the remote already has it intact (``deep``: re-hash
        the remote files too); a damaged remote entry is replaced. An intact entry that lacks
        our signature gets it added beside the others (several teams may vouch for one
        entry). Returns whether anything was written. The local entry is verified first: a
        corrupt one is never shared."""
        meta = cache.meta(key)
        if not isinstance(meta, dict) or not isinstance(meta.get("outputs"), dict):
            return False
        problems = cache.verify(key)
        if problems:
            raise RemoteError(f"local entry {key[:16]} is corrupt ({problems[0]}); not pushed")
        outputs: dict[str, str] = meta["outputs"]
        present = self._remote_meta(key)
        same_digests = present is not None and present["outputs"] == outputs
        signatures = list(present.get("signatures") or []) if same_digests else []
        if not isinstance(signatures, list):
            signatures = []
        entry = self._entry(key)
        if same_digests and self._files_intact(key, cache, outputs, deep):
            if self.signer is None or self._signed_by_us(key, outputs, signatures):
                return False
        else:
            if present is not None or self.has(key):
                # damaged: hide it first, so nobody pulls a half-replaced entry
                self.fs.rm_file(f"{entry}/meta.json")
            local = cache.entry(key)
            for rel in sorted(outputs):
                remote_path = f"{entry}/out/{rel}"
                self.fs.makedirs(str(PurePosixPath(remote_path).parent), exist_ok=True)
                self.fs.put_file(str(local / "out" / _safe_rel(rel)), remote_path)
        shared = {k: v for k, v in meta.items() if k not in ("pulled_from", "signed_by")}
        if self.signer is not None:
            # signatures cover key + digests: others' stay valid while the digests are equal
            prefix = f"{self.signer.name}:"
            signatures = [s for s in signatures if not str(s).startswith(prefix)]
            signatures.append(self.signer.sign(key, outputs))
        if signatures:
            shared["signatures"] = signatures
        faults.point(meta.get("task_id"), "push")
        tmp = f"{entry}/.meta.{os.urandom(16).hex()}.tmp"
        self.fs.pipe_file(tmp, json.dumps(shared, indent=1, sort_keys=True).encode())
        self.fs.mv(tmp, f"{entry}/meta.json")  # last: the entry now exists, complete
        return True

    def refusal(self, key: str, meta: dict) -> str | None:
        """Why a pull of this well-formed entry would be refused by the trusted keys (None:
        it would be used; without trusted keys only its digests are checked, on pull)."""
        if not self.trust.configured:
            return None
        return self.trust.problem(key, meta["outputs"], meta.get("signatures"))

    def meta(self, key: str) -> dict | None:
        """The entry's meta.json as the remote holds it (shape-checked, not yet verified:
        for showing a plan, never for using its files)."""
        return self._remote_meta(key)

    def _remote_meta(self, key: str) -> dict | None:
        """The remote entry's meta.json when it is present and well-formed."""
        self._forget_listings()
        try:
            return checked_meta(self.fs.cat_file(f"{self._entry(key)}/meta.json"), key)
        except (RemoteError, OSError):
            return None

    def _signed_by_us(self, key: str, outputs: dict[str, str], signatures: list) -> bool:
        assert self.signer is not None
        from runner.cache.signing import Trust

        ours = Trust({self.signer.name: [self.signer.private.public_key()]})
        return ours.problem(key, outputs, signatures) is None

    def _files_intact(self, key: str, cache: Cache, outputs: dict[str, str], deep: bool) -> bool:
        """Whether every remote file has the local file's size (``deep``: and content)."""
        entry = self._entry(key)
        try:
            for rel, digest in outputs.items():
                local = cache.out_dir(key) / _safe_rel(rel)
                remote = f"{entry}/out/{rel}"
                if self.fs.size(remote) != local.stat().st_size:
                    return False
                if deep and hashlib.sha256(self.fs.cat_file(remote)).hexdigest() != digest:
                    return False
        except (RemoteError, OSError):
            return False
        return True

    @_reachable
    def keys(self) -> list[str]:
        self._forget_listings()
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
    told = False
    for task in plan.order():
        decision = decisions[task.id]
        if decision.state != "run" or decision.reason == "forced":
            continue
        try:
            if not remote.has(task.key):
                continue
        except (RemoteUnreachable, OSError) as exc:
            warn(f"{exc}; building everything here")
            return pulled
        if not remote.trust.configured and not told:
            told = True
            warn(
                "no trusted cache keys configured (OVRUN_TRUSTED_KEYS or --trusted-key): "
                f"entries from {remote.url} are checked only against their own digests"
            )
        try:
            with cache.lock(task.key):
                if not cache.has(task.key):
                    remote.pull(task.key, cache)
            pulled.append(task.id)
        except RemoteUnreachable as exc:
            warn(f"{exc}; building everything here")
            return pulled
        except (RemoteError, OSError) as exc:
            warn(f"remote entry of {task.id} not used, building it here: {exc}")
    return pulled


def push_published(remote: Remote | None, cache: Cache, keys: list[str], warn: Warn) -> int:
    """Upload the entries this run published; a failing upload never fails the run."""
    if remote is None:
        return 0
    pushed = 0
    for key in keys:
        try:
            pushed += remote.push(key, cache)
        except RemoteUnreachable as exc:
            warn(f"nothing pushed: {exc}")
            break
        except (RemoteError, OSError) as exc:
            warn(f"could not push {key[:16]} to {remote.url}: {exc}")
    return pushed
