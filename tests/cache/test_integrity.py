"""Cache integrity: a flipped byte in a cache entry is found by `ovrun cache verify` and on use
(a task re-hashes its inputs before consuming them; a run re-hashes the report it shows); the
bad entry is removed and rebuilt. A full disk (a real tmpfs that fills up, or a file size limit)
gives a clear exit-2 error and publishes nothing partial."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
from hardening_util import (
    SMALL_CORPUS,
    SMALL_RECIPE,
    SMALL_TASKS,
    assert_cache_sound,
    entries,
    env,
    ovrun_cmd,
    results,
    run,
    staging_dirs,
)
from recipes_util import REPO

from runner.cache.store import Cache

pytestmark = pytest.mark.slow


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if offset is None else offset
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def entry_file(cache_dir: Path, meta: dict, rel: str) -> Path:
    return Cache(cache_dir).out_dir(meta["key"]) / rel


def test_flipped_byte_is_detected_on_use_and_by_cache_verify(tmp_path, tiny_project):
    recipe = tiny_project(SMALL_RECIPE, SMALL_CORPUS, dir=tmp_path).recipe
    cache, out = tmp_path / "cache", tmp_path / "out"
    args = (str(recipe), "--cache-dir", str(cache), "--out", str(out))
    first = run(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    before = entries(cache)
    assert len(before) == SMALL_TASKS
    for meta in before.values():  # every entry records a digest of every output file
        produced = Cache(cache).out_dir(meta["key"])
        files = {p.relative_to(produced).as_posix() for p in produced.rglob("*") if p.is_file()}
        assert set(meta["outputs"]) == files and files

    clean = run("cache", "--cache-dir", str(cache), "verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"{SMALL_TASKS} entries checked, 0 corrupt" in clean.stdout

    # one bit of the exported weights changes on disk
    export = before["export"]
    flip_byte(entry_file(cache, export, "model/openvino_model.bin"))
    found = run("cache", "--cache-dir", str(cache), "verify")
    assert found.returncode == 1
    assert f"corrupt {export['key'][:16]}  export: model/openvino_model.bin content changed" in (
        found.stdout
    )
    assert "1 corrupt" in found.stdout

    # on use: the int8 compression consumes the export and must refuse the corrupt copy
    used = run(*args, "--force", "compress:int8")
    assert used.returncode == 2, used.stdout + used.stderr
    assert "Traceback" not in used.stdout + used.stderr
    assert "was corrupt (model/openvino_model.bin content changed) and has been removed" in (
        used.stdout
    )
    assert "export" not in entries(cache)
    assert entries(cache)["compress:int8"]["published"] == before["compress:int8"]["published"]

    # the next run rebuilds the export, bit-identical to the original
    healed = run(*args)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert results(out)["run"]["tasks"]["export"]["state"] == "ran"
    assert entries(cache)["export"]["outputs"] == export["outputs"]
    assert_cache_sound(cache)

    # the report entry, whose results a fully cached run shows, is re-hashed before use
    # (the run that failed above published a report of its own: pick the one just shown)
    report = Cache(cache).meta(results(out)["run"]["tasks"]["report"]["key"])
    flip_byte(entry_file(cache, report, "results.json"), offset=0)  # '{' -> 'z': not JSON
    shown = run(*args)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    tasks = results(out)["run"]["tasks"]
    assert tasks["report"]["state"] == "ran"
    assert {t["state"] for k, t in tasks.items() if k != "report"} == {"cached"}
    assert_cache_sound(cache)


# -- disk full ----------------------------------------------------------------------------


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 160 KiB tmpfs: room for the memos, not for the exported model."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / f"full-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def assert_clear_disk_error(done: subprocess.CompletedProcess, cache: Path) -> None:
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "Traceback" not in text
    assert "error: task export failed:" in text
    assert "no space left on the device" in text or "disk full?" in text or "size limit" in text
    assert "nothing partial was published" in text
    assert_cache_sound(cache)
    assert "export" not in entries(cache)
    assert staging_dirs(cache) == []


def test_disk_full_is_a_clear_error_and_publishes_nothing(tmp_path, tiny_project, tiny_tmpfs):
    recipe = tiny_project(SMALL_RECIPE, SMALL_CORPUS, dir=tmp_path).recipe
    cache = tiny_tmpfs / "cache"
    done = run(str(recipe), "--cache-dir", str(cache), "--out", str(tmp_path / "out"))
    assert_clear_disk_error(done, cache)
    # and with room again, the same cache resumes normally
    roomy = tmp_path / "roomy"
    shutil.copytree(cache, roomy, symlinks=True)
    again = run(str(recipe), "--cache-dir", str(roomy), "--out", str(tmp_path / "out"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert_cache_sound(roomy)


def _limit_file_size() -> None:
    # writes past 100 KiB (the exported weights are ~150 KiB) fail with EFBIG, not SIGXFSZ
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100 * 1024, resource.RLIM_INFINITY))


def test_file_size_limit_is_a_clear_error_and_publishes_nothing(tmp_path, tiny_project):
    recipe = tiny_project(SMALL_RECIPE, SMALL_CORPUS, dir=tmp_path).recipe
    cache = tmp_path / "cache"
    done = subprocess.run(
        ovrun_cmd(str(recipe), "--cache-dir", str(cache), "--out", str(tmp_path / "out")),
        cwd=REPO,
        env=env(),
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
        preexec_fn=_limit_file_size,
    )
    assert_clear_disk_error(done, cache)
