"""`ovrun cache ls | du | gc | verify` on a real object store."""

from __future__ import annotations

import json
import time

import yaml
from recipes_util import ovrun

from runner.cache.inventory import Entry, select_garbage
from runner.cache.store import Cache
from runner.cli.cache import parse_age


def _publish(cache: Cache, key: str, task: str, age_s: float, data: bytes = b"x" * 100) -> None:
    staging = cache.begin(key)
    (staging.out / "result.json").write_bytes(data)
    cache.publish(staging, {"task_id": task, "op": task.split(":")[0]})
    meta_file = cache.entry(key) / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta["published"] = time.time() - age_s
    meta_file.write_text(json.dumps(meta))


def _store(tmp_path) -> Cache:
    cache = Cache(tmp_path / "cache")
    for i, age in enumerate((10, 3 * 86400, 5 * 86400)):
        _publish(cache, f"{i}a" * 32, "export", age)
    _publish(cache, "ff" * 32, "compress:int8", 9 * 86400)
    return cache


def _run(cache: Cache, *args: str):
    return ovrun("cache", "--cache-dir", str(cache.root), *args)


def test_ls_and_du(tmp_path):
    cache = _store(tmp_path)
    listed = _run(cache, "ls")
    assert listed.returncode == 0
    assert "4 entries" in listed.stdout and "compress:int8" in listed.stdout
    assert listed.stdout.index("ffffffff") < listed.stdout.index("0a0a0a0a")  # oldest first
    du = _run(cache, "du")
    assert "export" in du.stdout and "3 entries" in du.stdout
    assert "total" in du.stdout and "4 entries" in du.stdout


def test_gc_keep_last_and_older_than(tmp_path):
    cache = _store(tmp_path)
    dry = _run(cache, "gc", "--keep-last", "1", "--dry-run")
    assert dry.returncode == 0 and "2 entries" in dry.stdout
    assert all(cache.has(k) for k in ("0a" * 32, "1a" * 32, "2a" * 32))
    result = _run(cache, "gc", "--older-than", "4d")
    assert result.returncode == 0, result.stderr
    assert not cache.has("2a" * 32) and not cache.has("ff" * 32)
    assert cache.has("0a" * 32) and cache.has("1a" * 32)


def test_gc_never_removes_what_a_lock_references(tmp_path):
    cache = _store(tmp_path)
    project = tmp_path / "project" / "recipes"
    project.mkdir(parents=True)
    lock = {
        "schema": "ovrun.lock/1",
        "recipes": {"r.yaml": {"tasks": {"export": {"key": "2a" * 32}, "gpu": {"skipped": "x"}}}},
    }
    (project / "ovrun.lock").write_text(yaml.safe_dump(lock))
    result = _run(cache, "gc", "--keep-last", "0", str(tmp_path / "project"))
    assert result.returncode == 0, result.stderr
    assert cache.has("2a" * 32)
    assert not any(cache.has(k) for k in ("0a" * 32, "1a" * 32, "ff" * 32))
    assert "1 kept because a lock file references them" in result.stdout


def test_gc_needs_a_rule(tmp_path):
    result = _run(_store(tmp_path), "gc")
    assert result.returncode == 2 and "--keep-last" in result.stderr
    bad = _run(_store(tmp_path / "x"), "gc", "--older-than", "soon")
    assert bad.returncode == 2 and "not an age" in bad.stderr


def test_verify_reports_and_removes_corrupt_entries(tmp_path):
    cache = _store(tmp_path)
    assert _run(cache, "verify").returncode == 0
    (cache.out_dir("1a" * 32) / "result.json").write_bytes(b"y" * 100)  # flipped content
    result = _run(cache, "verify")
    assert result.returncode == 1
    assert "corrupt 1a1a1a1a1a1a1a1a  export: result.json content changed" in result.stdout
    assert "4 entries checked, 1 corrupt" in result.stdout
    assert cache.has("1a" * 32)
    _run(cache, "verify", "--remove")
    assert not cache.has("1a" * 32) and cache.has("0a" * 32)


def test_select_garbage_combines_rules():
    now = 1000.0
    entries = [Entry(k, "export", "export", p, 1) for k, p in (("a", 990), ("b", 500), ("c", 100))]
    keys = lambda found: sorted(e.key for e in found)  # noqa: E731
    assert keys(select_garbage(entries, 1, None, set(), now)) == ["b", "c"]
    assert keys(select_garbage(entries, 1, 600, set(), now)) == ["c"]  # both rules must agree
    assert keys(select_garbage(entries, None, 1, {"b"}, now)) == ["a", "c"]
    assert parse_age("90m") == 5400 and parse_age("2w") == 14 * 86400


def test_gc_keeps_the_entries_a_lock_lists_without_a_key(tmp_path):
    """A lock holds no key for a benchmark (measured on a host) or a report (keyed by what its
    inputs produced); the entry this cache's last run of that recipe task used is kept."""
    cache = _store(tmp_path)
    _publish(cache, "bb" * 32, "bench:fp32:CPU:LATENCY", 8 * 86400)
    cache.write_ref("r", "bench:fp32:CPU:LATENCY", "bb" * 32, {})
    # a hostile name must not make gc read refs outside the cache's refs/ dir
    cache.write_ref("r", "report", "ff" * 32, {})
    lock = {
        "schema": "ovrun.lock/1",
        "recipes": {
            "r.yaml": {"name": "r", "tasks": {"bench:fp32:CPU:LATENCY": {"device": "CPU"}}},
            "x.yaml": {"name": "../../r", "tasks": {"report": {}}},
        },
    }
    (tmp_path / "ovrun.lock").write_text(yaml.safe_dump(lock))
    result = _run(cache, "gc", "--keep-last", "0", str(tmp_path / "ovrun.lock"))
    assert result.returncode == 0, result.stderr
    assert cache.has("bb" * 32) and not cache.has("ff" * 32)
