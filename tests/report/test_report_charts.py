"""report.html's charts on synthetic results (Vega-Lite rendered by vl-convert): one bar per ok
cell with heights proportional to the figures, whiskers, Pareto fronts, escaping, edge cases,
many variants, and byte-identical pages across processes."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

from charts_util import (
    SVG,
    add_roofline,
    charts,
    marks,
    position,
    rect_of,
    synthetic_doc,
    texts,
    titles,
    vertices,
)
from recipes_util import REPO


def _tip_value(mark: ET.Element) -> float:
    """The figure a bar's description states: 'variant · config: 1,234 unit …'."""
    return float(mark.get("aria-label").split(": ", 1)[1].split()[0].replace(",", ""))


def test_one_bar_per_ok_cell_with_heights_proportional_to_throughput():
    from runner.report.html import device_chart

    doc = synthetic_doc(["fp32", "int8", "int4"], skipped=(("int4", "CPU:LATENCY"),))
    svg = ET.fromstring(device_chart(doc, "CPU"))
    ok = [b for b in doc["benchmarks"] if b["status"] == "ok"]
    bars = marks(svg, "bar-throughput")
    assert len(bars) == len(ok) == 5 and len(marks(svg, "bar-latency")) == 5
    assert sorted(b.get("aria-label").split(":")[0] for b in bars) == sorted(
        f"{b['variant']} · {b['hint']}" for b in ok
    )
    for bar, row in zip(bars, ok, strict=True):  # drawn in the data's order
        assert bar.get("aria-label").startswith(f"{row['variant']} · {row['hint']}: ")
        assert _tip_value(bar) == float(f"{row['throughput']:.4g}")
    heights = [rect_of(b)[3] for b in bars]
    ratios = [h / b["throughput"] for h, b in zip(heights, ok, strict=True)]
    assert max(ratios) - min(ratios) < 1e-3 * max(ratios)
    bottoms = {round(rect_of(b)[1] + rect_of(b)[3], 1) for b in bars}
    assert len(bottoms) == 1  # all bars stand on the same zero line
    whiskers = marks(svg, "whisker")
    assert len(whiskers) == 10  # the repeats' range, on every bar of both panels
    assert all("(range " in w.get("aria-label") for w in whiskers)
    shown = texts(svg)
    assert "CPU: throughput" in shown and "throughput (samples/s)" in shown
    assert "median latency (ms)" in shown and {"LATENCY", "THROUGHPUT"} <= set(shown)
    assert {"fp32", "int8", "int4"} <= set(shown)  # the legend
    # a text alternative for the whole chart and a tooltip on every bar
    assert svg.get("role") == "img" and svg.find(f"{SVG}title").text.startswith("CPU: throughput")
    assert all(b.find(f"{SVG}title").text == b.get("aria-label") for b in bars)
    assert svg.find(f".//{SVG}image") is None and svg.find(f".//{SVG}script") is None


def test_size_chart_and_pareto_chart_show_every_variant():
    from runner.report.html import pareto_chart, pareto_front, size_chart, variant_sizes

    doc = synthetic_doc(["fp32", "int8", "int4"])
    size = ET.fromstring(size_chart(doc))
    bars = marks(size, "bar-size")
    sizes = variant_sizes(doc)
    assert [b.get("aria-label").split(":")[0] for b in bars] == list(sizes)
    assert list(sizes) == ["fp32", "int8", "int4"]
    k = rect_of(bars[0])[3] / sizes["fp32"]
    for bar, mb in zip(bars, sizes.values(), strict=True):
        assert abs(rect_of(bar)[3] - k * mb) < 0.02
    assert "IR size on disk (MB)" in texts(size) and "90.0" in texts(size)

    pareto = ET.fromstring(pareto_chart(doc))
    points = marks(pareto, "point")
    assert len(points) == 6  # 3 variants × 2 cells, all with an accuracy
    assert {p.get("aria-label").split(" · ")[0] for p in points} == {"fp32", "int8", "int4"}
    assert sum(t in ("fp32", "int8", "int4") for t in texts(pareto)) == 6  # every point labelled
    fronts = marks(pareto, "front")
    assert len(fronts) == 2
    for cell in ("CPU:LATENCY", "CPU:THROUGHPUT"):
        pts = [
            (b["throughput"], 1.0 - 0.004 * k + 0.0001 * k * k)
            for k, b in enumerate(b for b in doc["benchmarks"] if b["cell"] == cell)
        ]
        (line,) = [f for f in fronts if f.get("aria-label") == cell]
        assert len(vertices(line)) == len(pareto_front(pts))
    shown = texts(pareto)
    assert "accuracy vs throughput (lines join the Pareto-optimal variants)" in shown
    assert "throughput (samples/s) — higher is better" in shown
    assert "cosine vs fp32 — higher is better" in shown


def test_user_strings_are_escaped():
    from runner.report.html import render

    nasty = ["a<b>&\"c'", "</svg><script>alert(1)</script>", "x]]>&amp;"]
    doc = synthetic_doc(["fp32", *nasty], cells=("CPU:LATENCY", 'CPU:<T&"X>'))
    page = render(doc)
    assert "<script" not in page and "<b>" not in page
    found_charts = charts(page)
    assert set(found_charts) == {"chart-device-CPU", "chart-pareto", "chart-size"}
    for svg in found_charts.values():  # parsed back: the exact strings, as text or tooltip
        found = "\n".join(texts(svg) + titles(svg))
        assert all(name in found for name in nasty)
    assert '<T&"X>' in texts(found_charts["chart-device-CPU"])


def test_same_results_give_byte_identical_pages_across_processes(tmp_path):
    doc = synthetic_doc([f"v{i}" for i in range(12)])
    (tmp_path / "results.json").write_text(json.dumps(doc))
    code = (
        "import json, sys; from runner.report.html import render; "
        "doc = json.load(open(sys.argv[1])); first = render(doc); "
        "assert render(doc) == first, 'a second render in the same process differs'; "
        "sys.stdout.write(first); "
        "sys.stdout.write('\\nMODULES ' + ' '.join(sorted(sys.modules)))"
    )
    pages = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "TZ": "UTC"}
        done = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "results.json")],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
        page, _, modules = done.stdout.rpartition("\nMODULES ")
        pages.append(page)
        loaded = {m.split(".")[0] for m in modules.split()}
        assert "vl_convert" in loaded and "matplotlib" not in loaded
    assert pages[0] == pages[1]
    ids = re.findall(r'\bid="([^"]+)"', pages[0])
    assert len(ids) == len(set(ids))  # several charts on one page: no clashing ids


def test_edge_cases_render_readable_charts():
    from runner.report.html import device_chart, pareto_chart, render, size_chart

    # nothing ran: the page says so and the figures explain why they are empty
    none_ok = synthetic_doc(
        ["fp32", "int8"],
        skipped=tuple((v, c) for v in ("fp32", "int8") for c in ("CPU:LATENCY", "CPU:THROUGHPUT")),
    )
    page = render(none_ok)
    assert "no benchmark cell ran" in page and "chart-device" not in page
    assert "no accuracy figures (no evaluate: section)" in page
    assert "no model sizes recorded" in page and "<svg" not in page

    # one variant, no evaluation: bars, a size, points without an accuracy axis of their own
    one = synthetic_doc(["fp32"], evaluate=False)
    assert len(marks(ET.fromstring(device_chart(one, "CPU")), "bar-throughput")) == 2
    assert len(marks(ET.fromstring(size_chart(one)), "bar-size")) == 1
    assert len(marks(ET.fromstring(pareto_chart(one)), "point")) == 2

    # zero and missing figures: a zero-height bar, an 'n/a' mark, no NaN in the SVG
    odd = synthetic_doc(["fp32", "int8"])
    odd["benchmarks"][0]["throughput"] = 0.0
    odd["benchmarks"][0]["repeats"] = []
    del odd["benchmarks"][1]["latency_ms"]["median"]
    text = device_chart(odd, "CPU")
    svg = ET.fromstring(text)
    (zero,) = [
        b for b in marks(svg, "bar-throughput") if b.get("aria-label").startswith("fp32 · LATENCY")
    ]
    assert rect_of(zero)[3] == 0
    assert len(marks(svg, "bar-latency")) == 3 and "n/a" in texts(svg)
    (missing,) = marks(svg, "missing value")
    assert missing.get("aria-label") == "fp32 · THROUGHPUT: no value"
    assert not re.search(r"nan|inf", text, re.I)
    render(odd)

    # a very long name is cut in the picture, kept whole in its tooltip
    long = "int4_sym_group64_ratio0.8_awq_scale_estimation_" * 4
    doc = synthetic_doc(["fp32", long])
    for chart in (device_chart(doc, "CPU"), size_chart(doc), pareto_chart(doc)):
        svg = ET.fromstring(chart)
        assert long not in texts(svg) and any(t.endswith("…") for t in texts(svg))
        assert any(long in t for t in titles(svg))
        assert float(svg.get("width")) <= 1100


def test_dozens_of_variants_stay_legible():
    from runner.report.html import device_chart, pareto_chart, size_chart
    from runner.report.labels import LIMIT_PX, text_width

    names = [f"search_candidate_{i:02d}" for i in range(40)]
    doc = synthetic_doc(names)
    svg = ET.fromstring(device_chart(doc, "CPU"))
    bars = marks(svg, "bar-throughput")
    assert len(bars) == 80 and min(rect_of(b)[2] for b in bars) >= 10
    assert len({b.get("fill") for b in bars}) == 40  # a colour per variant
    legend = [t for t in texts(svg) if t.startswith("search_candidate_")]
    assert sorted(set(legend)) == names  # every variant named in the legend
    size = ET.fromstring(size_chart(doc))
    assert len(marks(size, "bar-size")) == 40
    pareto = ET.fromstring(pareto_chart(doc))
    points = marks(pareto, "point")
    assert len(points) == 80
    # labels go where they overlap nothing (front points first); the rest keep a tooltip
    placed = marks(pareto, "point label")
    assert 0 < len(placed) < len(points)
    boxes = []
    for label in placed:
        x, y = position(label)
        w = min(text_width(label.get("aria-label")), LIMIT_PX)
        x0 = x - w if label.get("text-anchor") == "end" else x
        boxes.append((x0, y - 9, x0 + w, y + 2))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_unchanged_charts_are_reused_and_changed_ones_redrawn(monkeypatch):
    """Re-rendering takes the charts whose digest did not change from the page it replaces
    (no engine start); a changed chart is drawn again."""
    from runner.report.html import render

    doc = add_roofline(synthetic_doc(["fp32", "int8"]))
    page = render(doc)
    assert len(re.findall(r'<svg data-spec="[0-9a-f]{64}"', page)) == 4
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # from here on, drawing is visible
    assert render(doc, page) == page  # every chart reused, byte for byte
    changed = copy.deepcopy(doc)
    changed["evaluations"]["int8"]["value"] = 0.95  # moves a point of the Pareto chart only
    again = render(changed, page)
    assert "accuracy vs throughput (lines join the Pareto-optimal variants): not drawn" in again
    before, after = charts(page), charts(again)
    assert set(after) == {"chart-device-CPU", "chart-roofline-CPU", "chart-size"}
    for name, svg in after.items():
        assert ET.tostring(svg) == ET.tostring(before[name])
    assert render(doc, None) != page  # without the old page, every chart needs the engine
