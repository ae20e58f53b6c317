"""What hardware a benchmark ran on: OpenVINO devices plus a host fingerprint.

Benchmark figures are meaningless without the machine that produced them, so every
benchmark result and report carries this record. :func:`fingerprint_without_openvino`
exists for callers (``ovrun plan``, reports) that must not import openvino.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from runner.errors import OvrunError

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


class DeviceUnavailable(OvrunError):
    """The recipe targets a device this host does not have."""


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


def fingerprint_without_openvino() -> dict[str, Any]:
    """Host CPU / OS facts, readable without importing openvino."""
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


def _device_info(core: Any, device: str) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for name in ("FULL_DEVICE_NAME", "OPTIMIZATION_CAPABILITIES", "SUPPORTED_PROPERTIES"):
        try:
            value = core.get_property(device, name)
        except RuntimeError:
            continue  # a plugin may not report every property
        if name == "OPTIMIZATION_CAPABILITIES":
            info[name] = list(value)
        elif name == "SUPPORTED_PROPERTIES":
            # name -> RO / RW / WO: lets `ovrun plan` check property names without openvino
            info[name] = {str(k): str(v) for k, v in dict(value).items()}
        else:
            info[name] = str(value)
    return info


def probe() -> dict[str, Any]:
    """OpenVINO version, its devices with their capabilities, and the host fingerprint."""
    import openvino as ov

    core = ov.Core()
    available = list(core.available_devices)
    return {
        "openvino": ov.get_version(),
        "available_devices": available,
        "devices": {device: _device_info(core, device) for device in available},
        "host": fingerprint_without_openvino(),
    }


def require_device(core: Any, device: str) -> None:
    """Raise DeviceUnavailable unless ``device`` can run on this host.

    The rule (e.g. ``AUTO:GPU,CPU`` needs one listed device, ``HETERO:`` all of them) is
    the planner's, so a benchmark never disagrees with what ``ovrun plan`` reported.
    """
    from runner.hostinfo import unavailable_reason

    reason = unavailable_reason(device, list(core.available_devices))
    if reason is not None:
        raise DeviceUnavailable(
            reason,
            hint="install the device's driver/plugin on this host, "
            "or remove it from targets.devices",
        )
