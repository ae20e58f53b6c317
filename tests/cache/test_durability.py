"""Power-cut durability: everything a cache entry holds is fsynced before the rename that
publishes it, and the directory holding the new name after it; an atomically replaced file
(results.json, ovrun.lock) is fsynced, then its directory. Checked by recording the real
fsync and rename calls (their paths read back from /proc/self/fd)."""

from __future__ import annotations

import os
from pathlib import Path

from runner.cache.store import Cache
from runner.core.atomic import write_text_atomic


def record(monkeypatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []
    fsync, rename, replace = os.fsync, os.rename, os.replace

    def spy_fsync(fd):
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return fsync(fd)

    def spy_rename(src, dst, *a, **kw):
        calls.append(("rename", str(dst)))
        return rename(src, dst, *a, **kw)

    def spy_replace(src, dst, *a, **kw):
        calls.append(("rename", str(dst)))
        return replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "rename", spy_rename)
    monkeypatch.setattr(os, "replace", spy_replace)
    return calls


def test_entry_data_and_dirs_are_fsynced_before_the_publishing_rename(tmp_path, monkeypatch):
    cache = Cache(tmp_path / "cache")
    staging = cache.begin("k" * 64)
    (staging.out / "sub").mkdir()
    (staging.out / "sub" / "weights.bin").write_bytes(b"\x01" * 4096)
    (staging.out / "result.json").write_text("{}")
    calls = record(monkeypatch)
    final = cache.publish(staging, {"task_id": "t"})
    publish = calls.index(("rename", str(final)))
    before = {path for kind, path in calls[:publish] if kind == "fsync"}
    for rel in ("out/sub/weights.bin", "out/result.json", "meta.json", "out/sub", "out", ""):
        assert str(staging.dir / rel).rstrip("/") in before, rel
    after = [path for kind, path in calls[publish:] if kind == "fsync"]
    assert after == [str(final.parent)]


def test_replaced_file_and_its_directory_are_fsynced(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    target.write_text("old")
    calls = record(monkeypatch)
    write_text_atomic(target, "new")
    kinds = [kind for kind, _ in calls]
    assert kinds == ["fsync", "rename", "fsync"], calls
    assert calls[1][1] == str(target) and calls[2][1] == str(tmp_path)
    assert Path(target).read_text() == "new"
