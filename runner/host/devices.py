"""Which OpenVINO devices this host has, memoized so a fully cached run needs no openvino import.

The memo is keyed by a stamp of what would change the answer (openvino version, host name,
the GPU/NPU device nodes), so installing a driver or plugging a device in re-probes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Any

from runner.cache.key import lib_version
from runner.core.atomic import write_text_atomic

_DEVICE_NODE_DIRS = ("/dev/dri", "/dev/accel")


def stamp() -> dict[str, Any]:
    nodes: list[str] = []
    for d in _DEVICE_NODE_DIRS:
        with contextlib.suppress(OSError):
            nodes.extend(f"{d}/{n}" for n in sorted(os.listdir(d)))
    return {
        "probe_format": 2,  # 2: devices carry SUPPORTED_PROPERTIES; older memos re-probe
        "openvino": lib_version("openvino"),
        "host": socket.gethostname(),
        "device_nodes": nodes,
    }


def _memo_file(cache_root: Path) -> Path:
    return cache_root / "memo" / f"devices-{socket.gethostname()}.json"


def memoized(cache_root: Path) -> dict[str, Any] | None:
    """The last probe of this host if nothing relevant changed since; never imports openvino."""
    try:
        saved = json.loads(_memo_file(cache_root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return saved.get("probe") if saved.get("stamp") == stamp() else None


def remember(cache_root: Path, found: dict[str, Any]) -> None:
    """Memoize a probe (made by `runner.adapters.devices.probe`) for this host's later runs."""
    path = _memo_file(cache_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        path, json.dumps({"stamp": stamp(), "probe": found}, sort_keys=True, default=str)
    )


def _base(device: str) -> str:
    return device.split(".")[0]


def unavailable_reason(device: str, available: list[str]) -> str | None:
    """None when ``device`` can run here, else the reason shown to the user."""
    have = {_base(d) for d in available}
    shown = ", ".join(available) or "none"
    if device.startswith("AUTO"):
        wanted = device.partition(":")[2]
        needed = [d.strip() for d in wanted.split(",") if d.strip()] if wanted else []
        if not needed:
            return None if available else f"device {device} not available (available: {shown})"
        # AUTO picks among the listed devices; one present is enough
        if any(_base(d) in have for d in needed):
            return None
        return f"device {device} not available (available: {shown})"
    if device.startswith(("HETERO:", "MULTI:")):
        needed = [d.strip() for d in device.partition(":")[2].split(",") if d.strip()]
        missing = [d for d in needed if _base(d) not in have and d not in available]
        if missing:
            return f"device {device} needs {', '.join(missing)}, not available (available: {shown})"
        return None
    if device in available or (device == _base(device) and device in have):
        return None
    return f"device {device} not available (available: {shown})"
