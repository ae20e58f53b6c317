"""report.html: one self-contained page (inline CSS and SVG, no script, no network).

Charts are Vega-Lite specs rendered to static SVG by vl-convert (runner.report.vega; the
choice is measured in docs/charts.md): text stays text, every mark carries its description
as a tooltip, and the same results give the same bytes, so the file can be mailed, archived
in CI or opened offline."""

from __future__ import annotations

import html
import math
import time
from collections.abc import Mapping
from typing import Any

from runner.report import charts, pareto, roofline, vega
from runner.report.accuracy import accuracy_lines
from runner.report.labelled import task_cells, task_columns, task_lines
from runner.report.resolved import differences, marks, resolved_lines
from runner.report.roofline_text import peak_text, peak_title
from runner.report.stamp import stamp_comment
from runner.report.stats import cell_value, speedup_verdict

Drawn = Mapping[str, str] | None  # charts of the page being replaced, by digest

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1100px;padding:0 1em;color:#1d1d1f}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}td.n{text-align:right}
th{background:#f4f4f6}.muted{color:#777}.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}
.warn{color:#9a6700}.note{background:#fff8c5;border:1px solid #d4a72c;padding:.6em 1em;
border-radius:6px}figure{margin:1em 0;overflow-x:auto}figure svg{display:block;height:auto}
figcaption{color:#555;font-size:13px}code{background:#f4f4f6;padding:0 3px}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: Any, spec: str = ".2f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:{spec}}"


def _ok(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in results.get("benchmarks", []) if b.get("status") == "ok"]


def _variants(results: dict[str, Any]) -> list[str]:
    names = list(results.get("variants") or {})
    for b in results.get("benchmarks", []):
        if b["variant"] not in names:
            names.append(b["variant"])
    return names


def _config(row: dict[str, Any]) -> str:
    """The cell without its device: 'LATENCY' or 'THROUGHPUT b8'."""
    cell = row.get("cell") or f"{row['device']}:{row['hint']}"
    return "\n".join(cell.split(":")[1:])  # one dimension per line: tick labels stay narrow


def device_chart(results: dict[str, Any], device: str, drawn: Drawn = None) -> str:
    """Throughput (with the repeats' range) and median latency per cell, bars per variant."""
    rows = [b for b in _ok(results) if b["device"] == device]
    configs = list(dict.fromkeys(_config(b) for b in rows))
    variants = [v for v in _variants(results) if any(b["variant"] == v for b in rows)]
    panels = [
        {"title": f"{device}: throughput", "ylabel": "throughput (samples/s)"}
        | {"kind": "bar-throughput", "unit": "samples/s"},
        {"title": f"{device}: median latency", "ylabel": "median latency (ms)"}
        | {"kind": "bar-latency", "unit": "ms"},
    ]
    for panel, metric in zip(panels, ("throughput", "latency_median"), strict=True):
        panel["rows"] = []
        for variant in variants:
            for config in configs:
                row = next(
                    (b for b in rows if b["variant"] == variant and _config(b) == config), None
                )
                if row is not None:
                    value, low, high = _figure_of(results, row, metric)
                    panel["rows"].append(
                        {"group": config, "series": variant, "value": value}
                        | {"low": low, "high": high}
                    )
    spec = charts.bar_panels(
        panels, configs, variants, group_title="configuration", series_title="variant"
    )
    title = f"{device}: throughput and median latency per variant and configuration"
    return vega.to_svg(spec, f"chart-device-{device}", title, drawn)


def _figure_of(results: dict[str, Any], row: dict[str, Any], metric: str):
    """(value, low, high) of a cell's metric; (None, None, None) when it has none."""
    try:
        found = cell_value(results, row["task"], metric)
    except (KeyError, TypeError):  # a hand-edited or partial results document
        return None, None, None
    if isinstance(found, str) or not charts.finite(found[0]):
        return None, None, None
    value, lo, hi, _ = found
    return value, lo if charts.finite(lo) else None, hi if charts.finite(hi) else None


def _empty(message: str) -> str:
    """What a chart's figure holds when there is nothing to draw: the reason, as text."""
    return f'<p class="chart-empty muted">{_e(message)}</p>'


def pareto_chart(results: dict[str, Any], drawn: Drawn = None) -> str:
    """Accuracy vs throughput, one series per cell; the Pareto front is joined by a line."""
    metric = results.get("metric") or "accuracy"
    reference = results.get("reference")
    evaluations = results.get("evaluations") or {}

    def accuracy(variant: str) -> float | None:
        if variant == reference:
            return 1.0
        return (evaluations.get(variant) or {}).get("value")

    points, fronts = [], []
    for cell in dict.fromkeys(b.get("cell") for b in _ok(results)):
        found = [
            (b["throughput"], accuracy(b["variant"]), b["variant"])
            for b in _ok(results)
            if b.get("cell") == cell
            and charts.finite(accuracy(b["variant"]))
            and charts.finite(b.get("throughput"))
        ]
        front = pareto_front([(p[0], p[1]) for p in found])
        for x, y, name in found:
            on_front = (x, y) in front
            points.append({"x": x, "y": y, "label": name, "series": str(cell), "front": on_front})
        fronts += [{"x": x, "y": y, "series": str(cell)} for x, y in front]
    if not points:
        return _empty("no accuracy figures (no evaluate: section)")
    title = "accuracy vs throughput (lines join the Pareto-optimal variants)"
    spec = charts.scatter(
        points,
        fronts,
        title=title,
        x_title="throughput (samples/s) — higher is better",
        y_title=f"{metric} vs {reference or 'reference'} — higher is better",
        series_title="cell",
        x_name="throughput (samples/s)",
        y_name=str(metric),
    )
    return vega.to_svg(spec, "chart-pareto", title, drawn)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points no other point beats on both throughput and accuracy, by throughput."""
    costs = [(-throughput, -accuracy) for throughput, accuracy in points]
    return sorted({points[i] for i in pareto.front(costs)})


def size_chart(results: dict[str, Any], drawn: Drawn = None) -> str:
    """IR size on disk per variant, the value printed above each bar."""
    sizes = variant_sizes(results)
    names = list(sizes)
    if not names:
        return _empty("no model sizes recorded")
    panel = {
        "title": "model size per variant",
        "ylabel": "IR size on disk (MB)",
        "kind": "bar-size",
        "unit": "MB",
        "format": ".1f",
        "labels": True,
        "rows": [{"group": n, "series": n, "value": sizes[n]} for n in names],
    }
    spec = charts.bar_panels(
        [panel],
        names,
        names,
        group_title="variant",
        series_title="variant",
        legend=False,
        height=180.0,
        grouped=False,
    )
    return vega.to_svg(spec, "chart-size", "IR size on disk per variant", drawn)


def roofline_chart(results: dict[str, Any], device: str, drawn: Drawn = None) -> str | None:
    """The device's roofline, or None when no cell carries the roofline fields."""
    rows = roofline.roofline_rows([b for b in _ok(results) if b["device"] == device])
    if not rows:
        return None
    title = f"{device}: achieved GFLOP/s against arithmetic intensity, under the measured roofs"
    spec = roofline.roofline_spec(rows, device)
    return vega.to_svg(spec, f"chart-roofline-{device}", title, drawn)


def variant_sizes(results: dict[str, Any]) -> dict[str, float]:
    sizes: dict[str, float] = {}
    for b in _ok(results):
        if b.get("size_bytes") and b["variant"] not in sizes:
            sizes[b["variant"]] = b["size_bytes"] / 1e6
    return sizes


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary(results: dict[str, Any]) -> str:
    reference = results.get("reference")
    evaluations = results.get("evaluations") or {}
    # targets.runtimes with onnxruntime: each OpenVINO cell over the ONNX Runtime cell
    ort = any(b.get("runtime") == "onnxruntime" for b in results.get("benchmarks", []))
    rows = []
    for b in results.get("benchmarks", []):
        ev = evaluations.get(b["variant"])
        acc = "reference" if b["variant"] == reference else _num((ev or {}).get("value"), ".4f")
        if b.get("status") != "ok":
            rows.append(
                [_e(b["variant"]), _e(b.get("cell"))]
                + [f'<span class="warn">{_e(b["status"])}</span>: {_e(b.get("reason"))}']
                + [""] * (8 if ort else 7)
                + [acc]
            )
            continue
        lat = b.get("latency_ms") or {}
        spread = (b.get("spread") or {}).get("throughput")
        runs = len(b.get("repeats") or [])
        vs = "-"
        if b.get("speedup_vs_reference") is not None:
            verdict = speedup_verdict(results, b)
            vs = f"{b['speedup_vs_reference']:.2f}×" + (f" ({_e(verdict)})" if verdict else "")
        changed = marks(b)
        rows.append(
            [
                _e(b["variant"]),
                _e(b.get("cell"))
                + (f' <span class="bad">{_e(" ".join(changed))}</span>' if changed else ""),
                _num(lat.get("median")),
                _num(lat.get("p90")),
                _num(lat.get("p99")),
                _num(b.get("throughput"), ".1f"),
                f'<span title="{_e(peak_title(b))}">{_e(peak_text(b, short=False))}</span>',
                f"±{spread['relative'] * 50:.1f}% ({runs} runs)"
                if spread and runs > 1
                else "1 run",
                vs,
                *([_ort_vs(b)] if ort else []),
                _num(b.get("first_inference_ms")),
                acc,
            ]
        )
    headers = ["variant", "cell", "p50 ms", "p90 ms", "p99 ms", "throughput/s", "% peak"]
    headers += ["spread", f"vs {reference}" if reference else "speedup"]
    headers += ["vs onnxruntime"] if ort else []
    headers += ["first inference ms", results.get("metric") or "accuracy"]
    return _table(headers, rows, numeric=set(range(2, len(headers))))


def _ort_vs(b: dict[str, Any]) -> str:
    value = b.get("speedup_vs_onnxruntime")
    if value is None:
        return "-"
    return f"{value:.2f}× ({_e(b.get('speedup_vs_onnxruntime_verdict') or 'noise not measured')})"


def _compression(results: dict[str, Any]) -> str:
    sizes = variant_sizes(results)
    reference = results.get("reference")
    ref_size = sizes.get(reference) if reference else None
    evaluations = results.get("evaluations") or {}
    rows = []
    for name, spec in (results.get("variants") or {}).items():
        comp = (spec or {}).get("compression")
        method = (
            "none (reference)"
            if not comp
            else _e(comp.get("op"))
            + " "
            + _e(", ".join(f"{k}={v}" for k, v in comp.items() if k != "op"))
        )
        size = sizes.get(name)
        ratio = (
            f"{ref_size / size:.2f}× smaller" if size and ref_size and name != reference else "-"
        )
        ev = evaluations.get(name) or {}
        best = [
            b["speedup_vs_reference"]
            for b in _ok(results)
            if b["variant"] == name
            and name != reference
            and b.get("speedup_vs_reference") is not None
        ]
        rows.append(
            [
                _e(name),
                method,
                _effective((spec or {}).get("applied")),
                _num(size, ".1f"),
                ratio,
                _num(ev.get("value"), ".4f") if name != reference else "reference",
                _num(ev.get("accuracy_drop"), ".4f") if name != reference else "-",
                *task_cells(results, name),  # against the labels, the reference's own too
                f"{min(best):.2f}–{max(best):.2f}×" if best else "-",
            ]
        )
    headers = ["variant", "compression", "effective weights", "size MB", "vs reference"]
    headers += ["accuracy", "drop", *(f"{n} (labels)" for n in task_columns(results)), "speedup"]
    return _table(headers, rows, numeric={3, 5, 6})


def _effective(applied: dict[str, Any] | None) -> str:
    """What the compression really did (recorded by the compress op): weight precision shares."""
    if not applied:
        return "-"
    bits = applied.get("weight_bits") or {}
    shares = [f"{k} {v * 100:.0f}%" for k, v in bits.items() if v]
    extra = []
    if applied.get("fake_quantize_nodes"):
        extra.append(f"{applied['fake_quantize_nodes']} FakeQuantize")
    return _e(", ".join(shares + extra)) if shares or extra else "-"


def _gates(results: dict[str, Any]) -> str:
    items = []
    for g in results.get("gates") or []:
        if g["passed"] is None:
            reason = g.get("reason", "not evaluated")
            items.append(f'<li class="warn">gate {_e(reason)}: {_e(g["variant"])}</li>')
            continue
        cls = "ok" if g["passed"] else "bad"
        items.append(
            f'<li class="{cls}">gate {"passed" if g["passed"] else "FAILED"}: {_e(g["variant"])} '
            f"{_e(g['metric'])} {_num(g.get('value'), '.4f')} (drop {_num(g.get('accuracy_drop'), '.4f')}, "
            f"max_drop {_e(g['max_drop'])})</li>"
        )
    for a in results.get("asserts") or []:
        from runner.report.asserts import describe

        cls = {True: "ok", False: "bad", None: "warn"}[a["passed"]]
        items.append(f'<li class="{cls}">{_e(describe(a))}</li>')
    return f"<ul>{''.join(items)}</ul>" if items else '<p class="muted">none in this recipe</p>'


def _notes(lines: list[str]) -> str:
    """The lines the terminal prints under its table (resolved properties, accuracy per
    precision), as a list under the summary."""
    if not lines:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>"


def _properties(results: dict[str, Any]) -> str:
    rows = []
    for b in _ok(results):
        resolved = b.get("resolved_properties") or {}
        differ = differences(b)
        rows.append(
            [
                _e(b["task"]),
                _e(b.get("mode")),
                _e(b.get("nireq")),
                "<br>".join(
                    f"<code>{_e(k)}</code> = {_e(v)}"
                    + (
                        f' <span class="bad">(requested {_e(differ[k][0])})</span>'
                        if k in differ
                        else ""
                    )
                    for k, v in sorted(resolved.items())
                ),
                _e(", ".join(f"{k}={v}" for k, v in (b.get("input_shapes") or {}).items())),
                _num(b.get("compile_s"), ".3f"),
                _num(b.get("compile_warm_s"), ".3f"),
                _num(b.get("peak_rss_mb"), ".0f"),
            ]
        )
    headers = ["cell", "loop", "requests", "resolved properties", "input shapes"]
    headers += ["compile s (cold)", "compile s (warm CACHE_DIR)", "peak RSS MB"]
    return _table(headers, rows, numeric={2, 5, 6, 7})


def _fingerprint(results: dict[str, Any]) -> str:
    host = results.get("host") or {}
    cpu = host.get("host") or {}
    rows = [
        ["CPU", _e(cpu.get("cpu_model"))],
        ["cores (logical / physical)", f"{_e(cpu.get('cores'))} / {_e(cpu.get('physical_cores'))}"],
        ["ISA flags", _e(", ".join(cpu.get("cpu_flags_relevant") or []) or "none found")],
        ["OS", _e(cpu.get("os"))],
        ["Python", _e(cpu.get("python"))],
        ["available devices", _e(", ".join(host.get("available_devices") or []))],
    ]
    for name, info in (host.get("devices") or {}).items():
        rows.append(
            [
                f"{_e(name)} OPTIMIZATION_CAPABILITIES",
                _e(", ".join(info.get("OPTIMIZATION_CAPABILITIES") or [])),
            ]
        )
        if info.get("FULL_DEVICE_NAME"):
            rows.append([f"{_e(name)} FULL_DEVICE_NAME", _e(info["FULL_DEVICE_NAME"])])
    for lib, version in (host.get("versions") or {}).items():
        rows.append([_e(lib), _e(version)])
    return _table(["", ""], rows)


def _precision_note(results: dict[str, Any]) -> str:
    """Float layers a device ran below f32 by default (bf16 on AMX CPUs): it changes what an
    INT8-vs-FP32 ratio compares."""
    from runner.report.table import precision_lines

    lines = precision_lines(results)
    if not lines:
        return ""
    items = "".join(f"<li>{_e(line.removeprefix('note: '))}</li>" for line in lines)
    return f'<div class="note" id="precision-note"><b>Precision:</b><ul>{items}</ul></div>'


def _int8_note(results: dict[str, Any]) -> str:
    """Why a quantized variant can be slower: shown only where the CPU lacks VNNI / AMX."""
    from runner.host.cpu import int8_acceleration

    cpu = (results.get("host") or {}).get("host") or {}
    quantized = [
        name
        for name, spec in (results.get("variants") or {}).items()
        if (spec or {}).get("compression")
    ]
    message = int8_acceleration(cpu) if cpu else None
    if not message or not quantized:
        return ""
    return (
        f'<p class="note" id="int8-note"><b>Note:</b> {_e(message)} Quantized variants '
        f"({_e(', '.join(quantized))}) then run INT8 arithmetic through slower emulation or "
        "fall back to float kernels with extra (de)quantization steps, so they can be slower "
        "than FP32 on this CPU even though they are smaller.</p>"
    )


def render(results: dict[str, Any], previous: str | None = None) -> str:
    """The whole page for a results document (as written to results.json); the charts of
    ``previous`` (the page being replaced) that did not change are reused, not redrawn."""
    drawn = vega.drawn_charts(previous)
    devices = list(dict.fromkeys(b["device"] for b in _ok(results)))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>ovrun · {_e(results.get('recipe'))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>ovrun · {_e(results.get('recipe'))}</h1>",
        f'<p class="muted">schema {_e(results.get("schema"))} · written '
        f"{_e(time.strftime('%Y-%m-%d %H:%M', time.localtime((results.get('run') or {}).get('started') or time.time())))}"
        f" · host {_e(((results.get('host') or {}).get('host') or {}).get('cpu_model'))}</p>",
        _int8_note(results),
        _precision_note(results),
        "<h2>Summary</h2>",
        _summary(results),
        '<p class="muted">spread: half the range of throughput over the repeats. A ratio is '
        "<i>significant</i> only when the two cells' ranges do not overlap.</p>",
        '<p class="muted">% peak: achieved GFLOP/s (FLOPs counted from the IR × inferences/s) '
        "as a share of this host's peak measured with OpenVINO at the precision the cell ran "
        "at; memory-bound when its FLOPs per byte moved fall below peak ÷ bandwidth.</p>",
        _notes(resolved_lines(results) + accuracy_lines(results) + task_lines(results)),
        "<h2>Gates and assertions</h2>",
        _gates(results),
        "<h2>Per device</h2>",
    ]
    if not devices:
        parts.append('<p class="muted">no benchmark cell ran</p>')
    for device in devices:
        parts.append(
            f'<figure class="chart" id="chart-device-{_e(device)}">{device_chart(results, device, drawn)}'
            f"<figcaption>{_e(device)}: bars are medians over repeats; whiskers span the "
            "repeats' range.</figcaption></figure>"
        )
    rooflines = [(d, roofline_chart(results, d, drawn)) for d in devices]
    rooflines = [(d, chart) for d, chart in rooflines if chart]
    if rooflines:  # results written before the roofline fields existed: no section
        parts.append("<h2>Distance to the limit (roofline)</h2>")
    for device, chart in rooflines:
        parts.append(
            f'<figure class="chart" id="chart-roofline-{_e(device)}">{chart}'
            f"<figcaption>{_e(device)}: one point per cell (achieved GFLOP/s at its arithmetic "
            "intensity); the flat lines are the compute roofs measured per precision, the "
            "slanted one the measured memory bandwidth.</figcaption></figure>"
        )
    parts += [
        "<h2>Accuracy vs throughput</h2>",
        f'<figure class="chart" id="chart-pareto">{pareto_chart(results, drawn)}</figure>',
        "<h2>Size and compression</h2>",
        f'<figure class="chart" id="chart-size">{size_chart(results, drawn)}</figure>',
        _compression(results),
        "<h2>Resolved properties</h2>",
        '<p class="muted">Read back from each compiled model: what the device really used.</p>',
        _properties(results),
        "<h2>Hardware fingerprint</h2>",
        _fingerprint(results),
        "</body></html>",
        stamp_comment(results),
    ]
    return "\n".join(p for p in parts if p)
