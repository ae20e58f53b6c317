"""Vega-Lite specs to inline SVG for report.html, through vl-convert (docs/charts.md).

vl-convert bundles Vega-Lite and Vega in an embedded JavaScript engine, so a chart is
rendered offline, without a browser, to a static SVG with text kept as ``<text>``; the page
needs no script. Its import is light; the engine starts on the first chart (about a second
on a cold process, docs/charts.md), so it is imported here, inside the function, only
when a report is rendered (`ovrun --help` / `validate` never reach it).

The SVG is normalised so that several charts can share one page and the same results give
the same bytes: element ids get the chart's prefix (Vega numbers clip paths per process),
and each mark's accessible description (Vega's ``aria-label``) is repeated as a ``<title>``
child, which browsers show as a tooltip.

Each chart carries the sha256 of what drew it (spec, title, prefix, library versions) as
``data-spec``; re-rendering a page (`ovrun report`) reuses the charts of the page it replaces
whose digest is unchanged, so the engine starts only when a chart changes."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Mapping
from typing import Any

# Pinned so that a vl-convert upgrade that adds a newer default does not change the page.
VEGA_LITE = "6.4"
FONT = "system-ui,-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif"
# seaborn's "deep" palette then tableau20: distinct, and the same on every page
PALETTE = [
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
    "#1f77b4",
    "#aec7e8",
    "#ff7f0e",
    "#ffbb78",
    "#2ca02c",
    "#98df8a",
    "#d62728",
    "#ff9896",
    "#9467bd",
    "#c5b0d5",
]
CONFIG: dict[str, Any] = {
    "font": FONT,
    "view": {"stroke": "#bbb"},
    "axis": {
        "labelFontSize": 10,
        "titleFontSize": 11,
        "titleColor": "#555",
        "gridColor": "#e3e3e8",
    },
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "labelLimit": 150},
    "title": {"fontSize": 12.5, "fontWeight": 600, "anchor": "middle"},
    "range": {"category": PALETTE},
    "aria": True,
}

NORMALISE = 1  # bump when normalise() changes what it writes: old pages' charts are redrawn
_ID = re.compile(r'\bid="([^"]+)"')
_DRAWN = re.compile(r'<svg [^>]*\bdata-spec="([0-9a-f]{64})".*?</svg>', re.S)
# a mark Vega described for screen readers: <path ... aria-label="..." .../>
_MARK = re.compile(r'<(path|text|line|rect|circle)([^>]*?\baria-label="([^"]*)"[^>]*?)(/>|>)')


def to_svg(
    spec: dict[str, Any], prefix: str, title: str, drawn: Mapping[str, str] | None = None
) -> str:
    """The chart as one ``<svg>`` element: ids under ``prefix``, ``title`` as its text
    alternative, every described mark with a tooltip. ``drawn`` (digest -> SVG, from
    ``drawn_charts``) holds charts already drawn: a match is returned without rendering."""
    full = {"$schema": f"https://vega.github.io/schema/vega-lite/v{VEGA_LITE[0]}.json", **spec}
    full.setdefault("description", title)
    full["config"] = {**CONFIG, **full.get("config", {})}
    key = digest(full, prefix, title)
    if drawn and key in drawn:
        return drawn[key]
    try:
        import vl_convert  # the JS engine starts on the first call; only reports get here
    except ImportError:  # a core dependency, but a page without charts beats no page
        return (
            f'<p class="chart-empty muted">{html.escape(title)}: not drawn, vl-convert-python '
            "is not installed (pip install vl-convert-python)</p>"
        )
    text = vl_convert.vegalite_to_svg(full, vl_version=VEGA_LITE, allowed_base_urls=[])
    return normalise(text, prefix, title).replace("<svg ", f'<svg data-spec="{key}" ', 1)


def digest(spec: dict[str, Any], prefix: str, title: str) -> str:
    """sha256 of everything a chart's SVG depends on."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        library = version("vl-convert-python")
    except PackageNotFoundError:
        library = None
    preimage = {"spec": spec, "prefix": prefix, "title": title, "vl-convert": library}
    preimage |= {"vega-lite": VEGA_LITE, "normalise": NORMALISE}
    text = json.dumps(preimage, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def drawn_charts(page: str | None) -> dict[str, str]:
    """The charts of an earlier page by digest (empty for no page)."""
    return {m.group(1): m.group(0) for m in _DRAWN.finditer(page or "")}


def normalise(svg: str, prefix: str, title: str) -> str:
    """Ids unique to this chart, a root title and role, tooltips on described marks."""
    ids = dict.fromkeys(_ID.findall(svg))
    for old in ids:
        new = f"{prefix}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"').replace(f"#{old})", f"#{new})")
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
    svg = _MARK.sub(_with_title, svg)
    head, _, body = svg.partition(">")
    label = html.escape(title, quote=True)
    return f'{head} role="img" aria-label="{label}"><title>{label}</title>{body}'


def _with_title(match: re.Match[str]) -> str:
    tag, attrs, label, end = match.groups()
    tip = f"<title>{label}</title>"  # already escaped as an attribute value
    if end == "/>":
        return f"<{tag}{attrs}>{tip}</{tag}>"
    return f"<{tag}{attrs}>{tip}"
