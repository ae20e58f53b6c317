"""Helpers for the crash, concurrency, integrity and confinement tests: a small real recipe on
the tiny BERT, CLI processes, and checks that a cache holds only complete, intact entries."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from recipes_util import REPO

from runner.cache.store import Cache

# export, data:calib, compress:int8, bench x2, eval:int8, report
SMALL_TASKS = 7


SMALL_CORPUS = {"calib.txt": (24, 1)}
# fp32 + int8 on the tiny BERT, CPU only, short benchmark, accuracy check: with SMALL_CORPUS,
# tiny_project(SMALL_RECIPE, SMALL_CORPUS) (tests/conftest.py) makes the project.
SMALL_RECIPE = """
version: 1
name: small
model:
  source: {path: model}
data:
  calib: {text: calib.txt, samples: 24, max_length: 32}
variants:
  fp32: {}
  int8:
    quantize: {dataset: calib, subset_size: 24}
targets: {devices: [CPU], hints: [LATENCY]}
benchmark: {duration_s: 0.2, warmup: 1, seq_len: 32}
evaluate: {dataset: calib, reference: fp32, max_drop: 0.5}
"""


# Ops whose outputs are bit-identical run to run (checked: export, tokenized data, NNCF
# quantization, evaluation); benchmarks and the report hold measured times. IRs included:
# runner/adapters/stable_ir.py keeps OpenVINO's per-process node counter out of the .xml.
def same_output(cache_a: Path, meta_a: dict, cache_b: Path, meta_b: dict, rel: str) -> bool:
    """The file ``rel`` of two entries has the same sha256 (as recorded and on disk)."""
    on_disk = [
        hashlib.sha256((c / "objects" / m["key"][:2] / m["key"] / "out" / rel).read_bytes())
        for c, m in ((cache_a, meta_a), (cache_b, meta_b))
    ]
    return (
        meta_a["outputs"][rel] == meta_b["outputs"][rel]
        and on_disk[0].hexdigest() == on_disk[1].hexdigest()
    )


def ovrun_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "runner", *args]


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "OVRUN_TEST_KILL_AT"}
    return {**base, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **extra}


def run(*args: str, timeout: int = 900, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ovrun_cmd(*args),
        cwd=REPO,
        env=env(**extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def popen(*args: str, **extra_env: str) -> subprocess.Popen:
    return subprocess.Popen(
        ovrun_cmd(*args),
        cwd=REPO,
        env=env(**extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 600, what: str = "") -> None:
    """Poll until ``predicate()``; fail if the process ends first (it ran past the point)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process ended (rc {proc.returncode}) before {what}: {err}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def staging_files(cache_dir: Path, key: str) -> list[Path]:
    """Files an adapter has written so far into the staging dir of ``key``."""
    return [p for d in (cache_dir / "tmp").glob(f"{key}.*") for p in d.rglob("*") if p.is_file()]


def entries(cache_dir: Path) -> dict[str, dict]:
    """task id -> meta.json of every published entry."""
    found = {}
    for meta in (cache_dir / "objects").glob("*/*/meta.json"):
        data = json.loads(meta.read_text(encoding="utf-8"))
        found[data["task_id"]] = data
    return found


def assert_cache_sound(cache_dir: Path) -> None:
    """Every dir in objects/ is a complete entry whose files match their recorded digests."""
    cache = Cache(cache_dir)
    objects = cache_dir / "objects"
    for entry in objects.glob("*/*") if objects.is_dir() else []:
        assert (entry / "meta.json").is_file(), f"entry without meta.json: {entry}"
        assert cache.verify(entry.name) == [], (entry.name, cache.verify(entry.name))


def staging_dirs(cache_dir: Path) -> list[Path]:
    tmp = cache_dir / "tmp"
    return sorted(tmp.iterdir()) if tmp.is_dir() else []


def results(out_dir: Path) -> dict:
    return json.loads((out_dir / "results.json").read_text(encoding="utf-8"))


class StreamCollector:
    """Reads a child's stdout on a thread so a test can wait for a line while it runs."""

    def __init__(self, stream):
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.text += line

    def wait(self, proc: subprocess.Popen, timeout: float) -> str:
        proc.wait(timeout=timeout)
        self._thread.join(timeout=60)
        return self.text
