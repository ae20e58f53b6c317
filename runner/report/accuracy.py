"""Accuracy under the precision that will run: which figures a gate or an ``assert:`` reads,
and the lines under the table that show both precisions (or say they are one)."""

from __future__ import annotations

from typing import Any

# assert: metric -> (which evaluation, which figure); plain names read the deployed precision
ACCURACY_METRICS = {
    "accuracy": ("deployed", "value"),
    "accuracy_drop": ("deployed", "accuracy_drop"),
    "accuracy_min": ("deployed", "min"),
    "accuracy_p05": ("deployed", "p05"),
    "compression_accuracy": ("compression", "value"),
    "compression_accuracy_drop": ("compression", "accuracy_drop"),
    "compression_accuracy_min": ("compression", "min"),
    "compression_accuracy_p05": ("compression", "p05"),
}


def gate_figures(ev: dict[str, Any], on: str) -> dict[str, Any]:
    """The figures a gate or an assert reads: the deployed precision's (the evaluation's top
    level) or, for ``compression``, those under the reference precision (f32: compression
    alone). An evaluation from before ovrun measured both has only the top level."""
    if on == "compression" and ev.get("compression"):
        return ev["compression"]
    precision = (ev.get("deployed") or {}).get("precision") or ev.get("inference_precision")
    return {**ev, "precision": precision}


def _figures(f: dict[str, Any]) -> str:
    text = f"mean {f['value']:.4f}" if f.get("value") is not None else "mean -"
    for key, label in (("min", "min"), ("p05", "p5")):
        if f.get(key) is not None:
            text += f", {label} {f[key]:.4f}"
    return text


def accuracy_lines(results: dict[str, Any]) -> list[str]:
    """Per evaluated variant: the deployed precision's mean and worst case, and the f32
    (compression alone) figures beside them, or one figure when both precisions coincide."""
    lines = []
    for variant, ev in sorted((results.get("evaluations") or {}).items()):
        deployed, alone = ev.get("deployed"), ev.get("compression")
        if not deployed or not alone:
            continue
        metric = ev.get("metric", "accuracy")
        if ev.get("same_precision"):
            lines.append(
                f"{variant} {metric} at {alone['precision']}: {_figures(alone)} "
                f"(the deployed precision is the reference precision here: one evaluation)"
            )
            continue
        lines.append(
            f"{variant} {metric} at {deployed['precision']} (deployed): {_figures(ev)} · "
            f"at {alone['precision']} (compression alone): {_figures(alone)}"
        )
    return lines
