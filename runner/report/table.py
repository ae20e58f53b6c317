"""Terminal summary: one row per variant × device × hint."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def summary_table(results: dict[str, Any]):
    from rich.table import Table

    evaluations = results.get("evaluations", {})
    reference = results.get("reference")
    metric = results.get("metric") or "metric"
    table = Table(title=f"ovrun · {results['recipe']}", title_justify="left")
    for column, justify in (
        ("variant", "left"),
        ("device", "left"),
        ("hint", "left"),
        ("p50 ms", "right"),
        ("p90 ms", "right"),
        ("throughput/s", "right"),
        (f"vs {reference}" if reference else "speedup", "right"),
        (metric, "right"),
        ("size MB", "right"),
    ):
        table.add_column(column, justify=justify)
    for row in results["benchmarks"]:
        ev = evaluations.get(row["variant"])
        if row["variant"] == reference:
            accuracy = "reference"
        else:
            accuracy = _fmt(ev.get("value"), ".4f") if ev else "-"
        if row["status"] != "ok":
            table.add_row(
                row["variant"],
                row["device"],
                row["hint"],
                f"[yellow]{row['status']}[/]",
                "",
                "",
                "",
                accuracy,
                "",
            )
            continue
        lat = row.get("latency_ms", {})
        size = row.get("size_bytes")
        table.add_row(
            row["variant"],
            row["device"],
            row["hint"],
            _fmt(lat.get("median"), ".2f"),
            _fmt(lat.get("p90"), ".2f"),
            _fmt(row.get("throughput"), ".1f"),
            _fmt(row.get("speedup_vs_reference"), ".2f", "×"),
            accuracy,
            _fmt(size / 1e6 if size else None, ".1f"),
        )
    return table


def skip_lines(results: dict[str, Any]) -> list[str]:
    """One line per distinct reason, so a missing GPU is said once, not once per cell."""
    reasons: dict[tuple[str, str], int] = {}
    for row in results["benchmarks"]:
        if row["status"] != "ok":
            key = (row["status"], row.get("reason", ""))
            reasons[key] = reasons.get(key, 0) + 1
    return [f"{count} cell(s) {status}: {reason}" for (status, reason), count in reasons.items()]


def gate_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for gate in results.get("gates", []):
        verdict = "passed" if gate["passed"] else "FAILED"
        lines.append(
            f"gate {verdict}: {gate['variant']} {gate['metric']} {gate['value']:.4f} "
            f"(drop {gate['accuracy_drop']:.4f}, max_drop {gate['max_drop']})"
        )
    return lines
