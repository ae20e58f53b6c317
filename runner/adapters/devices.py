"""OpenVINO's view of this host's devices: the probe behind `runner.host.devices` and the
device check every measuring op makes before it compiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.core.errors import OvrunError
from runner.host.cpu import fingerprint_without_openvino
from runner.host.devices import memoized, present_members, remember, unavailable_reason
from runner.recipe.devices import META, parse
from runner.recipe.matrix import accepted_properties


class DeviceUnavailable(OvrunError):
    """The recipe targets a device this host does not have."""


# What a probe reads per device: the capabilities the fingerprint keys measurements on
# (a driver update changes GPU/NPU kernels), and the settable properties `plan` checks.
_PROBED = (
    "FULL_DEVICE_NAME",
    "OPTIMIZATION_CAPABILITIES",
    "GPU_DRIVER_VERSION",
    "NPU_DRIVER_VERSION",
    "SUPPORTED_PROPERTIES",
)


def _device_info(core: Any, device: str, names: tuple[str, ...] = _PROBED) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for name in names:
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
        # the meta plugins' own settable properties: plan checks AUTO:GPU,CPU's against them
        "meta_devices": {
            meta: _device_info(core, meta, ("SUPPORTED_PROPERTIES",)) for meta in META
        },
        "host": fingerprint_without_openvino(),
    }


def settable_properties(core: Any, device: str) -> dict[str, str]:
    """Property name -> RO / RW as OpenVINO reports it for ``device``.

    For a meta-device the answer is the same rule `plan` applies to the probe
    (`runner.recipe.matrix.accepted_properties`): its plugin's own properties plus those
    every member it would use here accepts (they are forwarded to the members)."""
    available = list(core.available_devices)
    name = parse(device)
    if name.meta is None:
        return {
            str(k): str(v)
            for k, v in dict(core.get_property(device, "SUPPORTED_PROPERTIES")).items()
        }
    probed = {
        "devices": {
            m: _device_info(core, m, ("SUPPORTED_PROPERTIES",))
            for m in present_members(device, available)
        },
        "meta_devices": {name.meta: _device_info(core, name.meta, ("SUPPORTED_PROPERTIES",))},
        "available_devices": available,
    }
    return accepted_properties(device, probed) or {}


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


if __name__ == "__main__":  # `python -m runner.adapters.devices CACHE_ROOT`: see probe_in_child
    import sys

    probe_memoized(Path(sys.argv[1]))
