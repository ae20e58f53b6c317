"""Deploy bundles: a reproducible .tar.gz with a sha256 manifest, and its verification.

The archive is byte-for-byte reproducible (sorted members, zeroed mtimes/owners, gzip header
without a timestamp), so two teams building the same variant get the same bundle digest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

from runner.cache.digest import iter_tree, sha256_file

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = "ovrun.bundle/1"


def write_bundle(src: Path, dest: Path) -> str:
    """Pack every file below ``src`` plus manifest.json into ``dest``; returns dest's sha256."""
    files = iter_tree(src)
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "files": {
            rel: {"sha256": sha256_file(path), "size": path.stat().st_size} for rel, path in files
        },
    }
    with (
        open(dest, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        data = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
        tar.addfile(_info(MANIFEST, len(data)), io.BytesIO(data))
        for rel, path in files:
            with open(path, "rb") as f:
                tar.addfile(_info(rel, path.stat().st_size), f)
    return sha256_file(dest)


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def verify_bundle(path: Path) -> tuple[int, list[str]]:
    """Re-hash every member against the manifest. Returns (files checked, problems).

    Raises ValueError when the file is not a bundle at all (not a tar.gz, no manifest)."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    manifest = None
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    problems.append(f"{member.name}: not a regular file (links are not allowed)")
                    continue
                stream = tar.extractfile(member)
                if member.name == MANIFEST:
                    manifest = json.loads(stream.read().decode("utf-8"))
                    continue
                digest = hashlib.sha256()
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
                seen[member.name] = digest.hexdigest()
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ValueError(f"not a readable .tar.gz: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"manifest.json is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA:
        raise ValueError(f"no {MANIFEST} with schema {MANIFEST_SCHEMA} inside")
    expected = _expected_digests(manifest)
    for rel in sorted(expected):
        if rel not in seen:
            problems.append(f"{rel}: listed in the manifest but missing")
        elif seen[rel] != expected[rel]:
            problems.append(f"{rel}: sha256 {seen[rel][:16]}… does not match the manifest")
    problems.extend(
        f"{rel}: not listed in the manifest" for rel in sorted(set(seen) - set(expected))
    )
    return len(expected), problems


def _expected_digests(manifest: dict) -> dict[str, str]:
    """manifest["files"]: path -> {"sha256": hex}; anything else is not an ovrun manifest."""
    files = manifest.get("files", {})
    if not isinstance(files, dict):
        raise ValueError(f"{MANIFEST}: files is a {type(files).__name__}, not a mapping")
    expected = {}
    for rel, entry in files.items():
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(digest, str):
            raise ValueError(f"{MANIFEST}: files entry {rel!r} has no sha256 string")
        expected[rel] = digest
    return expected
