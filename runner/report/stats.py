"""Reading figures out of a results document with the spread their repeats showed.

Shared by the table, the HTML report, `ovrun compare` and `assert:` so that every place
that compares two numbers uses one rule: a difference is *significant* only when the
ranges the repeats spanned do not overlap; otherwise it is *within noise*."""

from __future__ import annotations

from typing import Any

from runner.report.missing import missing_state, not_evaluated

_LATENCY = ("median", "p90", "p99", "min", "max", "mean")
Figure = tuple[float, float, float, bool | None]  # value, low, high, measured (see asserts.Value)


def row_by_task(results: dict[str, Any], task_id: str) -> dict[str, Any] | None:
    return next((b for b in results.get("benchmarks", []) if b["task"] == task_id), None)


def _range(row: dict[str, Any], per_repeat) -> tuple[float, float, bool]:
    runs = row.get("repeats") or []
    values = [per_repeat(r) for r in runs]
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return float("nan"), float("nan"), False
    return min(values), max(values), True


def _figure(value: float, row: dict[str, Any], per_repeat) -> Figure:
    lo, hi, measured = _range(row, per_repeat)
    if not measured:
        return value, value, value, False
    return value, min(lo, value), max(hi, value), True


def cell_value(results: dict[str, Any], task_id: str, metric: str) -> Figure | str:
    """(value, low, high, measured) of ``metric`` in benchmark cell ``task_id``, or the
    reason it has none (e.g. the cell was skipped)."""
    row = row_by_task(results, task_id)
    if row is None:
        return f"no benchmark cell {task_id} in the results"
    if row.get("status") in ("failed", "blocked", "missing"):
        return not_evaluated(task_id, row["status"])
    if row.get("status") != "ok":
        return f"{task_id} {row.get('status')}: {row.get('reason', '')}".rstrip(": ")
    if metric == "throughput":
        return _figure(row["throughput"], row, lambda r: r.get("throughput"))
    if metric in ("latency", *(f"latency_{k}" for k in _LATENCY)):
        stat = "median" if metric == "latency" else metric.removeprefix("latency_")
        return _figure(
            row["latency_ms"][stat], row, lambda r: (r.get("latency_ms") or {}).get(stat)
        )
    if metric in ("first_inference_ms", "compile_s", "compile_warm_s"):
        value = row.get(metric)
        if value is None:
            return f"{task_id} has no {metric} (the device does not support it)"
        return value, value, value, False  # a single measurement: spread unknown
    if metric == "peak_rss_mb":
        return row["peak_rss_mb"], row["peak_rss_mb"], row["peak_rss_mb"], None
    if metric == "size_mb":
        size = row["size_bytes"] / 1e6
        return size, size, size, None
    if metric == "speedup":
        return speedup(results, row)
    return f"unknown metric {metric}"


def reference_row(results: dict[str, Any], row: dict[str, Any]) -> dict[str, Any] | None:
    reference = results.get("reference")
    if reference is None or row["variant"] == reference:
        return None
    cell = row.get("cell") or f"{row['device']}:{row['hint']}"
    found = row_by_task(results, f"bench:{reference}:{cell}")
    return found if found and found.get("status") == "ok" else None


def speedup(results: dict[str, Any], row: dict[str, Any]) -> Figure | str:
    """Throughput of ``row`` over the reference variant's in the same cell, with a range."""
    if row["variant"] == results.get("reference"):
        return 1.0, 1.0, 1.0, None
    ref = reference_row(results, row)
    if ref is None:
        return f"no reference cell for {row['task']}"
    a = cell_value(results, row["task"], "throughput")
    b = cell_value(results, ref["task"], "throughput")
    assert not isinstance(a, str) and not isinstance(b, str)
    measured = a[3] and b[3]
    return a[0] / b[0], a[1] / b[2], a[2] / b[1], measured


def verdict(a: Figure, b: Figure) -> str:
    """'significant' / 'within noise' / 'noise not measured' for comparing a with b."""
    if not (a[3] and b[3]):
        return "noise not measured"
    overlap = a[1] <= b[2] and b[1] <= a[2]
    return "within noise" if overlap else "significant"


def speedup_verdict(results: dict[str, Any], row: dict[str, Any]) -> str | None:
    ref = reference_row(results, row)
    if ref is None:
        return None
    return verdict(
        cell_value(results, row["task"], "throughput"),  # type: ignore[arg-type]
        cell_value(results, ref["task"], "throughput"),  # type: ignore[arg-type]
    )


def variant_value(results: dict[str, Any], variant: str, metric: str) -> Figure | str:
    """Accuracy, accuracy drop or size of a variant (deterministic: no spread)."""
    from runner.report.accuracy import ACCURACY_METRICS, gate_figures
    from runner.report.labelled import TASK_ONLY, reads_labels, task_value

    if reads_labels(results, metric):  # against the labels of a labelled evaluation set
        found = task_value(results, variant, metric)
        state = missing_state(results, f"eval:{variant}")
        if isinstance(found, str) and state and variant != results.get("reference"):
            return not_evaluated(f"eval:{variant}", state)
        return found if isinstance(found, str) else (found, found, found, None)
    if metric in TASK_ONLY:  # spearman / exact_match / f1 with no labelled evaluation to read
        unfinished = [t for t in results.get("missing") or {} if t.startswith("eval:")]
        own = f"eval:{variant}"
        task_id = own if own in unfinished else next(iter(unfinished), None)
        if task_id is not None:
            return not_evaluated(task_id, missing_state(results, task_id) or "missing")
        return f"no labelled evaluation with {metric} in this run"
    if metric in ACCURACY_METRICS:
        on, figure = ACCURACY_METRICS[metric]
        if variant == results.get("reference"):
            value = 0.0 if figure == "accuracy_drop" else 1.0
            return value, value, value, None
        ev = (results.get("evaluations") or {}).get(variant)
        state = missing_state(results, f"eval:{variant}")
        if not ev and state:
            return not_evaluated(f"eval:{variant}", state)
        if not ev:
            return f"variant {variant} has no evaluation in this run"
        value = gate_figures(ev, on).get(figure)
        if value is None:
            return f"variant {variant}'s evaluation has no {metric}"
        return value, value, value, None
    if metric == "size_mb":
        sizes = [
            b["size_bytes"]
            for b in results.get("benchmarks", [])
            if b["variant"] == variant and b.get("status") == "ok" and b.get("size_bytes")
        ]
        if not sizes:
            return f"variant {variant} has no benchmarked size in this run"
        size = sizes[0] / 1e6
        return size, size, size, None
    return f"unknown metric {metric}"


def ort_row(results: dict[str, Any], row: dict[str, Any]) -> dict[str, Any] | None:
    """The ONNX Runtime cell an OpenVINO cell is compared with (targets.runtimes): same
    device, hint, batch and seq_len, measured (status ok)."""
    if row.get("runtime", "openvino") != "openvino":
        return None
    same = ("device", "hint", "batch", "seq_len")
    return next(
        (
            b
            for b in results.get("benchmarks", [])
            if b.get("runtime") == "onnxruntime"
            and b.get("status") == "ok"
            and all(b.get(k) == row.get(k) for k in same)
        ),
        None,
    )


def ort_speedup(results: dict[str, Any], row: dict[str, Any]) -> tuple[Figure, str] | None:
    """Throughput of an OpenVINO cell over the matching ONNX Runtime cell, with the range the
    repeats allow and the verdict; None when there is no measured ONNX Runtime cell."""
    other = ort_row(results, row)
    if other is None or row.get("status") != "ok":
        return None
    a = cell_value(results, row["task"], "throughput")
    b = cell_value(results, other["task"], "throughput")
    assert not isinstance(a, str) and not isinstance(b, str)
    figure = (a[0] / b[0], a[1] / b[2], a[2] / b[1], bool(a[3] and b[3]))
    return figure, verdict(a, b)
