"""Terminal summary: one row per variant × device × hint."""

from __future__ import annotations

from typing import Any

# the spread and vs-reference cells are shared with the LLM table (report/generation_table.py)
from runner.report.noise_text import speedup_text as _speedup
from runner.report.noise_text import spread_text as _spread
from runner.report.roofline_text import peak_text


def _fmt(value: Any, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def summary_table(results: dict[str, Any]) -> Any:
    """A Grid (rich draws it on a terminal; off one, report/plain.py prints the same box
    without importing rich), or the LLM table."""
    from runner.report.generation_table import generation_table, is_generation
    from runner.report.labelled import task_cells, task_columns
    from runner.report.plain import Grid

    if is_generation(results):  # LLM cells: TTFT / TPOT / tokens/s columns
        return generation_table(results)

    evaluations = results.get("evaluations", {})
    reference = results.get("reference")
    metric = results.get("metric") or "metric"
    extra = _extra_dims(results["benchmarks"])
    # targets.runtimes with onnxruntime: OpenVINO's gain over ONNX Runtime in the same cell
    ort = any(r.get("runtime") == "onnxruntime" for r in results["benchmarks"])
    columns = [
        ("variant", "left"),
        ("device", "left"),
        ("hint", "left"),
        *((("cell", "left"),) if extra else ()),
        ("p50 ms", "right"),
        ("p90 ms", "right"),
        ("throughput/s", "right"),
        ("% peak", "right"),
        ("spread", "right"),
        (f"vs {reference}" if reference else "speedup", "right"),
        *((("vs onnxruntime", "right"),) if ort else ()),
        (metric, "right"),
        *((name, "right") for name in task_columns(results)),  # against labels
        ("size MB", "right"),
    ]
    table = Grid(f"ovrun · {results['recipe']}", columns)
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
                *((_dims(row, extra),) if extra else ()),
                f"[yellow]{row['status']}[/]",
                "",
                "",
                "",
                "",
                "",
                *(("",) if ort else ()),
                accuracy,
                *task_cells(results, row["variant"]),
                "",
            )
            continue
        lat = row.get("latency_ms", {})
        size = row.get("size_bytes")
        hint, dims = _marked(row, extra)
        table.add_row(
            row["variant"],
            row["device"],
            hint,
            *((dims,) if extra else ()),
            _fmt(lat.get("median"), ".2f"),
            _fmt(lat.get("p90"), ".2f"),
            _fmt(row.get("throughput"), ".1f"),
            peak_text(row),
            _spread(row),
            _speedup(row),
            *((_ort_speedup(row),) if ort else ()),
            accuracy,
            *task_cells(results, row["variant"]),
            _fmt(size / 1e6 if size else None, ".1f"),
        )
    return table


def _ort_speedup(row: dict[str, Any]) -> str:
    from runner.report.noise_text import ort_speedup_text

    return ort_speedup_text(row)


def _extra_dims(rows: list[dict[str, Any]]) -> list[str]:
    """Matrix dimensions that vary across cells (the others need no column)."""
    names = ("precision", "streams", "threads", "batch", "seq_len")
    return [n for n in names if len({str(r.get(n)) for r in rows}) > 1]


def _dims(row: dict[str, Any], extra: list[str]) -> str:
    prefix = {"precision": "", "streams": "s", "threads": "t", "batch": "b", "seq_len": "l"}
    return " ".join(
        f"{prefix[n]}{row.get(n) if row.get(n) is not None else 'default'}" for n in extra
    )


def _marked(row: dict[str, Any], extra: list[str]) -> tuple[str, str]:
    """The hint and dims labels, with each property the device resolved differently from the
    request marked (``s2→1``): in the dims column when it shows that dimension, else after
    the hint."""
    from runner.report.resolved import differences, mark

    dims = _dims(row, extra)
    unplaced = []
    for name, (want, got) in differences(row).items():
        label = mark(name, want, got)
        plain = label.split("→", 1)[0]
        words = dims.split(" ")
        if plain in words:
            dims = " ".join(label if w == plain else w for w in words)
        else:
            unplaced.append(label)
    hint = row["hint"] + (f" [yellow]{' '.join(unplaced)}[/]" if unplaced else "")
    return hint, dims


def skip_lines(results: dict[str, Any]) -> list[str]:
    """One line per distinct reason, so a missing GPU is said once, not once per cell."""
    reasons: dict[tuple[str, str], int] = {}
    for row in results["benchmarks"]:
        if row["status"] != "ok":
            key = (row["status"], row.get("reason", ""))
            reasons[key] = reasons.get(key, 0) + 1
    return [f"{count} cell(s) {status}: {reason}" for (status, reason), count in reasons.items()]


def precision_lines(results: dict[str, Any]) -> list[str]:
    """Say when a device ran float layers below f32 on its own: an "fp32" row on an AMX or
    AVX512-BF16 CPU measures bf16 execution, which changes what an INT8 speedup means."""
    lowered: dict[tuple[str, str], int] = {}
    for row in results["benchmarks"]:
        resolved = (row.get("resolved_properties") or {}).get("INFERENCE_PRECISION_HINT")
        if row["status"] == "ok" and row.get("precision") is None and resolved not in (None, "f32"):
            key = (row["device"], str(resolved))
            lowered[key] = lowered.get(key, 0) + 1
    return [
        f"note: {count} {device} cell(s) ran float layers in {precision}, the device default here; "
        f"add `precisions: [f32]` under targets to measure FP32 execution as well"
        for (device, precision), count in lowered.items()
    ]


def gate_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for gate in results.get("gates", []):
        if gate["passed"] is None:
            lines.append(f"gate {gate.get('reason', 'not evaluated')}: {gate['variant']}")
            continue
        verdict = "passed" if gate["passed"] else "FAILED"
        value = gate["value"]
        drop = gate["accuracy_drop"]
        versus = gate.get("reference_value")  # a labelled set: the reference's own figure
        lines.append(
            f"gate {verdict}: {gate['variant']} {gate['metric']} "
            f"{'-' if value is None else f'{value:.4f}'}{_gate_precision(gate)} "
            + (f"vs reference {versus:.4f} " if versus is not None else "")
            + f"(drop {'-' if drop is None else f'{drop:.4f}'}, max_drop {gate['max_drop']})"
        )
    return lines


def _gate_precision(gate: dict[str, Any]) -> str:
    if not gate.get("precision"):
        return ""
    role = {"deployed": "deployed", "compression": "compression alone"}.get(gate.get("on", ""))
    return f" at {gate['precision']}" + (f" ({role})" if role else "")
