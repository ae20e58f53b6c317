"""Plan-time device lint: compression and precision choices known not to work, or not to
help, on the recipe's target devices. Runs when the recipe loads (validate, plan, run), so
nothing is exported or compressed first. Errors are exit 2; warnings print one line each,
``FILE:LINE:COL: warning: ...`` plus a hint, and the run continues.

Only plain file reads here: a local model's ``config.json`` is read with json (never
transformers) to check group sizes against the hidden dimensions.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.core.errors import Location, OvrunError

if TYPE_CHECKING:
    from runner.recipe.spec import Recipe

# INFERENCE_PRECISION_HINT values each plugin accepts (OpenVINO device docs).
PRECISIONS = {"CPU": ("f32", "bf16", "f16"), "GPU": ("f32", "f16"), "NPU": ("f16",)}
# MX formats share one scale per 32 weights, NVFP4 per 16: NNCF accepts no other group size.
FIXED_GROUP = {"mxfp4": 32, "mxfp8_e4m3": 32, "nvfp4": 16}
_EIGHT_BIT = ("int8_sym", "int8_asym")


@dataclass(frozen=True)
class Finding:
    """One lint result, with its severity and position."""

    severity: str  # error | warning
    message: str
    hint: str
    location: Location

    def render(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}\nhint: {self.hint}"


def _family(device: str) -> str:
    return device.split(".")[0].split(":")[0]


def lint(recipe: Recipe) -> list[Finding]:
    found: list[Finding] = []
    devices = {_family(d) for d in recipe.targets.devices}
    found += _precision_findings(recipe, devices)
    dims = hidden_dims(recipe)
    for name, variant in recipe.variants.items():
        where = ("variants", name)
        for settings, paths in _weight_settings(variant):
            found += _weight_findings(recipe, settings, where, paths, devices, dims)
        q = variant.quantize
        if q is not None and q.get("mode") and devices <= {"CPU"}:
            found.append(
                Finding(
                    "warning",
                    f"FP8 quantization ({q['mode']}) is emulated on CPU: expect no speedup",
                    "FP8 FakeConvert runs natively on hardware with FP8 support; "
                    "use INT8 (no mode:) for CPU",
                    recipe.location(*where, "quantize", "mode"),
                )
            )
        if q is not None and q.get("target_device") not in (None, "ANY"):
            target = q["target_device"].replace("CPU_SPR", "CPU")
            if target not in devices:
                found.append(
                    Finding(
                        "warning",
                        f"quantize tunes for target_device {q['target_device']}, "
                        f"but targets.devices has no {target}",
                        "set target_device to ANY or to the device you benchmark",
                        recipe.location(*where, "quantize", "target_device"),
                    )
                )
    return found


def _weight_settings(variant: Any) -> list[tuple[dict[str, Any], dict[str, tuple]]]:
    """The compress_weights settings to check, each with the recipe path of its options:
    the variant's own, and each search candidate value (pointing at that list item)."""
    out: list[tuple[dict[str, Any], dict[str, tuple]]] = []
    base = variant.compress_weights or {}
    own = {key: ("compress_weights", key) for key in ("mode", "group_size")}
    if variant.compress_weights is not None and not variant.search:
        out.append((base, own))
    search = variant.search or {}
    modes = list(enumerate(search.get("mode", []))) or [(None, base.get("mode", "int8_asym"))]
    groups = list(enumerate(search.get("group_size", []))) or [(None, base.get("group_size", 128))]
    if search:
        for mi, mode in modes:
            for gi, group in groups:
                paths = {
                    "mode": ("search", "mode", mi) if mi is not None else own["mode"],
                    "group_size": ("search", "group_size", gi)
                    if gi is not None
                    else own["group_size"],
                }
                out.append(({**base, "mode": mode, "group_size": group}, paths))
    return out


def _weight_findings(
    recipe: Recipe,
    s: dict[str, Any],
    where: tuple,
    paths: dict[str, tuple],
    devices: set[str],
    dims: dict[str, int],
) -> list[Finding]:
    found = []
    mode = s.get("mode", "int8_asym")

    def loc(key: str) -> Location:
        return recipe.location(*where, *paths[key])

    if "NPU" in devices and mode == "int4_asym":
        found.append(
            Finding(
                "warning",
                "NPU runs INT4 weights only in symmetric form; int4_asym layers fall back or fail",
                "use mode: int4_sym for NPU targets",
                loc("mode"),
            )
        )
    if mode in _EIGHT_BIT:
        return found
    group = s.get("group_size", 128)
    fixed = FIXED_GROUP.get(mode)
    if fixed is not None and group != fixed:
        found.append(
            Finding(
                "error",
                f"mode {mode} needs group_size {fixed}, got {group}",
                f"set group_size: {fixed}",
                loc("group_size"),
            )
        )
    elif group not in (-1, None) and dims:
        bad = {name: size for name, size in dims.items() if size % group}
        if bad:
            listed = ", ".join(f"{name} {size}" for name, size in bad.items())
            found.append(
                Finding(
                    "error",
                    f"group_size {group} does not divide the model's {listed}",
                    f"use a group size that divides {', '.join(map(str, dims.values()))}, or -1",
                    loc("group_size"),
                )
            )
    return found


def _precision_findings(recipe: Recipe, devices: set[str]) -> list[Finding]:
    found = []
    asked = []
    hint = recipe.targets.properties.get("INFERENCE_PRECISION_HINT")
    if hint:
        asked.append((str(hint), ("targets", "properties", "INFERENCE_PRECISION_HINT")))
    for index, precision in enumerate(getattr(recipe.targets, "precisions", None) or []):
        if precision:
            asked.append((precision, ("targets", "precisions", index)))
    for precision, path in asked:
        for device in sorted(devices):
            allowed = PRECISIONS.get(device)
            if allowed and precision.lower() not in allowed:
                found.append(
                    Finding(
                        "warning",
                        f"{device} does not support INFERENCE_PRECISION_HINT {precision}",
                        f"{device} takes {', '.join(allowed)}; its cells will fail or ignore it",
                        recipe.location(*path),
                    )
                )
    return found


def hidden_dims(recipe: Recipe) -> dict[str, int]:
    """hidden_size / intermediate_size from a local model's config.json; {} when unknown."""
    local = getattr(recipe.model.source, "local_dir", None)
    if not local:
        return {}
    config = Path(local) / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    text = data.get("text_config") if isinstance(data.get("text_config"), dict) else data
    return {
        key: text[key]
        for key in ("hidden_size", "intermediate_size")
        if isinstance(text.get(key), int) and text[key] > 0
    }


def check(recipe: Recipe, stream: Any = None) -> list[Finding]:
    """Raise the first error; print every warning. Returns the warnings."""
    findings = list(dict.fromkeys(lint(recipe)))  # search combinations repeat a finding
    for finding in findings:
        if finding.severity == "error":
            raise OvrunError(finding.message, hint=finding.hint, location=finding.location)
    warnings = [f for f in findings if f.severity == "warning"]
    for finding in warnings:
        print(finding.render(), file=stream or sys.stderr)
    return warnings
