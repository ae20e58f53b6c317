"""The roofline chart: achieved GFLOP/s against arithmetic intensity (flop/byte), log–log,
under the device's measured compute roofs and its bandwidth roof, one labelled point per cell.

Drawn from the roofline fields of results.json's benchmark rows (``gflops``,
``peak_gflops``, ``intensity``, ``bandwidth_gbps``; ``peak_share`` and ``bound`` go in the
tooltips). A row without them (results written before they existed) is left out; a device
with no such row gets no chart."""

from __future__ import annotations

import math
from typing import Any

from runner.report import labels
from runner.report.charts import colors, finite, legend_columns

FIELDS = ("gflops", "peak_gflops", "intensity", "bandwidth_gbps")
WIDTH, HEIGHT = 640, 340  # the plot, px: fixed so that labels can be placed from Python


def roofline_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ok rows that can be placed on log axes (every field present and positive)."""
    return [
        r
        for r in rows
        if r.get("status") == "ok" and all(finite(r.get(f)) and r[f] > 0 for f in FIELDS)
    ]


def _roofs(rows: list[dict[str, Any]]) -> tuple[list[float], float]:
    """Distinct compute roofs (one per precision the cells ran at), highest first, and the
    bandwidth roof (the highest measured, should rows differ)."""
    peaks = sorted({float(r["peak_gflops"]) for r in rows}, reverse=True)
    return peaks, max(float(r["bandwidth_gbps"]) for r in rows)


def _roof_name(peak: float, rows: list[dict[str, Any]]) -> str:
    """A compute roof named after the precision(s) of the cells under it, else their variants."""
    under = [r for r in rows if float(r["peak_gflops"]) == peak]
    names = [r.get("precision") for r in under if isinstance(r.get("precision"), str)]
    names = names or [r["variant"] for r in under]
    return f"peak {peak:,.4g} GFLOP/s ({', '.join(dict.fromkeys(names))})"


def roofline_spec(rows: list[dict[str, Any]], device: str) -> dict[str, Any]:
    """The chart's Vega-Lite spec for ``rows`` (already filtered by ``roofline_rows``)."""
    peaks, bandwidth = _roofs(rows)
    xs = [float(r["intensity"]) for r in rows]
    # the x range covers the cells and every ridge point (peak / bandwidth), with a margin
    lo = min([*xs, *(p / bandwidth for p in peaks)]) / 4
    hi = max([*xs, *(p / bandwidth for p in peaks)]) * 4
    roof_lines, roof_labels = [], []
    for peak in peaks:
        name = _roof_name(peak, rows)
        ridge = peak / bandwidth
        # the roofline of one precision: bandwidth-limited up to the ridge, flat after it
        for x, y in ((lo, bandwidth * lo), (ridge, peak), (hi, peak)):
            roof_lines.append({"roof": name, "x": x, "y": y, "kind": "compute"})
        roof_labels.append({"x": hi, "y": peak, "text": name})
    top = max(peaks)
    memory = f"memory {bandwidth:,.4g} GB/s"
    roof_labels.append({"x": lo, "y": bandwidth * lo, "text": memory, "memory": True})
    points = [
        {
            "x": float(r["intensity"]),
            "y": float(r["gflops"]),
            "label": f"{r['variant']} · {r.get('cell') or r['hint']}",
            "variant": r["variant"],
            "share": r.get("peak_share"),
            "bound": r.get("bound") or "",
            "peak": float(r["peak_gflops"]),
        }
        for r in rows
    ]
    for p in points:
        p["tip"] = _cell_tip(p)
    variants = list(dict.fromkeys(p["variant"] for p in points))
    ys = [p["y"] for p in points] + [bandwidth * lo]
    x_scale = {"type": "log", "domain": [lo, hi], "nice": False}
    y_lo, y_hi = min(ys) / 4, top * 3
    y_scale = {"type": "log", "domain": [y_lo, y_hi], "nice": False}
    x = {"field": "x", "type": "quantitative", "title": "arithmetic intensity (flop/byte)"}
    y = {"field": "y", "type": "quantitative", "title": "achieved GFLOP/s"}
    return {
        "title": f"{device}: roofline (log–log)",
        "width": WIDTH,
        "height": HEIGHT,
        "encoding": {"x": x | {"scale": x_scale}, "y": y | {"scale": y_scale}},
        "layer": [
            {
                "data": {"values": roof_lines},
                "mark": {
                    "type": "line",
                    "color": "#1d1d1f",
                    "strokeWidth": 1.4,
                    "ariaRoleDescription": "roof",
                },
                "encoding": {
                    "detail": {"field": "roof"},
                    "strokeDash": {"field": "roof", "legend": None},
                    "description": {"field": "roof"},
                },
            },
            _label_layer([r for r in roof_labels if not r.get("memory")], "right"),
            _label_layer([r for r in roof_labels if r.get("memory")], "left"),
            {
                "data": {"values": points},
                "mark": {
                    "type": "point",
                    "filled": True,
                    "size": 70,
                    "opacity": 1,
                    "stroke": "#fff",
                    "strokeWidth": 1,
                    "ariaRoleDescription": "cell",
                },
                "encoding": {
                    "color": {
                        "field": "variant",
                        "type": "nominal",
                        "sort": variants,
                        "scale": {"domain": variants, "range": colors(len(variants))},
                        "title": "variant",
                        "legend": {
                            "orient": "bottom",
                            "columns": legend_columns(len(variants)),
                            "symbolLimit": 0,
                            "columnPadding": 16,
                        },
                    },
                    "description": {"field": "tip"},
                },
            },
            *_point_labels(points, (lo, hi), (y_lo, y_hi)),
        ],
    }


def _point_labels(
    points: list[dict[str, Any]], xs: tuple[float, float], ys: tuple[float, float]
) -> list[dict[str, Any]]:
    """One text layer per corner, each cell's label at the corner where it overlaps nothing."""

    def pixel(value: float, lo: float, hi: float, size: float) -> float:
        return (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * size

    at = [
        (pixel(p["x"], *xs, WIDTH), HEIGHT - pixel(p["y"], *ys, HEIGHT), p["label"]) for p in points
    ]
    return labels.label_layers(points, [(x, y) for x, y, _ in at], (WIDTH, HEIGHT), "cell label")


def _cell_tip(point: dict[str, Any]) -> str:
    """A cell's tooltip: where it sits and how far below its roof."""
    tip = f"{point['label']}: {point['y']:,.4g} GFLOP/s at {point['x']:,.4g} flop/byte"
    if finite(point.get("share")):
        tip += f", {point['share']:.1%} of the {point['peak']:,.4g} GFLOP/s peak"
    return tip + (f", {point['bound']}-bound" if point.get("bound") else "")


def _label_layer(labels: list[dict[str, Any]], align: str) -> dict[str, Any]:
    """Roof names by their line's end (right end for compute, left for memory)."""
    return {
        "data": {"values": labels},
        "mark": {
            "type": "text",
            "align": align,
            # compute roofs: above the flat end; memory: under the foot of the slope
            "baseline": "bottom" if align == "right" else "top",
            "dx": -4 if align == "right" else 4,
            "dy": -4 if align == "right" else 6,
            "fontSize": 10,
            "color": "#555",
            "ariaRoleDescription": "roof label",
        },
        "encoding": {"text": {"field": "text"}, "description": {"field": "text"}},
    }
