"""Requested vs resolved compile properties: a cell labelled ``s2`` that ran one stream
(``INFERENCE_NUM_THREADS: 1`` clamps it) is marked ``s2→1`` and said under the table."""

from __future__ import annotations

from typing import Any

# property -> the short label the table uses for it (runner.recipe.matrix prefixes)
_LABEL = {"NUM_STREAMS": "s", "INFERENCE_NUM_THREADS": "t", "INFERENCE_PRECISION_HINT": ""}
# requested values that ask the device to decide: any resolved value honours them
_DEVICE_DECIDES = {"NUM_STREAMS": ("AUTO", "-1"), "INFERENCE_NUM_THREADS": ("0",)}


def _norm(value: Any) -> str:
    return str(value).strip().lower()


def differences(row: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Property -> (requested, resolved) for each requested property the compiled model
    reports with another value."""
    requested = row.get("properties_requested") or {}
    resolved = row.get("resolved_properties") or {}
    out: dict[str, tuple[Any, Any]] = {}
    for name, want in sorted(requested.items()):
        if name not in resolved or _norm(want) in map(_norm, _DEVICE_DECIDES.get(name, ())):
            continue
        if _norm(want) != _norm(resolved[name]):
            out[name] = (want, resolved[name])
    return out


def mark(name: str, requested: Any, resolved: Any) -> str:
    """``s2→1``, ``t4→2``, ``bf16→f32``; other properties by name."""
    prefix = _LABEL.get(name)
    if prefix is None:
        return f"{name} {requested}→{resolved}"
    return f"{prefix}{requested}→{resolved}"


def marks(row: dict[str, Any]) -> list[str]:
    return [mark(name, *pair) for name, pair in differences(row).items()]


def resolved_lines(results: dict[str, Any]) -> list[str]:
    """One line per distinct (property, requested, resolved), with the cells it hit."""
    seen: dict[tuple[str, str, str], list[str]] = {}
    for row in results.get("benchmarks") or []:
        if row.get("status") != "ok":
            continue
        for name, (want, got) in differences(row).items():
            seen.setdefault((name, str(want), str(got)), []).append(row["task"])
    lines = []
    for (name, want, got), tasks in seen.items():
        shown = ", ".join(tasks[:3]) + (f", … (+{len(tasks) - 3})" if len(tasks) > 3 else "")
        lines.append(
            f"note: {name} requested {want} but the compiled model resolved {got} in "
            f"{len(tasks)} cell(s): {shown}"
        )
    return lines
