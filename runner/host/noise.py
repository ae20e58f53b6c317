"""The per-host run-to-run noise floor that `ovrun compare` holds differences against.

Two runs of the same IR on the same host differ by more than either run's repeats show:
each process places its threads, lays out its memory and meets the CPU's frequency state
anew. The floor is measured once per host fingerprint (the CPU fingerprint measurements are
keyed on, plus the OpenVINO build): ``runs`` A/A runs of one fixed tiny BERT-shaped model,
each in its own process (`runner.adapters.noise_probe`), and per hint and metric the widest
ratio between any two of them (max / min - 1). It is memoized in the cache's host memo
(``memo/noise.json``, one entry per fingerprint, so a shared cache holds several hosts'), and
measured again when the fingerprint changes or on `ovrun compare --measure-noise`.

Nothing here imports openvino: the runs are child processes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from runner.core.atomic import write_text_atomic
from runner.host.fingerprint import device_fingerprint

FORMAT = 1
METRICS = ("throughput", "latency_median")
# Defaults: ~2 s per run (import + compile + 2 hints x repeats x seconds); 6 runs give
# 15 pairs, enough that a fresh A/A pair rarely falls outside the widest of them.
RUNS, SECONDS, REPEATS = 6, 0.5, 2


def memo_file(cache_root: Path) -> Path:
    return cache_root / "memo" / "noise.json"


def host_identity(host: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the floor is keyed on, from a device probe or a results.json ``host``; None when
    the host was not probed (no CPU fingerprint to key on)."""
    cpu = device_fingerprint("CPU", host)
    if cpu is None:
        return None
    return {"cpu": cpu, "openvino": (host or {}).get("openvino")}


def identity_key(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _read(cache_root: Path) -> dict[str, Any]:
    try:
        doc = json.loads(memo_file(cache_root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"format": FORMAT, "floors": {}}
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return {"format": FORMAT, "floors": {}}  # an older or damaged memo: measure again
    return doc


def lookup(cache_root: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The memoized floor of the host ``identity`` describes, if measured."""
    entry = _read(cache_root)["floors"].get(identity_key(identity))
    return entry if isinstance(entry, dict) and entry.get("identity") == identity else None


def remember(cache_root: Path, entry: dict[str, Any]) -> None:
    doc = _read(cache_root)
    doc["floors"][identity_key(entry["identity"])] = entry
    path = memo_file(cache_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(doc, indent=1, sort_keys=True))


def floor_from_runs(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per hint and metric, the widest ratio between two A/A runs minus one.

    Each run's figure is the median of its repeats, as in the benchmark op; max / min over
    the runs is the largest B/A (or A/B) ratio any pair of them showed."""
    floor: dict[str, dict[str, float]] = {}
    for hint in runs[0]:
        floor[hint] = {}
        for metric in METRICS:
            values = [_median([r[metric] for r in run[hint]]) for run in runs]
            floor[hint][metric] = max(values) / min(values) - 1.0 if min(values) > 0 else 0.0
    return floor


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def measure(
    cache_root: Path,
    identity: dict[str, Any],
    runs: int | None = None,
    seconds: float | None = None,
    repeats: int | None = None,
    log: Callable[[str], None] | None = None,
    turn: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> dict[str, Any]:
    """Measure this host's floor with ``runs`` A/A child processes and memoize it
    (defaults: the module's RUNS, SECONDS, REPEATS, read at call time). Each run happens
    inside ``turn()``: the CLI passes the host lock, so no ovrun benchmark overlaps it."""
    runs, seconds, repeats = runs or RUNS, seconds or SECONDS, repeats or REPEATS
    if runs < 2:
        raise ValueError("a noise floor needs at least 2 runs")
    measured = []
    for i in range(runs):
        if log:
            log(f"noise floor: A/A run {i + 1}/{runs}")
        with turn():
            measured.append(_one_run(seconds, repeats))
    entry = {
        "identity": identity,
        "floor": floor_from_runs(measured),
        "runs": measured,
        "method": {
            "model": "runner.adapters.noise_probe.tiny_bert",
            "runs": runs,
            "seconds": seconds,
            "repeats": repeats,
            "rule": "max / min - 1 over separately started runs (median of repeats each)",
        },
        "measured": time.time(),
    }
    remember(cache_root, entry)
    return entry


def _one_run(seconds: float, repeats: int) -> dict[str, Any]:
    """One A/A run in a fresh process: its own compile, thread pinning and memory layout."""
    cmd = [sys.executable, "-m", "runner.adapters.noise_probe", str(seconds), str(repeats)]
    done = subprocess.run(
        cmd, check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"noise probe failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])
