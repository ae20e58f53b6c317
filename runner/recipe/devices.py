"""Device names as a recipe writes them: a physical device (``CPU``, ``GPU.1``, ``NPU``) or a
meta-device with an optional list (``AUTO``, ``AUTO:GPU,CPU``, ``HETERO:GPU,CPU``,
``MULTI:GPU,CPU``). Parsed here once so the planner, the property check and the adapters
read a list the same way. Imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

META = ("AUTO", "HETERO", "MULTI")


@dataclass(frozen=True)
class DeviceName:
    """A device as a recipe names it, parsed once (meta device and its members)."""

    text: str  # as written: "AUTO:GPU,CPU"
    meta: str | None  # "AUTO" / "HETERO" / "MULTI", None for a physical device
    members: tuple[str, ...]  # the list after ':' ("GPU", "CPU"); () for bare AUTO / CPU

    @property
    def plugin(self) -> str:
        """The name OpenVINO answers property queries for: ``core.get_property`` raises on
        ``AUTO:GPU,CPU`` but answers for the plugin ``AUTO`` itself."""
        return self.meta or self.text


def parse(device: str) -> DeviceName:
    head, sep, tail = device.partition(":")
    if head in META:
        members = tuple(m.strip() for m in tail.split(",") if m.strip()) if sep else ()
        return DeviceName(device, head, members)
    return DeviceName(device, None, ())


def base(device: str) -> str:
    """``GPU.1`` -> ``GPU``: the device class a probe lists capabilities for."""
    return device.split(".")[0]


def probed_info(devices: dict[str, Any], device: str) -> dict[str, Any] | None:
    """A device's entry in a probe's ``devices``: a probe lists ``GPU.0`` / ``GPU.1`` where a
    recipe may say ``GPU`` (the first one stands for the class)."""
    if device in devices:
        return devices[device]
    return next((info for name, info in sorted(devices.items()) if base(name) == device), None)
