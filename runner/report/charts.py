"""The report's bar and scatter charts as Vega-Lite specs (rendered by runner.report.vega).

Each builder takes plain rows and returns a spec: the data go in as ``values`` (no URL, so
nothing is fetched), the figures keep full precision in the data and are rounded only in
labels and tooltips."""

from __future__ import annotations

import colorsys
import math
from typing import Any

from runner.report import labels
from runner.report.vega import PALETTE

NAME_LIMIT = 150  # px: longer names are cut with "…" on axes and legends; tooltips keep them


def finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def colors(n: int) -> list[str]:
    """``n`` distinct colours: the palette, then golden-angle hues (distinct, deterministic),
    so that no two series share a colour however many variants a search makes."""
    out = PALETTE[:n]
    for i in range(n - len(out)):
        r, g, b = colorsys.hls_to_rgb((i * 137.508 + 17) % 360 / 360, 0.45, 0.55)
        out.append(f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}")
    return out


def legend_columns(n: int) -> int:
    return 1 if n <= 1 else min(n, 6)


def _who(row: dict[str, Any]) -> str:
    names = dict.fromkeys(str(x) for x in (row["series"], row["group"]) if x)
    return " · ".join(names)  # the size chart's group is its series: named once


def _bar_tip(row: dict[str, Any], unit: str) -> str:
    """A bar's tooltip: whose it is, its value and the repeats' range when there is one."""
    tip = f"{_who(row)}: {row['value']:,.4g} {unit}".rstrip()
    low, high = row.get("low"), row.get("high")
    if finite(low) and finite(high) and (low != row["value"] or high != row["value"]):
        tip += f" (range {low:,.4g}–{high:,.4g})"
    return tip


def bar_panels(
    panels: list[dict[str, Any]],
    groups: list[str],
    series: list[str],
    *,
    group_title: str,
    series_title: str,
    legend: bool = True,
    height: float = 200.0,
    grouped: bool = True,
) -> dict[str, Any]:
    """Bars per series within each group (``grouped``; else one bar per group), one panel
    per metric, side by side. A panel is
    ``{"title", "ylabel", "unit", "kind", "rows": [{group, series, value, low, high}], "labels"}``:
    a whisker spans low..high where they differ from the value; a missing value shows 'n/a'."""
    domain = list(dict.fromkeys(series))
    many = max(1, len(groups)) * (len(domain) if grouped else 1)
    step = 30 if many <= 12 else 18 if many <= 40 else 12
    if not grouped:
        step = 44 if many <= 20 else step  # room for each bar's name and value
    # a panel no narrower than its title and axis need (else the bars decide the width)
    width: Any = {"step": step} if step * many >= 320 else 320
    multi_line = "split(datum.label, '\\n')"
    x = {
        "field": "group",
        "type": "nominal",
        "sort": groups,
        "title": group_title,
        "axis": {"labelExpr": multi_line, "labelLimit": NAME_LIMIT, "labelAngle": 0}
        if all(len(g) <= 14 for g in groups) and len(groups) <= 12
        else {"labelLimit": NAME_LIMIT, "labelAngle": -45},
    }
    offset = {"field": "series", "type": "nominal", "sort": domain, "title": series_title}
    color = _series_color(domain, series_title, legend)
    charts = []
    for panel in panels:
        rows = panel["rows"]
        ok = [r for r in rows if finite(r["value"])]
        missing = [r | {"value": 0.0, "text": "n/a"} for r in rows if not finite(r["value"])]
        ranged = [
            r
            for r in ok
            if finite(r.get("low"))
            and finite(r.get("high"))
            and (r["low"] != r["value"] or r["high"] != r["value"])
        ]
        y_title = panel["ylabel"]
        fmt = panel.get("format", ",.4~g")
        unit = panel.get("unit", "")
        ok = [r | {"tip": _bar_tip(r, unit)} for r in ok]
        missing = [r | {"tip": f"{_who(r)}: no value"} for r in missing]
        ranged = [r | {"tip": _bar_tip(r, unit)} for r in ranged]
        tip = {"field": "tip"}  # Vega writes it as the mark's aria-label, shown as a tooltip
        layers: list[dict[str, Any]] = [
            {
                "data": {"values": ok},
                "mark": {"type": "bar", "ariaRoleDescription": panel["kind"]},
                "encoding": {
                    "y": {"field": "value", "type": "quantitative", "title": y_title},
                    "color": color,
                    "description": tip,
                },
            }
        ]
        if ranged:
            layers.append(
                {
                    "data": {"values": ranged},
                    "mark": {"type": "rule", "ariaRoleDescription": "whisker", "strokeWidth": 1.2},
                    "encoding": {
                        "y": {"field": "low", "type": "quantitative"},
                        "y2": {"field": "high"},
                        "color": {"value": "#1d1d1f"},
                        "description": tip,
                    },
                }
            )
        if panel.get("labels") and ok:
            layers.append(
                {
                    "data": {"values": ok},
                    "mark": {"type": "text", "dy": -6, "fontSize": 10, "aria": False},
                    "encoding": {
                        "y": {"field": "value", "type": "quantitative"},
                        "text": {"field": "value", "type": "quantitative", "format": fmt},
                    },
                }
            )
        if missing:
            layers.append(
                {
                    "data": {"values": missing},
                    "mark": {
                        "type": "text",
                        "dy": -5,
                        "fontSize": 9,
                        "color": "#555",
                        "ariaRoleDescription": "missing value",
                    },
                    "encoding": {
                        "y": {"field": "value", "type": "quantitative"},
                        "text": {"field": "text"},
                        "description": tip,
                    },
                }
            )
        charts.append(
            {
                "title": panel["title"],
                "height": height,
                "width": width,
                "encoding": {"x": x, "xOffset": offset} if grouped else {"x": x},
                "layer": layers,
            }
        )
    return {"hconcat": charts} if len(charts) > 1 else charts[0]


def scatter(
    points: list[dict[str, Any]],
    fronts: list[dict[str, Any]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    series_title: str,
    x_name: str,
    y_name: str,
    width: float = 640.0,
    height: float = 300.0,
) -> dict[str, Any]:
    """Points ``{x, y, label, series, front}`` coloured by series, each series' front joined
    by a line; labels where they overlap nothing, front points first (the others keep
    their tooltip)."""
    domain = list(dict.fromkeys(p["series"] for p in points))
    color = _series_color(domain, series_title, True)
    # fixed domains (padded, not rounded) so that label positions can be computed here
    x_dom, y_dom = _padded([p["x"] for p in points]), _padded([p["y"] for p in points])
    x = {"field": "x", "type": "quantitative", "title": x_title}
    x["scale"] = {"zero": False, "nice": False, "domain": list(x_dom)}
    y = {"field": "y", "type": "quantitative", "title": y_title}
    y["scale"] = {"zero": False, "nice": False, "domain": list(y_dom)}
    points = [
        p | {"tip": f"{p['label']} · {p['series']}: {x_name} {p['x']:,.4g}, {y_name} {p['y']:.4g}"}
        for p in points
    ]
    order = sorted(range(len(points)), key=lambda i: (not points[i]["front"], i))
    labelled = [points[i] for i in order]
    at = [
        (
            (p["x"] - x_dom[0]) / (x_dom[1] - x_dom[0]) * width,
            height - (p["y"] - y_dom[0]) / (y_dom[1] - y_dom[0]) * height,
        )
        for p in labelled
    ]
    return {
        "title": title,
        "width": width,
        "height": height,
        "encoding": {"x": x, "y": y, "color": color},
        "layer": [
            {
                "data": {"values": fronts},
                "mark": {
                    "type": "line",
                    "strokeWidth": 1.6,
                    "opacity": 0.6,
                    "ariaRoleDescription": "front",
                },
                "encoding": {
                    "order": {"field": "x", "type": "quantitative"},
                    "description": {"field": "series"},
                },
            },
            {
                "data": {"values": points},
                "mark": {
                    "type": "point",
                    "filled": True,
                    "size": 70,
                    "opacity": 1,
                    "stroke": "#fff",
                    "strokeWidth": 1,
                    "ariaRoleDescription": "point",
                },
                "encoding": {"description": {"field": "tip"}},
            },
            *labels.label_layers(labelled, at, (width, height), "point label"),
        ],
    }


def _padded(values: list[float]) -> tuple[float, float]:
    """The values' range with 8% margins (a single value gets a small one)."""
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 if hi > lo else (abs(hi) * 0.02 or 1.0)
    return lo - pad, hi + pad


def _series_color(domain: list[str], title: str, legend: bool) -> dict[str, Any]:
    """The colour encoding of the ``series`` field: one colour per series, legend below."""
    return {
        "field": "series",
        "type": "nominal",
        "sort": domain,
        "scale": {"domain": domain, "range": colors(len(domain))},
        "title": title,
        "legend": {
            "orient": "bottom",
            "columns": legend_columns(len(domain)),
            "symbolLimit": 0,
            "columnPadding": 16,
        }
        if legend
        else None,
    }
