"""A shared fsspec cache: one team member's run fills it, another's pulls and runs nothing."""

from __future__ import annotations

import json

import pytest
from recipes_util import ovrun

from runner.cache.remote import Remote, RemoteError
from runner.cache.store import Cache


def _entry(cache: Cache, key: str, files: dict[str, bytes]) -> None:
    staging = cache.begin(key)
    for rel, data in files.items():
        (staging.out / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging.out / rel).write_bytes(data)
    cache.publish(staging, {"task_id": "export", "op": "export"})


@pytest.mark.parametrize("scheme", ["path", "file-url"])
def test_push_then_pull_into_a_clean_cache(tmp_path, scheme):
    shared = tmp_path / "shared"
    url = str(shared) if scheme == "path" else f"file://{shared}"
    key = "ab" * 32
    a, b = Cache(tmp_path / "a"), Cache(tmp_path / "b")
    _entry(a, key, {"model/x.bin": b"\x01" * 4096, "result.json": b"{}"})
    remote = Remote(url)
    assert not remote.has(key)
    assert remote.push(key, a) is True
    assert remote.has(key) and remote.keys() == [key]
    assert remote.push(key, a) is False  # already there: nothing uploaded twice
    remote.pull(key, b)
    assert b.has(key) and b.verify(key) == []
    assert (b.out_dir(key) / "model" / "x.bin").read_bytes() == b"\x01" * 4096
    assert b.meta(key)["pulled_from"] == url


def test_tampered_remote_entry_is_refused(tmp_path):
    key = "cd" * 32
    a, b = Cache(tmp_path / "a"), Cache(tmp_path / "b")
    _entry(a, key, {"result.json": b'{"x": 1}'})
    remote = Remote(str(tmp_path / "shared"))
    remote.push(key, a)
    (tmp_path / "shared" / "objects" / key[:2] / key / "out" / "result.json").write_text("{}")
    with pytest.raises(RemoteError, match="does not match"):
        remote.pull(key, b)
    assert not b.has(key)
    assert list((b.root / "tmp").iterdir()) == []  # the staging dir was discarded


def test_remote_meta_cannot_escape_the_entry(tmp_path):
    key = "ef" * 32
    entry = tmp_path / "shared" / "objects" / key[:2] / key
    entry.mkdir(parents=True)
    (entry / "meta.json").write_text(json.dumps({"key": key, "outputs": {"../../evil": "0" * 64}}))
    with pytest.raises(RemoteError, match="refusing"):
        Remote(str(tmp_path / "shared")).pull(key, Cache(tmp_path / "b"))


@pytest.mark.slow  # two full tiny runs (export, compression, benchmarks)
def test_second_team_member_pulls_everything_and_executes_nothing(tmp_path, tiny_project):
    project = tiny_project(
        """
        version: 1
        name: tiny
        model: {source: {path: model}}
        data:
          calib: {text: calib.txt, samples: 16, max_length: 16}
        variants:
          fp32: {}
          w8: {compress_weights: {mode: int8_sym}}
        targets: {devices: [CPU], hints: [LATENCY]}
        benchmark: {duration_s: 0.2, warmup: 1, seq_len: 16}
        evaluate: {dataset: calib, reference: fp32}
        """,
        {"calib.txt": (16, 5)},
        dir=tmp_path / "project",
    )
    recipe = project.recipe
    shared = tmp_path / "shared"
    first = ovrun(str(recipe), "--cache-dir", str(tmp_path / "alice"), "--cache", str(shared))
    assert first.returncode == 0, first.stdout + first.stderr
    results = project.results()
    ran = {t for t, v in results["run"]["tasks"].items() if v["state"] == "ran"}
    assert f"pushed {len(ran)} cache entries" in first.stdout

    # a clean local cache; the remote comes from the environment this time
    plan = ovrun(
        "plan", str(recipe), "--cache-dir", str(tmp_path / "bob"), env={"OVRUN_CACHE": str(shared)}
    )
    assert f"{len(ran)} cached, 0 will run" in plan.stdout, plan.stdout
    second = ovrun(
        str(recipe), "--cache-dir", str(tmp_path / "bob"), env={"OVRUN_CACHE": str(shared)}
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"pulled {len(ran)} cache entries" in second.stderr
    tasks = project.results()["run"]["tasks"]
    assert {v["state"] for v in tasks.values()} == {"cached"}
    bob = Cache(tmp_path / "bob")
    assert all(bob.verify(tasks[t]["key"]) == [] for t in ran)
    assert "pushed" not in second.stdout
