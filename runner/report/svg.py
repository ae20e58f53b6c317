"""Small, dependency-free SVG charts for report.html.

Grouped bars with whiskers (several panels sharing one legend), a scatter with labelled
points and joined fronts. Output is plain SVG text: text stays ``<text>``, every string
is XML-escaped, numbers are printed with fixed precision and nothing depends on time,
randomness or the machine, so the same data always gives the same bytes. Text widths are
estimated (there is no font engine here), generously, so that labels do not collide."""

from __future__ import annotations

import colorsys
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

FONT = "system-ui,-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif"
# seaborn's "deep" palette; beyond it, golden-angle hues (distinct, deterministic)
PALETTE = (
    "#4c72b0",
    "#dd8452",
    "#55a868",
    "#c44e52",
    "#8172b3",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
)
INK = "#1d1d1f"
MUTED = "#555555"
GRID = "#e3e3e8"
MAX_LABEL_PX = 150.0  # longer names are cut with "…"; the full name is in a tooltip

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def color(i: int) -> str:
    if i < len(PALETTE):
        return PALETTE[i]
    r, g, b = colorsys.hls_to_rgb(((i - len(PALETTE)) * 137.508 + 17) % 360 / 360, 0.45, 0.55)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def esc(value: Any) -> str:
    """Text or attribute value, XML-escaped (control characters XML forbids become '?')."""
    return html.escape(_CONTROL.sub("?", "" if value is None else str(value)), quote=True)


def num(x: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros, no '-0'."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


_NARROW = frozenset("fijlrtI.,:;!|'`()[]{} /\\-")
_WIDE = frozenset("mwMW@%#&")


def text_width(text: str, size: float) -> float:
    """Estimated rendered width of ``text``: DejaVu Sans metrics (the widest common default
    sans-serif), so labels laid out with it do not collide in narrower fonts either."""
    units = 0.0
    for ch in text:
        if ch in _NARROW:
            units += 0.36
        elif ch in _WIDE:
            units += 0.9
        elif ch.isdigit():
            units += 0.64
        elif ch.isupper():
            units += 0.72
        elif ord(ch) > 0x2E7F:  # CJK and other wide scripts
            units += 1.0
        else:
            units += 0.61
    return units * size


def fit(text: str, max_px: float, size: float) -> str:
    """``text`` cut (with '…') to at most ``max_px`` wide."""
    if text_width(text, size) <= max_px:
        return text
    budget = max_px - text_width("…", size)
    out = ""
    for ch in text:
        if text_width(out + ch, size) > budget:
            break
        out += ch
    return out.rstrip() + "…"


def _attrs(attrs: dict[str, Any]) -> str:
    out = []
    for key, value in attrs.items():
        if value is None:
            continue
        name = "class" if key == "class_" else key.replace("_", "-")
        text = num(value) if isinstance(value, float) else str(value)
        out.append(f' {name}="{esc(text)}"')
    return "".join(out)


class Canvas:
    """SVG elements in drawing order."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def _el(self, tag: str, attrs: dict[str, Any], tip: str | None = None) -> None:
        if tip:
            self.items.append(f"<{tag}{_attrs(attrs)}><title>{esc(tip)}</title></{tag}>")
        else:
            self.items.append(f"<{tag}{_attrs(attrs)}/>")

    def rect(self, x: float, y: float, w: float, h: float, fill: str, tip=None, **attrs) -> None:
        self._el(
            "rect",
            {
                "x": float(x),
                "y": float(y),
                "width": float(w),
                "height": float(h),
                "fill": fill,
                **attrs,
            },
            tip,
        )

    def line(self, x1, y1, x2, y2, stroke: str = INK, width: float = 1.0, **attrs) -> None:
        self._el(
            "line",
            {
                "x1": float(x1),
                "y1": float(y1),
                "x2": float(x2),
                "y2": float(y2),
                "stroke": stroke,
                "stroke_width": float(width),
                **attrs,
            },
        )

    def polyline(self, points: Sequence[tuple[float, float]], stroke: str, **attrs) -> None:
        pts = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        self._el("polyline", {"points": pts, "fill": "none", "stroke": stroke, **attrs})

    def circle(self, cx: float, cy: float, r: float, fill: str, tip=None, **attrs) -> None:
        self._el(
            "circle", {"cx": float(cx), "cy": float(cy), "r": float(r), "fill": fill, **attrs}, tip
        )

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float = 11,
        anchor: str = "start",
        rotate: float | None = None,
        tip: str | None = None,
        lines: Sequence[str] | None = None,
        **attrs,
    ) -> None:
        """One label; ``lines`` stacks several (first baseline at ``y``)."""
        head = {"x": float(x), "y": float(y), "font_size": float(size)}
        if anchor != "start":
            head["text_anchor"] = anchor
        if rotate:
            head["transform"] = f"rotate({num(rotate)} {num(x)} {num(y)})"
        head.update(attrs)
        if lines is None:
            body = esc(text)
        else:
            body = "".join(
                f'<tspan x="{num(x)}" dy="{num(0 if i == 0 else size * 1.2)}">{esc(line)}</tspan>'
                for i, line in enumerate(lines)
            )
        title = f"<title>{esc(tip)}</title>" if tip else ""
        self.items.append(f"<text{_attrs(head)}>{title}{body}</text>")

    def svg(self, width: float, height: float, title: str, class_: str = "") -> str:
        w, h = num(math.ceil(width)), num(math.ceil(height))
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}" role="img" aria-label="{esc(title)}" '
            f'font-family="{FONT}" fill="{INK}"'
            + (f' class="{esc(class_)}"' if class_ else "")
            + ">"
        )
        return "\n".join(
            [head, f"<title>{esc(title)}</title>", '<rect width="100%" height="100%" fill="#fff"/>']
            + self.items
            + ["</svg>"]
        )


# --- axes -----------------------------------------------------------------------------


@dataclass
class Scale:
    """A linear axis: data range [lo, hi] onto pixels [p0, p1], with tick values."""

    lo: float
    hi: float
    ticks: list[float]
    decimals: int
    p0: float = 0.0
    p1: float = 1.0

    def __call__(self, value: float) -> float:
        return self.p0 + (value - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)

    def label(self, value: float) -> str:
        text = f"{value:,.{self.decimals}f}"
        return "0" if text.strip("-0.,") == "" else text


def nice_scale(lo: float, hi: float, target: int = 5, extend: bool = False) -> Scale:
    """Round tick values (1, 2, 2.5, 5 × 10^k) covering [lo, hi]; ``extend`` widens the
    range out to the ticks (bar charts: the top tick sits above the tallest bar)."""
    if not (finite(lo) and finite(hi)):
        lo, hi = 0.0, 1.0
    if hi <= lo:
        pad = abs(hi) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, target)
    mag = 10.0 ** math.floor(math.log10(raw))
    for mult in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = mult * mag
        if (hi - lo) / step <= target:
            break
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    if extend:
        first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
        lo, hi = first * step, last * step
    decimals = max(0, -math.floor(math.log10(step) + 1e-9) + (1 if mult == 2.5 else 0))
    ticks = [round(k * step, decimals + 2) for k in range(first, last + 1)]
    return Scale(lo, hi, ticks, decimals)


def _legend(c: Canvas, x0: float, y0: float, width: float, entries, marker: str = "rect") -> float:
    """Entries (name, color) flowed in rows from (x0, y0); returns the height used."""
    x, y, size = x0, y0, 11
    for name, fill in entries:
        label = fit(name, MAX_LABEL_PX, size)
        w = 14 + text_width(label, size) + 16
        if x > x0 and x + w > x0 + width:
            x, y = x0, y + 17
        if marker == "rect":
            c.rect(x, y + 2, 10, 10, fill)
        else:
            c.circle(x + 5, y + 7, 4.5, fill)
        c.text(x + 14, y + 11, label, size, tip=name if label != name else None, class_="legend")
        x += w
    return y + 17 - y0 if entries else 0.0


def message_chart(title: str, message: str, width: float = 720.0) -> str:
    """A titled box saying why there is nothing to draw."""
    c = Canvas()
    c.text(width / 2, 22, title, 12.5, "middle", font_weight="600")
    c.rect(10.5, 34.5, width - 21, 50, "none", stroke=GRID, stroke_width=1.0)
    c.text(width / 2, 64, message, 12, "middle", fill=MUTED, class_="empty")
    return c.svg(width, 96, title, class_="chart-empty")


# --- bar charts -----------------------------------------------------------------------


@dataclass
class BarPanel:
    """One plot of bars: ``values[(group, series)] = (value, low, high)``; a whisker is drawn
    from low to high when they differ from the value. A value of None shows 'n/a'."""

    title: str
    ylabel: str
    unit: str
    values: dict[tuple[int, int], tuple[float | None, float | None, float | None]] = field(
        default_factory=dict
    )
    value_labels: bool = False  # print each bar's value above it
    value_format: str = ".1f"
    kind: str = "bar"  # class of the bar rects, for tests and styling


def bar_chart(
    title: str,
    panels: list[BarPanel],
    groups: list[str],
    series: list[str],
    *,
    color_by_group: bool = False,
    legend: bool = True,
    plot_height: float = 200.0,
    max_width: float = 1060.0,
) -> str:
    """Bars per series within each group (a group label may hold several lines), one panel
    per metric, panels side by side when they fit in ``max_width`` and stacked otherwise."""
    n_g, n_s = max(1, len(groups)), max(1, len(series))
    total = n_g * n_s
    bar = 30.0 if total <= 12 else 18.0 if total <= 40 else 12.0
    gap = max(16.0, bar) if n_s > 1 else bar * 0.5
    # colours repeat (or bars are anonymous): name every bar under it
    bar_names = not color_by_group and len(series) > len(PALETTE)
    scales, lefts = [], []
    for panel in panels:
        tops = [v for value, lo, hi in panel.values.values() for v in (value, lo, hi) if finite(v)]
        scale = nice_scale(min([0.0, *tops]), max([0.0, *tops]), extend=True)
        tick_w = max(text_width(scale.label(t), 10) for t in scale.ticks)
        scales.append(scale)
        lefts.append(8 + 14 + 6 + tick_w + 6)
    room = max_width - max(lefts, default=0.0) - 14  # widest plot that fits
    if n_g * (n_s * bar + gap) > room:  # thinner bars, down to 10 px (then it scrolls)
        shrink = room / (n_g * (n_s * bar + gap))
        bar, gap = max(10.0, bar * shrink), max(6.0 if n_s > 1 else 4.0, gap * shrink)
    plot_w = max(320.0 if len(panels) > 1 else 360.0, n_g * (n_s * bar + gap))
    slot = plot_w / n_g
    bar = min(60.0, (slot - gap) / n_s)
    label_size = 11.0
    group_lines = [g.split("\n") for g in groups]
    flat = all(
        text_width(line, label_size) <= slot - 4 for lines in group_lines for line in lines
    ) and all(len(lines) <= 3 for lines in group_lines)
    overhang = 0.0  # how far rotated labels reach left of the plot
    if flat:
        group_h = 6 + max((len(lines) for lines in group_lines), default=1) * label_size * 1.2
    else:  # rotated 45°
        widths = [
            text_width(fit(" ".join(ls), MAX_LABEL_PX, label_size), label_size)
            for ls in group_lines
        ]
        group_h = 10 + max(widths, default=0.0) * 0.71 + label_size
        overhang = max([0.0] + [w * 0.71 + 4 - slot * (g + 0.5) for g, w in enumerate(widths)])
    names_h = 0.0
    if bar_names:
        names_h = 6 + max(text_width(fit(s, 110, 9), 9) for s in series)

    layouts = []
    for panel, scale, left in zip(panels, scales, lefts, strict=True):
        left = max(left, overhang + 4)
        top = 28.0
        if panel.value_labels:
            labels = [
                format(v[0], panel.value_format) for v in panel.values.values() if finite(v[0])
            ]
            longest = max((text_width(label, 10) for label in labels), default=0.0)
            top += 12 if longest <= _label_room(bar, slot, n_s) else longest + 8  # else rotated
        width = left + plot_w + 14
        height = top + plot_height + names_h + group_h
        layouts.append((panel, scale, left, top, width, height))
    side = sum(lay[4] for lay in layouts) <= max_width
    geometry = _BarGeometry(
        plot_w,
        plot_height,
        groups,
        series,
        group_lines,
        flat,
        bar,
        slot,
        names_h,
        color_by_group,
    )
    c = Canvas()
    x0 = y0 = 0.0
    for panel, scale, left, top, width, height in layouts:
        _bar_panel(c, geometry, x0, y0, panel, scale, left, top)
        if side:
            x0 += width
        else:
            y0 += height
    full_w = x0 if side else max(lay[4] for lay in layouts)
    full_h = max(lay[5] for lay in layouts) if side else y0
    if legend and series and not bar_names:
        full_h += 4 + _legend(
            c, 10, full_h + 4, full_w - 20, [(s, color(i)) for i, s in enumerate(series)]
        )
    return c.svg(full_w, full_h + 6, title, class_="chart-bars")


def _label_room(bar: float, slot: float, n_s: int) -> float:
    """Widest value label that stays level above its bar without touching the next one's."""
    return slot - 6 if n_s == 1 else bar + 2


@dataclass
class _BarGeometry:
    """What every panel of one bar chart shares: plot size, groups, series, bar layout."""

    plot_w: float
    plot_h: float
    groups: Sequence[str]
    series: Sequence[str]
    group_lines: list[list[str]]
    flat: bool  # group labels level (else rotated 45 degrees)
    bar: float
    slot: float
    names_h: float  # room for per-bar names under the axis (0 when the legend names them)
    color_by_group: bool


def _bar_panel(
    c: Canvas,
    geometry: _BarGeometry,
    x0: float,
    y0: float,
    panel: BarPanel,
    scale: Scale,
    left: float,
    top: float,
) -> None:
    g_ = geometry
    plot_w, plot_h, groups, series = g_.plot_w, g_.plot_h, g_.groups, g_.series
    group_lines, flat, bar, slot = g_.group_lines, g_.flat, g_.bar, g_.slot
    names_h, color_by_group = g_.names_h, g_.color_by_group
    px0, py0 = x0 + left, y0 + top
    scale.p0, scale.p1 = py0 + plot_h, py0
    c.text(px0 + plot_w / 2, y0 + 18, panel.title, 12.5, "middle", font_weight="600")
    c.text(x0 + 8 + 11, py0 + plot_h / 2, panel.ylabel, 11, "middle", rotate=-90, fill=MUTED)
    for t in scale.ticks:
        y = scale(t)
        c.line(px0, y, px0 + plot_w, y, GRID)
        c.line(px0 - 4, y, px0, y, INK)
        c.text(px0 - 6, y + 3.5, scale.label(t), 10, "end")
    base = scale(max(scale.lo, 0.0))
    n_s = max(1, len(series))
    for (g, s), (value, lo, hi) in sorted(panel.values.items()):
        cx = px0 + slot * (g + 0.5) + (s - (n_s - 1) / 2) * bar
        fill = color(g if color_by_group else s)
        group = " ".join(group_lines[g]) if g < len(group_lines) else ""
        name = series[s] if s < len(series) and series[s] else ""
        who = " · ".join(x for x in (name, group) if x)
        if not finite(value):
            c.text(cx, base - 3, "n/a", 9, "middle", fill=MUTED, tip=f"{who}: no value")
            continue
        top_y = scale(value)
        tip = f"{who}: {value:,.4g} {panel.unit}".rstrip()
        has_range = finite(lo) and finite(hi) and (lo != value or hi != value)
        if has_range:
            tip += f" (range {lo:,.4g}–{hi:,.4g})"
        c.rect(
            cx - bar / 2 + 0.5,
            min(top_y, base),
            max(1.0, bar - 1),
            abs(base - top_y),
            fill,
            tip,
            class_=panel.kind,
            data_series=name or None,
            data_group=group or None,
            data_value=f"{value:.6g}",
        )
        if has_range:
            cap = min(8.0, bar * 0.5) / 2
            y_lo, y_hi = scale(lo), scale(hi)
            c.line(cx, y_lo, cx, y_hi, INK, 1.2, class_="whisker")
            c.line(cx - cap, y_lo, cx + cap, y_lo, INK, 1.2)
            c.line(cx - cap, y_hi, cx + cap, y_hi, INK, 1.2)
        if panel.value_labels:
            label = format(value, panel.value_format)
            y_label = min(top_y, scale(hi) if has_range else top_y) - 4
            if text_width(label, 10) <= _label_room(bar, slot, n_s):
                c.text(cx, y_label, label, 10, "middle")
            else:
                c.text(cx + 3.5, y_label, label, 10, rotate=-90)
    # axes on top of the bars
    c.line(px0, py0, px0, py0 + plot_h, INK)
    c.line(px0, base, px0 + plot_w, base, INK)
    y_axis = py0 + plot_h
    if names_h:
        for g in range(len(groups)):
            for s, name in enumerate(series):
                if (g, s) not in panel.values:
                    continue
                cx = px0 + slot * (g + 0.5) + (s - (len(series) - 1) / 2) * bar
                label = fit(name, 110, 9)
                c.text(
                    cx + 3,
                    y_axis + 5,
                    label,
                    9,
                    "end",
                    rotate=-90,
                    tip=name if label != name else None,
                    class_="bar-name",
                )
    for g, lines in enumerate(group_lines):
        cx = px0 + slot * (g + 0.5)
        c.line(cx, y_axis, cx, y_axis + 4, INK)
        full = " ".join(lines)
        if flat:
            c.text(cx, y_axis + names_h + 15, full, 11, "middle", lines=lines, class_="tick")
        else:
            label = fit(full, MAX_LABEL_PX, 11)
            y = y_axis + names_h + 14
            c.text(
                cx + 4,
                y,
                label,
                11,
                "end",
                rotate=-45,
                tip=full if label != full else None,
                class_="tick",
            )


# --- scatter --------------------------------------------------------------------------


@dataclass
class Series:
    name: str
    points: list[tuple[float, float, str]]  # x, y, label
    front: list[tuple[float, float]] = field(default_factory=list)  # joined by a line


def scatter_chart(
    title: str,
    xlabel: str,
    ylabel: str,
    series: list[Series],
    *,
    empty: str = "no data",
    width: float = 720.0,
    plot_height: float = 300.0,
    x_name: str = "x",
    y_name: str = "y",
) -> str:
    """Points per series, each labelled (labels that would overlap another are left to the
    point's tooltip), the series' front drawn as a line, a legend of the series below."""
    series = [
        Series(s.name, [p for p in s.points if finite(p[0]) and finite(p[1])], s.front)
        for s in series
    ]
    series = [s for s in series if s.points]
    if not series:
        return message_chart(title, empty, width)
    c = Canvas()
    xs = [p[0] for s in series for p in s.points]
    ys = [p[1] for s in series for p in s.points]

    def padded(lo: float, hi: float) -> tuple[float, float]:
        pad = (hi - lo) * 0.08 if hi > lo else (abs(hi) * 0.02 or 1.0)
        return lo - pad, hi + pad

    sx = nice_scale(*padded(min(xs), max(xs)), target=8)
    sy = nice_scale(*padded(min(ys), max(ys)), target=6)
    tick_w = max(text_width(sy.label(t), 10) for t in sy.ticks)
    left, top = 8 + 14 + 6 + tick_w + 6, 30.0
    plot_w = width - left - 16
    px0, py0 = left, top
    sx.p0, sx.p1 = px0, px0 + plot_w
    sy.p0, sy.p1 = py0 + plot_height, py0

    c.text(px0 + plot_w / 2, 20, title, 12.5, "middle", font_weight="600")
    shown = fit(ylabel, plot_height, 11)
    tip = ylabel if shown != ylabel else None
    c.text(8 + 11, py0 + plot_height / 2, shown, 11, "middle", rotate=-90, fill=MUTED, tip=tip)
    for t in sy.ticks:
        y = sy(t)
        c.line(px0, y, px0 + plot_w, y, GRID)
        c.line(px0 - 4, y, px0, y, INK)
        c.text(px0 - 6, y + 3.5, sy.label(t), 10, "end")
    last_right = -math.inf
    for t in sx.ticks:
        x = sx(t)
        c.line(x, py0, x, py0 + plot_height, GRID)
        c.line(x, py0 + plot_height, x, py0 + plot_height + 4, INK)
        label = sx.label(t)
        half = text_width(label, 10) / 2
        if x - half > last_right + 4:  # skip a tick label that would touch the previous one
            c.text(x, py0 + plot_height + 16, label, 10, "middle")
            last_right = x + half
    c.rect(px0, py0, plot_w, plot_height, "none", stroke=INK, stroke_width=1.0)
    c.text(px0 + plot_w / 2, py0 + plot_height + 34, xlabel, 11, "middle", fill=MUTED)

    placed: list[tuple[float, float, float, float]] = []
    for i, s in enumerate(series):
        fill = color(i)
        if len(s.front) > 1:
            pts = [(sx(x), sy(y)) for x, y in s.front if finite(x) and finite(y)]
            c.polyline(pts, fill, stroke_width=1.6, stroke_opacity=0.6, class_="front")
    for i, s in enumerate(series):
        fill = color(i)
        for x, y, name in s.points:
            on_front = (x, y) in s.front
            tip = f"{name} · {s.name}: {x_name} {x:,.4g}, {y_name} {y:.4g}"
            c.circle(
                sx(x),
                sy(y),
                4.5,
                fill,
                tip,
                stroke="#fff",
                stroke_width=1.0,
                class_="point",
                data_series=s.name,
                data_label=name,
                data_front="1" if on_front else None,
            )
            placed.append((sx(x) - 4.5, sy(y) - 4.5, sx(x) + 4.5, sy(y) + 4.5))
    # labels: front points first (they matter most), then the rest; a label that would
    # overlap a point or another label tries the other corners, else stays a tooltip
    order = sorted(
        ((i, j) for i, s in enumerate(series) for j in range(len(s.points))),
        key=lambda ij: (
            series[ij[0]].points[ij[1]][:2] not in series[ij[0]].front,
            ij,
        ),
    )
    bounds = (px0 + 1, py0 + 1, px0 + plot_w - 1, py0 + plot_height - 1)
    for i, j in order:
        x, y, name = series[i].points[j]
        label = fit(name, 130, 10)
        w, h = text_width(label, 10), 10.0
        px, py = sx(x), sy(y)
        for dx, dy, anchor in (
            (6, -6, "start"),
            (6, 13, "start"),
            (-6, -6, "end"),
            (-6, 13, "end"),
        ):
            bx0 = px + dx if anchor == "start" else px + dx - w
            box = (bx0, py + dy - h + 1, bx0 + w, py + dy + 2)
            inside = (
                box[0] >= bounds[0]
                and box[1] >= bounds[1]
                and box[2] <= bounds[2]
                and box[3] <= bounds[3]
            )
            clear = all(
                box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in placed
            )
            if inside and clear:
                c.text(
                    px + dx,
                    py + dy,
                    label,
                    10,
                    anchor,
                    tip=name if label != name else None,
                    class_="point-label",
                )
                placed.append(box)
                break
    legend_y = py0 + plot_height + 44
    h = _legend(
        c,
        px0,
        legend_y,
        plot_w,
        [(s.name, color(i)) for i, s in enumerate(series)],
        marker="circle",
    )
    return c.svg(width, legend_y + h + 6, title, class_="chart-scatter")
