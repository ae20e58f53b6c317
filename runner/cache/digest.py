"""Content digests of input files and directories, with a stat memo so unchanged files are
not re-read. The digest is of content only; the stat triple just decides whether to re-hash."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from runner.core.atomic import write_text_atomic

_CHUNK = 1 << 20
_SKIP_DIRS = {".git", "__pycache__", ".cache"}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class DigestMemo:
    """path -> (size, mtime_ns, inode, ctime_ns) -> sha256, persisted as one JSON file."""

    def __init__(self, memo_file: Path | None):
        self.memo_file = memo_file
        self._entries: dict[str, list] = {}
        self._dirty = False
        if memo_file and memo_file.exists():
            try:
                self._entries = json.loads(memo_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._entries = {}  # a damaged memo only costs a re-hash

    def file(self, path: Path) -> str:
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
        key = str(path)
        entry = self._entries.get(key)
        if entry and entry[:4] == stamp:
            return entry[4]
        digest = sha256_file(path)
        self._entries[key] = [*stamp, digest]
        self._dirty = True
        return digest

    def tree(self, root: Path) -> str:
        """Digest of a directory: relative paths and file digests, symlinks escaping root refused."""
        h = hashlib.sha256()
        for rel, path in iter_tree(root):
            h.update(rel.encode("utf-8") + b"\0" + self.file(path).encode() + b"\n")
        return h.hexdigest()

    def any(self, path: Path) -> str:
        return self.tree(path) if path.is_dir() else self.file(path)

    def save(self) -> None:
        if self._dirty and self.memo_file:
            self.memo_file.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.memo_file, json.dumps(self._entries, sort_keys=True))
            self._dirty = False


def iter_tree(root: Path):
    """Yield (relative posix path, absolute path) for regular files below root, sorted.

    Symlinks are followed only while they stay inside root, so a model dir cannot pull in
    files from elsewhere on the machine."""
    root = root.resolve()
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in dirnames:
            # os.walk does not descend into linked dirs, but a loader reading the model dir
            # would: refuse links out of root; links inside it are walked at their target
            link = Path(dirpath) / name
            if link.is_symlink() and not link.resolve().is_relative_to(root):
                from runner.core.errors import OvrunError

                raise OvrunError(
                    f"{link} is a symlink pointing outside {root}",
                    hint="copy the directory into the model directory instead of linking to it",
                )
        for name in filenames:
            path = Path(dirpath) / name
            real = path.resolve()
            if not real.is_relative_to(root):
                from runner.core.errors import OvrunError

                raise OvrunError(
                    f"{path} is a symlink pointing outside {root}",
                    hint="copy the file into the directory instead of linking to it",
                )
            if real.is_file():
                found.append((path.relative_to(root).as_posix(), real))
    found.sort()
    return found
