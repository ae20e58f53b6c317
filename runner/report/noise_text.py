"""The table cells that carry noise: a cell's spread over its repeats and its ratio to the
reference with the verdict (significant / within noise / noise not measured). Shared by the
inference table and the LLM generation table."""

from __future__ import annotations

from typing import Any


def spread_text(row: dict[str, Any]) -> str:
    """Interleaved rounds: the 95% throughput interval as ±relative half-width, flagged when
    max_s stopped the group short of target_ci. Older rows: the repeats' ±half-range %, or
    '1 run' when not measured."""
    ci = row.get("throughput_ci")
    if ci is not None:
        text = f"±{ci['rel_half_width'] * 100:.1f}%"
        if ci["confidence"] < 0.95:
            text += f" [dim]({ci['n']} rounds: {ci['confidence']:.0%})[/]"
        if (row.get("measurement") or {}).get("ci_reached") is False:
            text += " [yellow]ci_not_reached[/]"
        return text
    runs = row.get("repeats") or []
    spread = (row.get("spread") or {}).get("throughput")
    if len(runs) < 2 or not spread:
        return "1 run"
    return f"±{spread['relative'] * 50:.1f}%"


def speedup_text(row: dict[str, Any]) -> str:
    value = row.get("speedup_vs_reference")
    if value is None:
        return "-"
    verdict = row.get("speedup_verdict")
    if verdict is None:
        return f"{value:.2f}×"
    style = {"significant": "bold", "within noise": "dim"}.get(verdict, "dim")
    old = " old rule" if (row.get("speedup_method") or "").startswith("min-max") else ""
    return f"{value:.2f}× [{style}]({verdict}{old})[/]"


def ort_speedup_text(row: dict[str, Any]) -> str:
    """An OpenVINO cell's throughput over the ONNX Runtime cell of the same shape."""
    value = row.get("speedup_vs_onnxruntime")
    if value is None:
        return "-"
    verdict = row.get("speedup_vs_onnxruntime_verdict") or "noise not measured"
    style = {"significant": "bold", "within noise": "dim"}.get(verdict, "dim")
    return f"{value:.2f}× [{style}]({verdict})[/]"
