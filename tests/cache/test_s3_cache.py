"""The shared cache on a real S3-protocol object store: moto's standalone server on 127.0.0.1
(started and stopped here), s3fs as the client, the endpoint given as users give it
(AWS_ENDPOINT_URL). Push, pull, two concurrent pushers, a tampered entry, an interrupted push."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time

import pytest
from recipes_util import REPO, ovrun

from runner.cache.remote import Remote, RemoteError
from runner.cache.signing import keygen, load_signing_key, load_trust
from runner.cache.store import Cache

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

BUCKET = "team-cache"
URL = f"s3://{BUCKET}/ovrun"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory):
    """A moto S3 server for this module; yields the environment a client needs."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "ovrun-test",
        "AWS_SECRET_ACCESS_KEY": "ovrun-test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"moto server did not start: {log.read_text()}") from None
                time.sleep(0.1)
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            import s3fs

            s3fs.S3FileSystem.clear_instance_cache()
            s3fs.S3FileSystem().mkdir(BUCKET)
            yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def remote_url(s3_env, request):
    """A fresh prefix per test, so tests do not see each other's entries."""
    return f"{URL}/{request.node.name.replace('[', '-').replace(']', '')}"


def _entry(cache: Cache, key: str, data: bytes, task: str = "export") -> None:
    staging = cache.begin(key)
    (staging.out / "model").mkdir()
    (staging.out / "model" / "w.bin").write_bytes(data)
    (staging.out / "result.json").write_bytes(b"{}")
    cache.publish(staging, {"task_id": task, "op": task.split(":")[0]})


def _s3():
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True)


def test_signed_push_and_verified_pull(tmp_path, remote_url):
    secret, public = keygen("team-a", tmp_path / "keys")
    key = "a1" * 32
    a, b = Cache(tmp_path / "a"), Cache(tmp_path / "b")
    _entry(a, key, os.urandom(200_000))
    remote = Remote(remote_url, signer=load_signing_key(secret))
    assert remote.push(key, a) is True
    assert remote.keys() == [key] and remote.push(key, a) is False
    Remote(remote_url, trust=load_trust([public])).pull(key, b)
    assert b.verify(key) == [] and b.meta(key)["signed_by"] == ["team-a"]
    assert (b.out_dir(key) / "model" / "w.bin").read_bytes() == (
        a.out_dir(key) / "model" / "w.bin"
    ).read_bytes()


def test_cli_push_reaches_the_endpoint_from_the_environment(tmp_path, s3_env, remote_url):
    cache = Cache(tmp_path / "a")
    for i in range(3):
        _entry(cache, f"b{i}" * 32, bytes([i]) * 1000)
    result = ovrun(
        "cache", "push", "--cache", remote_url, "--cache-dir", str(cache.root), env=s3_env
    )
    assert result.returncode == 0, result.stderr
    assert "pushed 3 cache entries" in result.stdout
    assert Remote(remote_url).keys() == sorted(f"b{i}" * 32 for i in range(3))


def test_two_concurrent_pushers(tmp_path, s3_env, remote_url):
    """Both upload the same entry at once (one held between its outputs and its meta.json
    while the other finishes) plus one entry each; every entry ends up complete."""
    shared_key, key_a, key_b = "c0" * 32, "c1" * 32, "c2" * 32
    a, b = Cache(tmp_path / "a"), Cache(tmp_path / "b")
    same = os.urandom(50_000)
    _entry(a, shared_key, same)
    _entry(b, shared_key, same)
    _entry(a, key_a, b"a" * 1000, task="compress:a")
    _entry(b, key_b, b"b" * 1000, task="compress:b")
    release = tmp_path / "release"
    env = {**os.environ, **s3_env, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(
        [sys.executable, "-m", "runner", "cache", "push", "--cache", remote_url,
         "--cache-dir", str(a.root)],
        env={**env, "OVRUN_TEST_PAUSE_AT": f"export@push={release}"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    second = ovrun("cache", "push", "--cache", remote_url, "--cache-dir", str(b.root), env=s3_env)
    assert second.returncode == 0, second.stderr
    release.touch()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    remote = Remote(remote_url)
    assert remote.keys() == sorted([shared_key, key_a, key_b])
    for key in (shared_key, key_a, key_b):
        fresh = Cache(tmp_path / f"pull-{key[:2]}")
        remote.pull(key, fresh)
        assert fresh.verify(key) == []


def test_tampered_entry_is_refused(tmp_path, remote_url):
    secret, public = keygen("team-a", tmp_path / "keys")
    key = "d1" * 32
    _entry(Cache(tmp_path / "a"), key, b"\x01" * 4096)
    Remote(remote_url, signer=load_signing_key(secret)).push(key, Cache(tmp_path / "a"))
    s3 = _s3()
    entry = f"{remote_url[len('s3://') :]}/objects/{key[:2]}/{key}"
    evil = b"\x02" * 4096
    s3.pipe_file(f"{entry}/out/model/w.bin", evil)
    meta = json.loads(s3.cat_file(f"{entry}/meta.json"))
    meta["outputs"]["model/w.bin"] = hashlib.sha256(evil).hexdigest()
    s3.pipe_file(f"{entry}/meta.json", json.dumps(meta).encode())
    b = Cache(tmp_path / "b")
    with pytest.raises(RemoteError, match="bad signature"):
        Remote(remote_url, trust=load_trust([public])).pull(key, b)
    assert not b.has(key)
    # tampered without re-hashing: the digest check alone catches it too
    meta["outputs"]["model/w.bin"] = hashlib.sha256(b"\x01" * 4096).hexdigest()
    s3.pipe_file(f"{entry}/meta.json", json.dumps(meta).encode())
    with pytest.raises(RemoteError, match="does not match"):
        Remote(remote_url).pull(key, b)
    assert not b.has(key)


def test_interrupted_push_leaves_no_visible_entry(tmp_path, s3_env, remote_url):
    key = "e1" * 32
    cache = Cache(tmp_path / "a")
    _entry(cache, key, os.urandom(100_000))
    killed = ovrun(
        "cache", "push", "--cache", remote_url, "--cache-dir", str(cache.root),
        env={**s3_env, "OVRUN_TEST_KILL_AT": "export@push"},
    )  # fmt: skip
    assert killed.returncode == -9  # SIGKILL after the outputs, before meta.json
    remote = Remote(remote_url)
    assert _s3().find(remote_url[len("s3://") :])  # the outputs are there...
    assert not remote.has(key) and remote.keys() == []  # ...but no entry anyone would pull
    with pytest.raises(RemoteError):
        remote.pull(key, Cache(tmp_path / "b"))
    again = ovrun(
        "cache", "push", "--cache", remote_url, "--cache-dir", str(cache.root), env=s3_env
    )
    assert again.returncode == 0 and "pushed 1 cache entries" in again.stdout
    fresh = Cache(tmp_path / "c")
    remote.pull(key, fresh)
    assert fresh.verify(key) == []


def test_unreachable_endpoint_is_one_error_not_a_traceback(tmp_path):
    from recipes_util import minimal_recipe

    dead = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{_free_port()}",  # nothing listens there
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }
    cache = Cache(tmp_path / "a")
    _entry(cache, "f1" * 32, b"x")
    push = ovrun("cache", "push", "--cache", URL, "--cache-dir", str(cache.root), env=dead)
    assert push.returncode == 2 and "Traceback" not in push.stderr
    assert f"shared cache {URL} unreachable" in push.stderr and "hint:" in push.stderr
    recipe = minimal_recipe(tmp_path)
    plan = ovrun("plan", str(recipe), "--cache-dir", str(cache.root), "--cache", URL, env=dead)
    assert plan.returncode == 2 and "Traceback" not in plan.stderr
    assert "unreachable" in plan.stderr
