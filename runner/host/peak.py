"""The machine's measured peak (GFLOP/s per precision, memory bandwidth), memoized per device
fingerprint like the device probe, so it is measured once per host and never imports openvino.

The memo is keyed by the device's hardware fingerprint (`host/fingerprint.py`), the openvino
version and the measurement size: a cache copied to another machine re-measures there, so a
cell never shows a peak measured on other hardware. `runner.adapters.peak` measures; this
module only finds, reads and writes memos."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from runner.cache.key import lib_version
from runner.core.atomic import write_text_atomic

FORMAT = 1  # bump when the measurement changes: older memos are then re-measured
# Test-only switch: "tiny" measures in a fraction of a second (meaningless figures, distinct
# memo), so the suite's runs do not each spend seconds on a full measurement.
SIZE_ENV = "OVRUN_TEST_PEAK_SIZE"
SIZES = ("full", "tiny")


def size() -> str:
    chosen = os.environ.get(SIZE_ENV) or "full"
    return chosen if chosen in SIZES else "full"


def memo_key(fingerprint: dict[str, Any], measure_size: str) -> str:
    preimage = {
        "format": FORMAT,
        "openvino": lib_version("openvino"),
        "fingerprint": fingerprint,
        "size": measure_size,
    }
    text = json.dumps(preimage, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def memo_file(cache_root: Path, fingerprint: dict[str, Any], measure_size: str) -> Path:
    return cache_root / "memo" / f"peak-{memo_key(fingerprint, measure_size)}.json"


def memoized(
    cache_root: Path, fingerprint: dict[str, Any], measure_size: str
) -> dict[str, Any] | None:
    """The peak measured for this fingerprint and size, None when not measured yet."""
    try:
        saved = json.loads(
            memo_file(cache_root, fingerprint, measure_size).read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    # the key is a hash: check the content too, so a collision or a hand-copied file is a miss
    if saved.get("fingerprint") != fingerprint or saved.get("size") != measure_size:
        return None
    peak = saved.get("peak")
    return peak if isinstance(peak, dict) else None


def remember(
    cache_root: Path, fingerprint: dict[str, Any], measure_size: str, peak: dict[str, Any]
) -> Path:
    path = memo_file(cache_root, fingerprint, measure_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"fingerprint": fingerprint, "size": measure_size, "peak": peak}
    write_text_atomic(path, json.dumps(body, sort_keys=True, indent=1, default=str))
    return path
