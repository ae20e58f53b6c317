"""A hand-edited or hostile ovrun.lock: exit 2 at ovrun.lock:LINE:COL, never a traceback."""

from __future__ import annotations

import pytest
from recipes_util import ovrun

from runner.cache import lockfile_read

HEADER = b"schema: ovrun.lock/1\nrecipes:\n"

CORPUS = {
    "not UTF-8": (HEADER + b"  a.yaml: {name: \xff\xfe}\n", "3:", "not valid UTF-8"),
    "5,000-digit number": (HEADER + b"  a.yaml: {n: " + b"9" * 5000 + b"}\n", "3:", "cannot read"),
    "50,000 nested brackets": (
        b"schema: " + b"[" * 50_000 + b"]" * 50_000 + b"\n",
        "1:",
        "nest",
    ),
    "duplicate keys": (HEADER + b"  a.yaml: {}\n  a.yaml: {}\n", "4:3", "duplicate key"),
    "anchors": (HEADER + b"  a.yaml: &x {tasks: {}}\n  b.yaml: *x\n", "3:", "anchors"),
    "a tag": (HEADER + b"  a.yaml: !!python/object {}\n", "3:", "tag"),
    "a list": (b"- schema\n", "1:1", "not an ovrun lock file"),
    "recipes of the wrong type": (HEADER + b"  - 1\n", "1:1", "not an ovrun lock file"),
    "a control character": (HEADER + b"  a\x1b[2J.yaml: {}\n", "3:4", "'\\x1b'"),
}


def _gc(lock, cache) -> tuple[int, str, str]:
    # `cache gc PATH` reads every lock it is given: the cheapest command that parses one
    result = ovrun("cache", "--cache-dir", str(cache), "gc", "--keep-last", "1", str(lock))
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_hostile_lock_is_exit_2_at_a_position(tmp_path, case):
    data, where, says = CORPUS[case]
    lock = tmp_path / "ovrun.lock"
    lock.write_bytes(data)
    code, out, err = _gc(lock, tmp_path / "cache")
    assert code == 2, out + err
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith(f"{lock}:{where}"), first
    assert says in first, first
    assert "hint: " in err
    assert "\x1b" not in err  # printed escaped, never raw


def test_oversized_lock_is_refused_before_reading(tmp_path):
    lock = tmp_path / "ovrun.lock"
    with open(lock, "wb") as f:
        f.write(HEADER)
        f.write(b"# " + b"x" * (60 * 1024 * 1024) + b"\n")
    code, _, err = _gc(lock, tmp_path / "cache")
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"{lock}:1:1: error: lock file is ")
    assert f"over the {lockfile_read.MAX_BYTES} byte limit" in err


def test_hand_edited_lock_with_wrong_types_still_diffs(tmp_path):
    """Task entries of the wrong shape compare as changed, not as a crash."""
    from runner.cache.lockfile import diff_locks

    new = {"tasks": {"export": {"key": "b" * 64, "params": {"x": 1}, "files": {}, "libs": {}}}}
    for old_task in ([1, 2], "text", {"params": "x", "files": [1], "libs": 3, "key": 5}):
        lines = diff_locks({"tasks": {"export": old_task}}, new)
        assert any(line.startswith("task export:") for line in lines), lines
    assert diff_locks({"tasks": ["x"], "environment": "y"}, new) == [
        "task export: new (not in the lock)"
    ]
