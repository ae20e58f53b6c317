"""Which OpenVINO devices this host has, memoized so a fully cached run needs no openvino import.

The memo is keyed by a stamp of what would change the answer (openvino version, host name,
the CPU, the GPU/NPU device nodes), so installing a driver or plugging a device in
re-probes, and so does a cache copied to another machine that has the same host name (the
probe is the hardware fingerprint measurements are keyed on)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from runner.cache.key import lib_version
from runner.core.atomic import write_text_atomic
from runner.host.cpu import cpu_identity
from runner.recipe.devices import base, parse

_DEVICE_NODE_DIRS = ("/dev/dri", "/dev/accel")


def stamp() -> dict[str, Any]:
    nodes: list[str] = []
    for d in _DEVICE_NODE_DIRS:
        with contextlib.suppress(OSError):
            nodes.extend(f"{d}/{n}" for n in sorted(os.listdir(d)))
    return {
        "probe_format": 3,  # 3: meta plugins and driver versions too; older memos re-probe
        "openvino": lib_version("openvino"),
        "host": hostname(),
        "cpu": cpu_identity(),
        "device_nodes": nodes,
    }


def _memo_file(cache_root: Path) -> Path:
    return cache_root / "memo" / f"devices-{hostname()}.json"


def memoized(cache_root: Path) -> dict[str, Any] | None:
    """The last probe of this host if nothing relevant changed since; never imports openvino."""
    try:
        saved = json.loads(_memo_file(cache_root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return saved.get("probe") if saved.get("stamp") == stamp() else None


def probe_in_child(cache_root: Path, timeout_s: float = 300.0) -> dict[str, Any] | None:
    """Probe and memoize this host's devices in a child process; None if that fails.

    For `plan` and `explain` on a host not probed yet: a measurement's key holds the
    hardware fingerprint, which only OpenVINO can read. The probe runs once per host and
    cache (then the memo answers) and openvino is never imported in this process, so the
    command stays light and a fully cached plan stays as fast as before."""
    import subprocess
    import sys

    try:
        subprocess.run(
            [sys.executable, "-m", "runner.adapters.devices", str(cache_root)],
            check=True,
            capture_output=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # plan still works: bench cells show "not probed yet"
    return memoized(cache_root)


def remember(cache_root: Path, found: dict[str, Any]) -> None:
    """Memoize a probe (made by `runner.adapters.devices.probe`) for this host's later runs."""
    path = _memo_file(cache_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        path, json.dumps({"stamp": stamp(), "probe": found}, sort_keys=True, default=str)
    )


def _present(device: str, available: list[str]) -> bool:
    """``GPU`` is present when any GPU is; ``GPU.1`` only when that one is."""
    return device in available or (
        device == base(device) and device in {base(d) for d in available}
    )


def present_members(device: str, available: list[str]) -> list[str]:
    """The devices a meta-device would use here: its listed members that are present (bare
    ``AUTO`` / ``MULTI`` / ``HETERO``: every available device); ``[device]`` for a physical one."""
    name = parse(device)
    if name.meta is None:
        return [device] if _present(device, available) else []
    if not name.members:
        return list(available)
    return [m for m in name.members if _present(m, available)]


def compile_name(device: str, available: list[str]) -> str:
    """What to hand OpenVINO for ``device`` on this host.

    ``AUTO:GPU,CPU`` means "the best of these": OpenVINO fails to compile it when the GPU
    plugin cannot load, so AUTO gets only its present members (``AUTO:CPU``) and records
    what it used. HETERO and MULTI are kept as written: they need every member."""
    name = parse(device)
    if name.meta == "AUTO" and name.members:
        return "AUTO:" + ",".join(present_members(device, available))
    return device


def unavailable_reason(device: str, available: list[str]) -> str | None:
    """None when ``device`` can run here, else the reason shown to the user."""
    shown = ", ".join(available) or "none"
    name = parse(device)
    present = present_members(device, available)
    if name.meta is None or not name.members:
        return None if present else f"device {device} not available (available: {shown})"
    if name.meta == "AUTO":
        # AUTO picks among the listed devices; one present is enough
        if present:
            return None
        return f"device {device}: no listed device is available (available: {shown})"
    missing = [m for m in name.members if m not in present]
    if missing:
        return f"device {device} needs {', '.join(missing)}, not available (available: {shown})"
    return None


def hostname() -> str:
    """socket.gethostname() without importing socket: on POSIX both read uname's nodename."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()
