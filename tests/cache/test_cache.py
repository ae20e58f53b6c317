import json
import multiprocessing

from runner.cache.store import Cache


def _publish(root, key, payload):
    cache = Cache(root)
    staging = cache.begin(key)
    (staging.out / "data.bin").write_bytes(payload)
    cache.publish(staging, {"task_id": "t"})


def test_entry_appears_only_on_publish(tmp_path):
    cache = Cache(tmp_path)
    key = "ab" * 32
    staging = cache.begin(key)
    (staging.out / "model.bin").write_bytes(b"x" * 1000)
    assert not cache.has(key)
    cache.publish(staging, {"task_id": "t"})
    assert cache.has(key) and not staging.dir.exists()
    meta = cache.meta(key)
    assert meta["key"] == key and set(meta["outputs"]) == {"model.bin"}
    assert cache.verify(key) == []


def test_discarded_staging_leaves_nothing(tmp_path):
    cache = Cache(tmp_path)
    staging = cache.begin("cd" * 32)
    (staging.out / "half").write_bytes(b"partial")
    cache.discard(staging)
    assert not cache.has("cd" * 32)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_flipped_byte_is_detected(tmp_path):
    cache = Cache(tmp_path)
    _publish(tmp_path, "ef" * 32, b"\x00" * 4096)
    target = cache.out_dir("ef" * 32) / "data.bin"
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0x01
    target.write_bytes(bytes(raw))
    assert cache.verify("ef" * 32) == ["data.bin content changed"]
    (cache.out_dir("ef" * 32) / "extra").write_text("x")
    assert "extra not recorded" in cache.verify("ef" * 32)


def test_concurrent_publishers_of_one_key_leave_one_intact_entry(tmp_path):
    key = "12" * 32
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_publish, args=(str(tmp_path), key, b"same" * 1000)) for _ in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = Cache(tmp_path)
    assert cache.verify(key) == []
    assert [p.name for p in (tmp_path / "tmp").iterdir()] == []


def test_stale_staging_of_dead_process_is_cleaned(tmp_path):
    cache = Cache(tmp_path)
    dead = tmp_path / "tmp" / f"{'ab' * 32}.999999999.deadbeef"
    dead.mkdir(parents=True)
    live = cache.begin("cd" * 32)
    cache.clean_stale_tmp()
    assert not dead.exists() and live.dir.exists()


def test_refs_roundtrip(tmp_path):
    cache = Cache(tmp_path)
    cache.write_ref("r", "bench:a:CPU:LATENCY", "k" * 64, {"op": "benchmark"})
    assert cache.read_ref("r", "bench:a:CPU:LATENCY") == {
        "key": "k" * 64,
        "preimage": {"op": "benchmark"},
        "task_id": "bench:a:CPU:LATENCY",
        "keys": ["k" * 64],
    }
    assert cache.read_ref("r", "nope") is None
    # the keys the task had before stay listed (for `cache gc --keep-last` per recipe)
    cache.write_ref("r", "bench:a:CPU:LATENCY", "m" * 64, {"op": "benchmark"})
    cache.write_ref("r", "bench:a:CPU:LATENCY", "k" * 64, {"op": "benchmark"})
    assert cache.read_ref("r", "bench:a:CPU:LATENCY")["keys"] == ["m" * 64, "k" * 64]


def test_meta_records_output_digests(tmp_path):
    _publish(tmp_path, "34" * 32, b"a")
    meta = json.loads((Cache(tmp_path).entry("34" * 32) / "meta.json").read_text())
    assert meta["outputs"]["data.bin"]
