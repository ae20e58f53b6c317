"""What machine a figure was measured on, read without importing openvino: the CPU model,
cores and the ISA flags that decide whether INT8 / BF16 kernels have hardware support."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# CPU flags that decide whether INT8 / BF16 kernels have hardware support.
RELEVANT_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_int8",
    "amx_bf16",
    "amx_fp16",
)
_INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
_X86_MACHINES = {"x86_64", "amd64", "i386", "i686", "x86"}
_CPUINFO = Path("/proc/cpuinfo")


def _read_cpuinfo() -> dict[str, str] | None:
    """The first processor block of /proc/cpuinfo as key -> value, None off Linux."""
    try:
        text = _CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    info: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if info:
                break  # one block is enough: every core reports the same model and flags
            continue
        key, sep, value = line.partition(":")
        if sep:
            info.setdefault(key.strip(), value.strip())
    return info


def _physical_cores() -> int | None:
    """Distinct (socket, core) pairs in /proc/cpuinfo; None when it does not say."""
    try:
        text = _CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    pairs, socket_id = set(), ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            socket_id = value.strip()
        elif key == "core id":
            pairs.add((socket_id, value.strip()))
    return len(pairs) or None


def cpu_identity() -> dict[str, Any]:
    """Model, logical cores and relevant flags from the first /proc/cpuinfo block: cheap
    enough for every plan, and enough to tell a copied cache's memo from this CPU's."""
    info = _read_cpuinfo() or {}
    flags = set(info.get("flags", "").split())
    return {
        "model": info.get("model name") or _machine(),
        "cores": os.cpu_count(),
        "flags": [f for f in RELEVANT_FLAGS if f in flags],
    }


def _machine() -> str:
    """platform.machine() without importing platform (~4 ms of regexes) where os.uname exists."""
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.machine()


def fingerprint_without_openvino() -> dict[str, Any]:
    """Host CPU / OS facts, readable without importing openvino."""
    import platform

    info = _read_cpuinfo()
    flags = set((info or {}).get("flags", "").split())
    model = (info or {}).get("model name") or platform.processor() or platform.machine()
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "physical_cores": _physical_cores(),
        "machine": platform.machine(),
        # None means "not known" (no /proc/cpuinfo), which differs from "no flags present".
        "cpu_flags_relevant": [f for f in RELEVANT_FLAGS if f in flags] if info else None,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def int8_acceleration(fingerprint: dict[str, Any]) -> str | None:
    """A one-sentence warning when the CPU has no INT8 dot-product instructions, else None.

    Only x86 hosts with a known flag list are judged: other architectures have their
    own INT8 paths and an unknown flag list proves nothing.
    """
    flags = fingerprint.get("cpu_flags_relevant")
    if flags is None or str(fingerprint.get("machine", "")).lower() not in _X86_MACHINES:
        return None
    if any(flag in flags for flag in _INT8_FLAGS):
        return None
    return (
        f"CPU {fingerprint.get('cpu_model', 'unknown')!s} has no VNNI or AMX instructions, "
        "so INT8 models will likely not run faster than FP32 on it."
    )
