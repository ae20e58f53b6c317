"""The table cells that carry noise: a cell's spread over its repeats and its ratio to the
reference with the verdict (significant / within noise / noise not measured). Shared by the
inference table and the LLM generation table."""

from __future__ import annotations

from typing import Any


def spread_text(row: dict[str, Any]) -> str:
    """Throughput range over repeats as ±half-range %, or '1 run' when not measured."""
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
    return f"{value:.2f}× [{style}]({verdict})[/]"


def ort_speedup_text(row: dict[str, Any]) -> str:
    """An OpenVINO cell's throughput over the ONNX Runtime cell of the same shape."""
    value = row.get("speedup_vs_onnxruntime")
    if value is None:
        return "-"
    verdict = row.get("speedup_vs_onnxruntime_verdict") or "noise not measured"
    style = {"significant": "bold", "within noise": "dim"}.get(verdict, "dim")
    return f"{value:.2f}× [{style}]({verdict})[/]"
