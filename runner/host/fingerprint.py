"""The hardware a measurement is keyed on, read from the memoized device probe (no openvino).

Throughput measured on one machine is not a fact about another: a `bench:` cell's key holds
the fingerprint of the device it measures, so a shared or copied cache hands a figure only
to a host of the same hardware class. Only what changes the kernels OpenVINO picks is in it
(CPU model, cores, the INT8 / BF16 ISA flags, OpenVINO's device name and capabilities, the
GPU / NPU driver), not the host name or the OS: identical machines share their figures."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from runner.host.devices import present_members
from runner.recipe.devices import base, parse, probed_info

_DRIVER_PROPERTIES = ("GPU_DRIVER_VERSION", "NPU_DRIVER_VERSION")


def device_fingerprint(device: str, host: dict[str, Any] | None) -> dict[str, Any] | None:
    """The fingerprint of ``device`` on the probed host; None when the host is not probed
    (`plan` before any run) or the device is not present (its cells are skipped)."""
    if not host or not isinstance(host.get("host"), dict) or host.get("devices") is None:
        return None
    available = list(host.get("available_devices") or [])
    members = present_members(device, available)
    if not members:
        return None
    prints = {m: _member(m, host) for m in members}
    name = parse(device)
    if name.meta is None:
        return prints[device]
    return {"meta": name.meta, "members": prints}


def _member(device: str, host: dict[str, Any]) -> dict[str, Any]:
    info = probed_info(host["devices"], device) or {}
    found: dict[str, Any] = {
        "device_name": info.get("FULL_DEVICE_NAME"),
        "capabilities": sorted(info.get("OPTIMIZATION_CAPABILITIES") or []),
    }
    if base(device) == "CPU":
        cpu = host["host"]
        found |= {
            "cpu_model": cpu.get("cpu_model"),
            "cores": cpu.get("cores"),
            "physical_cores": cpu.get("physical_cores"),
            "cpu_flags": cpu.get("cpu_flags_relevant"),
        }
    else:
        found["driver"] = next((info[p] for p in _DRIVER_PROPERTIES if p in info), None)
    return found


def flatten(fingerprint: dict[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """``{"members": {"CPU": {"cores": 8}}}`` -> ``{"members.CPU.cores": 8}``, for messages."""
    flat: dict[str, Any] = {}
    for name, value in (fingerprint or {}).items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{name}.")
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def machine_tag(fingerprint: dict[str, Any]) -> str:
    """A short name for one device's hardware fingerprint (a Dask resource name part)."""
    text = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def member_tags(fingerprint: dict[str, Any]) -> list[str]:
    """The tags of the physical devices a fingerprint describes (a meta device's members)."""
    if "meta" in fingerprint and isinstance(fingerprint.get("members"), dict):
        return sorted(machine_tag(m) for m in fingerprint["members"].values())
    return [machine_tag(fingerprint)]


def cluster_fingerprint(device: str, probes: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The fingerprint a cluster's measuring task on ``device`` is keyed on: that of the
    workers' hardware most of the workers having the device share (ties: the smallest tag),
    so the figure is measured on exactly that hardware (the executor routes it there)."""
    prints = [device_fingerprint(device, probe) for probe in probes.values()]
    found = [f for f in prints if f is not None]
    if not found:
        return None
    counts = Counter(json.dumps(f, sort_keys=True, default=str) for f in found)
    best = min(counts, key=lambda text: (-counts[text], machine_tag(json.loads(text))))
    return json.loads(best)
