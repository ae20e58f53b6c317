"""Terminal summary for text-generation runs: the figures a generation pipeline sees
(TTFT, TPOT, tokens/s from openvino-genai) beside top-1 agreement and perplexity."""

from __future__ import annotations

from typing import Any


def is_generation(results: dict[str, Any]) -> bool:
    return any(row.get("mode") == "generate" for row in results.get("benchmarks", []))


def _fmt(value: Any, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def _mean(row: dict[str, Any], name: str) -> float | None:
    value = row.get(name)
    return value.get("mean") if isinstance(value, dict) else None


def generation_table(results: dict[str, Any]):
    from rich.table import Table

    from runner.report.noise_text import speedup_text, spread_text

    evaluations = results.get("evaluations", {})
    reference = results.get("reference")
    metric = results.get("metric") or "metric"
    table = Table(title=f"ovrun · {results['recipe']}", title_justify="left")
    columns = (
        ("variant", "left"),
        ("device", "left"),
        ("hint", "left"),
        ("TTFT ms", "right"),
        ("TPOT ms", "right"),
        ("tokens/s", "right"),
        ("spread", "right"),
        (f"vs {reference}" if reference else "speedup", "right"),
        (metric, "right"),
        ("perplexity", "right"),
        ("size MB", "right"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify)
    reference_ppl = next(
        (ev.get("reference_perplexity") for ev in evaluations.values() if ev), None
    )
    for row in results["benchmarks"]:
        ev = evaluations.get(row["variant"]) or {}
        is_reference = row["variant"] == reference
        accuracy = "reference" if is_reference else _fmt(ev.get("value"), ".4f")
        ppl = reference_ppl if is_reference else ev.get("perplexity")
        if row["status"] != "ok":
            status = f"[yellow]{row['status']}[/]"
            table.add_row(
                row["variant"],
                row["device"],
                row["hint"],
                status,
                "",
                "",
                "",
                "",
                accuracy,
                _fmt(ppl, ".2f"),
                "",
            )
            continue
        size = row.get("size_bytes")
        table.add_row(
            row["variant"],
            row["device"],
            row["hint"],
            _fmt(_mean(row, "ttft_ms"), ".2f"),
            _fmt(_mean(row, "tpot_ms"), ".2f"),
            _fmt(_mean(row, "tokens_per_s"), ".1f"),
            spread_text(row),
            # same verdict as every other comparison; "noise not measured" with one repeat
            speedup_text(row),
            accuracy,
            _fmt(ppl, ".2f"),
            _fmt(size / 1e6 if size else None, ".2f"),
        )
    return table
