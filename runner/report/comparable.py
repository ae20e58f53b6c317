"""Whether two runs measured the same thing: one `Difference` per field that differs, each
naming both values, so `ovrun compare` can say *why* a ratio may mean nothing.

Some differences make a ratio meaningless as a verdict (a different model, a different
machine, a different input shape): the cells they touch read "not comparable (...)" unless the
user allows that kind (`--allow-different`). Others are what a comparison is usually *for*
(another IR of the same model, other properties, other library versions): they are warned
about and the verdict stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.host.fingerprint import device_fingerprint, flatten

# kinds that withhold a verdict unless allowed; the rest only warn
BLOCKING = ("models", "hosts", "shapes")
KINDS = (*BLOCKING, "irs", "properties", "software")
_MODEL_FIELDS = ("kind", "ref", "revision", "commit", "digest", "task")
_SHAPE_FIELDS = ("batch", "seq_len", "input_shapes")


@dataclass(frozen=True)
class Difference:
    kind: str  # one of KINDS
    what: str  # the field, e.g. "model ref", "CPU cpu_model", "batch"
    a: Any
    b: Any
    cell: str | None = None  # a bench task id, or None for the whole run

    def line(self) -> str:
        where = f" in {self.cell.removeprefix('bench:')}" if self.cell else ""
        return f"different {self.what}{where}: A {_shown(self.a)} vs B {_shown(self.b)}"

    def as_json(self, allowed: set[str]) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "what": self.what,
            "cell": self.cell,
            "a": self.a,
            "b": self.b,
            "blocking": self.kind in BLOCKING and self.kind not in allowed,
            "line": self.line(),
        }


def _shown(value: Any) -> str:
    if value is None:
        return "(not recorded)"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(none)"
    return str(value)


def run_differences(a: dict[str, Any], b: dict[str, Any]) -> list[Difference]:
    """Differences of the whole run: model, host hardware, library versions."""
    return [*_model(a, b), *_hardware(a, b), *_software(a, b)]


def _model(a: dict[str, Any], b: dict[str, Any]) -> list[Difference]:
    ma, mb = a.get("model"), b.get("model")
    if not ma or not mb:
        return []  # an older results.json: the cells' IRs speak for it (cell_differences)
    return [
        Difference("models", f"model {name}", ma.get(name), mb.get(name))
        for name in _MODEL_FIELDS
        if ma.get(name) != mb.get(name)
    ]


def _cpu(doc: dict[str, Any]) -> dict[str, Any]:
    host = doc.get("host") or {}
    found = flatten(device_fingerprint("CPU", host))
    if not found:  # not probed through the devices memo: the CPU fields alone
        cpu = host.get("host") or {}
        found = {k: cpu.get(k) for k in ("cpu_model", "cores", "cpu_flags_relevant")}
    return found


def _hardware(a: dict[str, Any], b: dict[str, Any]) -> list[Difference]:
    ca, cb = _cpu(a), _cpu(b)
    out = [
        Difference("hosts", f"CPU {name}", ca.get(name), cb.get(name))
        for name in dict.fromkeys([*ca, *cb])
        if ca.get(name) != cb.get(name)
    ]
    da, db = (a.get("host") or {}).get("devices") or {}, (b.get("host") or {}).get("devices") or {}
    for name in sorted(set(da) & set(db) - {"CPU"}):
        for field in ("FULL_DEVICE_NAME", "OPTIMIZATION_CAPABILITIES"):
            if da[name].get(field) != db[name].get(field):
                out.append(
                    Difference("hosts", f"{name} {field}", da[name].get(field), db[name].get(field))
                )
    return out


def _software(a: dict[str, Any], b: dict[str, Any]) -> list[Difference]:
    ha, hb = a.get("host") or {}, b.get("host") or {}
    va = {
        "openvino": ha.get("openvino"),
        "OS": (ha.get("host") or {}).get("os"),
        **(ha.get("versions") or {}),
    }
    vb = {
        "openvino": hb.get("openvino"),
        "OS": (hb.get("host") or {}).get("os"),
        **(hb.get("versions") or {}),
    }
    return [
        Difference("software", name, va.get(name), vb.get(name))
        for name in dict.fromkeys([*va, *vb])
        if va.get(name) != vb.get(name)
    ]


def cell_differences(
    ra: dict[str, Any], rb: dict[str, Any], models_known: bool
) -> list[Difference]:
    """Differences of one cell present in both runs: shape, IR, properties.

    ``models_known``: both runs record their model. When one does not (an older results.json),
    a different IR may be a different model, so it withholds the verdict like one."""
    task = ra["task"]
    out = [
        Difference("shapes", name, ra.get(name), rb.get(name), task)
        for name in _SHAPE_FIELDS
        if ra.get(name) is not None and rb.get(name) is not None and ra.get(name) != rb.get(name)
    ]
    ir_kind = "irs" if models_known else "models"
    if ra.get("ir_digest") and rb.get("ir_digest"):
        if ra["ir_digest"] != rb["ir_digest"]:
            out.append(
                Difference(ir_kind, "IR digest", ra["ir_digest"][:12], rb["ir_digest"][:12], task)
            )
    elif ra.get("size_bytes") and rb.get("size_bytes") and ra["size_bytes"] != rb["size_bytes"]:
        # no digest recorded: the size still tells two IRs apart
        out.append(Difference(ir_kind, "IR size (bytes)", ra["size_bytes"], rb["size_bytes"], task))
    for field, label in (
        ("properties_requested", "requested"),
        ("resolved_properties", "resolved"),
    ):
        pa, pb = ra.get(field) or {}, rb.get(field) or {}
        out += [
            Difference("properties", f"{label} {name}", pa.get(name), pb.get(name), task)
            for name in sorted(set(pa) | set(pb))
            if pa.get(name) != pb.get(name)
        ]
    return out


def blocking_kinds(differences: list[Difference], allowed: set[str]) -> list[str]:
    """The kinds among ``differences`` that withhold a verdict, in BLOCKING order."""
    found = {d.kind for d in differences}
    return [k for k in BLOCKING if k in found and k not in allowed]


def not_comparable(kinds: list[str]) -> str:
    names = {"models": "model", "hosts": "host", "shapes": "shape"}
    return f"not comparable (different {', '.join(names[k] for k in kinds)})"
