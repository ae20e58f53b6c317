"""The benchmark matrix: `targets:` × `benchmark:` lists expanded into cells.

A cell is one device × hint × precision × streams × threads × batch × seq_len combination;
each variant is benchmarked once per cell. Cell ids are readable: ``CPU:THROUGHPUT`` plus a
segment for every dimension the recipe lists more than one value for (``bf16``, ``s4``,
``t2``, ``b8``, ``l128``), so a recipe without lists keeps the short ids. Imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING, Any

from runner.core.errors import OvrunError, closest
from runner.recipe.devices import parse, probed_info

if TYPE_CHECKING:
    from runner.recipe.spec import Recipe

# Matrix dimension -> the OpenVINO property it sets (None: an input shape, not a property).
DIMENSIONS = {
    "precision": "INFERENCE_PRECISION_HINT",
    "streams": "NUM_STREAMS",
    "threads": "INFERENCE_NUM_THREADS",
    "batch": None,
    "seq_len": None,
}
_RECIPE_PATH = {
    "precision": ("targets", "precisions"),
    "streams": ("targets", "streams"),
    "threads": ("targets", "threads"),
    "batch": ("benchmark", "batch"),
    "seq_len": ("benchmark", "seq_len"),
}
_PREFIX = {"precision": "", "streams": "s", "threads": "t", "batch": "b", "seq_len": "l"}


@dataclass(frozen=True)
class Cell:
    """One benchmark cell of the matrix: device, hint, dims and compile properties."""

    device: str
    hint: str
    dims: dict[str, Any]  # precision / streams / threads (None = unset), batch, seq_len
    properties: dict[str, Any]  # what compile_model gets besides PERFORMANCE_HINT
    id: str  # "CPU:LATENCY" or "CPU:LATENCY:bf16:b8"

    def labels(self) -> dict[str, Any]:
        return {"device": self.device, "hint": self.hint, "cell": self.id, **self.dims}


def _lists(recipe: Recipe) -> dict[str, list[Any]]:
    t, b = recipe.targets, recipe.benchmark
    return {
        "precision": list(t.precisions),
        "streams": list(t.streams),
        "threads": list(t.threads),
        "batch": list(b.batches),
        "seq_len": list(b.seq_lens),
    }


def cells(recipe: Recipe) -> list[Cell]:
    """Every benchmark cell of ``recipe`` in a stable order (devices, hints, then dimensions)."""
    lists = _lists(recipe)
    varying = [name for name, values in lists.items() if len(values) > 1]
    out: list[Cell] = []
    for device, hint in product(recipe.targets.devices, recipe.targets.hints):
        for combo in product(*lists.values()):
            dims = dict(zip(lists, combo, strict=True))
            props = dict(recipe.targets.properties)
            for name, prop in DIMENSIONS.items():
                if prop and dims[name] is not None:
                    props[prop] = dims[name]
            parts = [device, hint] + [f"{_PREFIX[n]}{dims[n]}" for n in varying]
            out.append(Cell(device, hint, dims, dict(sorted(props.items())), ":".join(parts)))
    return out


def check_matrix(recipe: Recipe) -> None:
    """A property may be set by a matrix list or by targets.properties, never both."""
    props = recipe.targets.properties
    if "PERFORMANCE_HINT" in props:
        raise OvrunError(
            "PERFORMANCE_HINT belongs in targets.hints, not targets.properties",
            hint="list the hints under targets.hints",
            location=recipe.location("targets", "properties", "PERFORMANCE_HINT", key=True),
        )
    lists = _lists(recipe)
    for name, prop in DIMENSIONS.items():
        if prop and prop in props and lists[name] != [None]:
            raise OvrunError(
                f"{prop} is set both in targets.properties and by targets.{_RECIPE_PATH[name][1]}",
                hint=f"keep one: targets.{_RECIPE_PATH[name][1]} benchmarks each value as a cell",
                location=recipe.location("targets", "properties", prop, key=True),
            )


def _settable(device_info: dict[str, Any] | None) -> dict[str, str] | None:
    supported = (device_info or {}).get("SUPPORTED_PROPERTIES")
    return supported if isinstance(supported, dict) else None


def accepted_properties(device: str, host: dict[str, Any]) -> dict[str, str] | None:
    """Property name -> RW / RO for what ``device`` accepts at compile time, from a probe;
    None when the probe cannot tell (not probed, an older memo, no member present).

    A meta-device accepts its plugin's own properties (``AUTO``'s SUPPORTED_PROPERTIES:
    OpenVINO answers for ``AUTO`` but raises for ``AUTO:GPU,CPU``) and forwards the rest to
    its members, so it also accepts what every member it would use here can set. AUTO
    itself forwards unknown names silently (a typo compiles and does nothing), hence the
    check against the members rather than trusting the compile."""
    devices = host.get("devices") or {}
    name = parse(device)
    if name.meta is None:
        return _settable(probed_info(devices, device))
    meta = _settable((host.get("meta_devices") or {}).get(name.meta))
    available = host.get("available_devices")
    if meta is None or available is None:
        return None
    members = name.members or tuple(available)
    present = [m for m in members if probed_info(devices, m) is not None]
    tables = [_settable(probed_info(devices, m)) for m in present]
    if not tables or any(t is None for t in tables):
        return None
    accepted = dict(meta)
    writable = set.intersection(*({n for n, m in t.items() if m != "RO"} for t in tables if t))
    for table in tables:
        for prop in table or {}:
            accepted.setdefault(prop, "RW" if prop in writable else "RO")
    for prop in writable:
        accepted[prop] = "RW"
    return accepted


def check_properties(recipe: Recipe, host: dict[str, Any] | None) -> None:
    """Plan-time check of every compile property name against the probed device.

    Devices absent from the probe are not checked (their cells are skipped anyway); a
    meta-device (``AUTO:GPU,CPU``) is checked against what it and its present members
    accept (`accepted_properties`). Uses the memoized probe: no openvino import."""
    if not host:
        return
    for device in recipe.targets.devices:
        supported = accepted_properties(device, host)
        if supported is None:
            continue
        for cell in cells(recipe):
            if cell.device != device:
                continue
            for name in cell.properties:
                mode = supported.get(name)
                if mode is not None and mode != "RO":
                    continue
                dim = next((d for d, p in DIMENSIONS.items() if p == name), None)
                if dim and name not in recipe.targets.properties:
                    where = recipe.location(*_RECIPE_PATH[dim])
                else:
                    where = recipe.location("targets", "properties", name, key=True)
                writable = sorted(n for n, m in supported.items() if m != "RO")
                close = _close(name, writable)
                problem = "is read-only" if mode == "RO" else "is not supported"
                raise OvrunError(
                    f"property {name} {problem} on device {device}",
                    hint=f"did you mean {close}?"
                    if close
                    else f"settable {device} properties: {', '.join(writable)}",
                    location=where,
                )


def _close(name: str, choices: list[str]) -> str | None:
    return closest(name, choices)
