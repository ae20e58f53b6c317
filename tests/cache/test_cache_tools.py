"""Cache tools that keep working: `cache push` seeds a shared cache, gc groups by recipe and
task, damaged entries are reported while everything else goes on."""

from __future__ import annotations

import json
import time

from recipes_util import minimal_recipe, ovrun

from runner.cache.remote import Remote
from runner.cache.store import Cache


def _publish(cache: Cache, key: str, task: str, age_s: float = 0, data: bytes = b"x") -> None:
    staging = cache.begin(key)
    (staging.out / "result.json").write_bytes(data)
    (staging.out / "model.bin").write_bytes(data * 100)
    cache.publish(staging, {"task_id": task, "op": task.split(":")[0]})
    if age_s:
        meta_file = cache.entry(key) / "meta.json"
        meta = json.loads(meta_file.read_text())
        meta["published"] = time.time() - age_s
        meta_file.write_text(json.dumps(meta))


def _cache(cache: Cache, *args: str, env: dict | None = None):
    return ovrun("cache", *args, "--cache-dir", str(cache.root), env=env)


def test_push_seeds_a_new_remote_from_an_existing_cache(tmp_path):
    cache = Cache(tmp_path / "local")
    keys = [f"{i}b" * 32 for i in range(3)]
    for i, key in enumerate(keys):
        _publish(cache, key, "export", data=bytes([i + 1]))
    shared = tmp_path / "shared"
    first = _cache(cache, "push", "--cache", str(shared))
    assert first.returncode == 0, first.stderr
    assert "pushed 3 cache entries" in first.stdout and "0 already there" in first.stdout
    assert sorted(Remote(str(shared)).keys()) == sorted(keys)
    again = _cache(cache, "push", env={"OVRUN_CACHE": str(shared)})
    assert "pushed 0 cache entries" in again.stdout and "3 already there" in again.stdout

    # a damaged remote entry is replaced by the verified local one
    remote_file = shared / "objects" / keys[0][:2] / keys[0] / "out" / "model.bin"
    remote_file.write_bytes(b"\x00")  # another size: found without downloading
    same_size = shared / "objects" / keys[1][:2] / keys[1] / "out" / "model.bin"
    same_size.write_bytes(b"\xff" * 100)  # same size: found only by re-hashing
    assert "pushed 1 cache entries" in _cache(cache, "push", "--cache", str(shared)).stdout
    deep = _cache(cache, "push", "--cache", str(shared), "--verify-remote")
    assert "pushed 1 cache entries" in deep.stdout, deep.stdout
    for key in keys:
        other = Cache(tmp_path / "other")
        Remote(str(shared)).pull(key, other)
        assert other.verify(key) == []


def test_push_never_shares_a_corrupt_local_entry(tmp_path):
    cache = Cache(tmp_path / "local")
    _publish(cache, "cc" * 32, "export")
    (cache.out_dir("cc" * 32) / "model.bin").write_bytes(b"flipped")
    result = _cache(cache, "push", "--cache", str(tmp_path / "shared"))
    assert result.returncode == 1
    assert "local entry cccccccccccccccc is corrupt" in result.stderr
    assert Remote(str(tmp_path / "shared")).keys() == []


def test_push_recipe_pushes_only_its_tasks(tmp_path):
    from runner.session import open_session

    (tmp_path / "project").mkdir()
    recipe = minimal_recipe(tmp_path / "project")
    cache = Cache(tmp_path / "local")
    session = open_session(recipe, cache.root, probe_devices=False)
    export = session.plan.tasks["export"].key
    _publish(cache, export, "export")
    _publish(cache, "dd" * 32, "export")  # another recipe's
    result = _cache(cache, "push", str(recipe), "--cache", str(tmp_path / "shared"))
    assert result.returncode == 0, result.stderr
    assert Remote(str(tmp_path / "shared")).keys() == [export]


def test_push_without_a_remote_is_exit_2(tmp_path):
    result = _cache(Cache(tmp_path / "c"), "push", env={"OVRUN_CACHE": ""})
    assert result.returncode == 2 and "--cache URL" in result.stderr


def test_gc_keep_last_groups_by_recipe_and_task(tmp_path):
    """Recipe b's newer export must not push recipe a's only one out; a's older key goes."""
    cache = Cache(tmp_path / "c")
    a_old, a_now, b_now = "a0" * 32, "a1" * 32, "b1" * 32
    _publish(cache, a_old, "export", age_s=3000)
    _publish(cache, a_now, "export", age_s=2000)
    _publish(cache, b_now, "export", age_s=10)
    cache.write_ref("recipe-a", "export", a_old, {})
    cache.write_ref("recipe-a", "export", a_now, {})  # a's history: a_old, then a_now
    cache.write_ref("recipe-b", "export", b_now, {})
    result = _cache(cache, "gc", "--keep-last", "1")
    assert result.returncode == 0, result.stderr
    assert cache.has(a_now) and cache.has(b_now)
    assert not cache.has(a_old)


def test_gc_keeps_an_entry_two_recipes_share(tmp_path):
    cache = Cache(tmp_path / "c")
    shared, newer = "5a" * 32, "5b" * 32
    _publish(cache, shared, "export", age_s=100)
    _publish(cache, newer, "export", age_s=1)
    cache.write_ref("recipe-a", "export", shared, {})
    cache.write_ref("recipe-b", "export", shared, {})
    cache.write_ref("recipe-b", "export", newer, {})
    _cache(cache, "gc", "--keep-last", "1")
    assert cache.has(shared) and cache.has(newer)  # still a's newest


def test_damaged_entries_are_reported_and_the_tools_keep_working(tmp_path):
    cache = Cache(tmp_path / "c")
    good, listed, wordy = "11" * 32, "22" * 32, "33" * 32
    for key in (good, listed, wordy):
        _publish(cache, key, "export")
    (cache.entry(listed) / "meta.json").write_text("[1, 2]")
    meta = json.loads((cache.entry(wordy) / "meta.json").read_text())
    meta["published"] = "yesterday"
    (cache.entry(wordy) / "meta.json").write_text(json.dumps(meta))

    for action in ("ls", "du"):
        result = _cache(cache, action)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert f"bad entry {listed[:16]}: meta.json is a list" in result.stderr
        assert f"bad entry {wordy[:16]}: meta.json 'published' is not a number" in result.stderr
    assert "3 entries" in _cache(cache, "ls").stdout
    verify = _cache(cache, "verify")
    assert verify.returncode == 1 and "Traceback" not in verify.stderr
    assert f"corrupt {listed[:16]}" in verify.stdout and f"corrupt {wordy[:16]}" in verify.stdout
    assert f"corrupt {good[:16]}" not in verify.stdout
    gc = _cache(cache, "gc", "--older-than", "1h")
    assert gc.returncode == 0 and "Traceback" not in gc.stderr
    assert cache.has(good)


def test_json_output_of_ls_du_verify(tmp_path):
    cache = Cache(tmp_path / "c")
    _publish(cache, "44" * 32, "compress:int8")
    listed = json.loads(_cache(cache, "ls", "--json").stdout)
    assert [e["task"] for e in listed["entries"]] == ["compress:int8"]
    du = json.loads(_cache(cache, "du", "--json").stdout)
    assert du["total"]["entries"] == 1 and du["ops"]["compress"]["bytes"] > 0
    (cache.out_dir("44" * 32) / "model.bin").write_bytes(b"?")
    result = _cache(cache, "verify", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["checked"] == 1 and report["corrupt"][0]["problems"] == [
        "model.bin content changed"
    ]


def test_cache_dir_is_accepted_after_the_action(tmp_path):
    cache = Cache(tmp_path / "c")
    _publish(cache, "55" * 32, "export")
    before = ovrun("cache", "--cache-dir", str(cache.root), "ls")
    after = ovrun("cache", "ls", "--cache-dir", str(cache.root))
    assert before.returncode == after.returncode == 0
    assert "1 entries" in after.stdout
    assert after.stdout.splitlines()[-1] == before.stdout.splitlines()[-1]
