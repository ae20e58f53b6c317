"""OpenVINO's view of this host's devices: the probe behind `runner.host.devices` and the
device check every measuring op makes before it compiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.core.errors import OvrunError
from runner.host.cpu import fingerprint_without_openvino
from runner.host.devices import memoized, remember, unavailable_reason


class DeviceUnavailable(OvrunError):
    """The recipe targets a device this host does not have."""


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
    reason = unavailable_reason(device, list(core.available_devices))
    if reason is not None:
        raise DeviceUnavailable(
            reason,
            hint="install the device's driver/plugin on this host, "
            "or remove it from targets.devices",
        )


def device_names() -> list[str]:
    """Physical device names OpenVINO sees here (``GPU.0`` -> ``GPU``), for a Dask worker."""
    import openvino as ov

    return sorted({d.split(".")[0] for d in ov.Core().available_devices})


def probe_memoized(cache_root: Path) -> dict[str, Any]:
    """This host's probe: the memo when nothing relevant changed, else a fresh probe, kept."""
    found = memoized(cache_root)
    if found is None:
        found = probe()
        remember(cache_root, found)
    return found
