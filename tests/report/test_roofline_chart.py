"""The roofline chart: drawn from the benchmark rows' roofline fields with the compute roofs
(one per measured peak), the bandwidth roof and one labelled point per cell on log–log axes;
absent, without an error, for results written before those fields existed."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest
from charts_util import (
    SVG,
    add_roofline,
    charts,
    marks,
    position,
    synthetic_doc,
    texts,
    vertices,
)
from recipes_util import REPO


def _doc() -> dict:
    return add_roofline(synthetic_doc(["fp32", "int8", "int4"], skipped=(("int4", "CPU:LATENCY"),)))


def test_roofline_has_roofs_and_one_labelled_point_per_cell():
    from runner.report.html import render

    doc = _doc()
    page = render(doc)
    assert "<h2>Distance to the limit (roofline)</h2>" in page
    svg = charts(page)["chart-roofline-CPU"]
    ok = [b for b in doc["benchmarks"] if b["status"] == "ok"]
    cells = marks(svg, "cell")
    assert len(cells) == len(ok) == 5
    labels = [f"{b['variant']} · {b['cell']}" for b in ok]
    assert sorted(t for t in texts(svg) if t in labels) == sorted(labels)  # each point labelled
    for mark, row, label in zip(cells, ok, labels, strict=True):
        tip = mark.get("aria-label")
        assert tip.startswith(f"{label}: ")
        assert f"{row['gflops']:,.4g} GFLOP/s" in tip and f"{row['peak_share']:.1%}" in tip
        assert f"{row['bound']}-bound" in tip
    # one roof per measured peak (f32 for the reference, int8 for the others), named
    roofs = {m.get("aria-label"): m for m in marks(svg, "roof")}
    assert set(roofs) == {"peak 800 GFLOP/s (fp32)", "peak 2,400 GFLOP/s (int8, int4)"}
    shown = texts(svg)
    assert set(roofs) <= set(shown) and "memory 20 GB/s" in shown
    assert "arithmetic intensity (flop/byte)" in shown and "achieved GFLOP/s" in shown


def test_point_labels_do_not_overlap_and_sit_by_their_point():
    from runner.report.html import roofline_chart
    from runner.report.labels import text_width

    doc = _doc()
    for row in doc["benchmarks"]:  # crowd them: every cell of a variant at one intensity
        row["variant"] = row["variant"] + "_with_a_longer_name"
    svg = ET.fromstring(roofline_chart(doc, "CPU"))
    cell_marks = {m.get("aria-label").split(": ")[0]: m for m in marks(svg, "cell")}
    points = {name: position(m) for name, m in cell_marks.items()}
    boxes = []
    for label in marks(svg, "cell label"):
        x, y = position(label)
        w = text_width(label.get("aria-label"))
        x0 = x - w if label.get("text-anchor") == "end" else x
        boxes.append((x0, y - 9, x0 + w, y + 2))
        px, py = points[label.get("aria-label")]
        assert abs(px - x) <= 7 and abs(py - y) <= 25  # beside its own point
    # most fit; a label with no free corner is left out, its point keeps the tooltip
    assert 4 <= len(boxes) <= len(points) == 5
    assert all(m.find(f"{SVG}title").text.startswith(name) for name, m in cell_marks.items())
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_axes_are_logarithmic_and_roofs_meet_at_the_ridge():
    from runner.report.html import roofline_chart

    doc = _doc()
    svg = ET.fromstring(roofline_chart(doc, "CPU"))
    ok = [b for b in doc["benchmarks"] if b["status"] == "ok"]
    at = [position(m) for m in marks(svg, "cell")]
    # on log axes, pixel distance is proportional to the log of the ratio (both ways)
    (x0, y0), row0 = at[0], ok[0]
    for (x, y), row in zip(at[1:], ok[1:], strict=True):
        dy = math.log10(row["gflops"] / row0["gflops"])
        assert y0 - y == pytest.approx(dy * _pixels_per_decade_y(svg, at, ok), rel=1e-3)
        dx = math.log10(row["intensity"] / row0["intensity"])
        assert (x - x0) == pytest.approx(dx * _pixels_per_decade_x(at, ok), abs=0.05)
    # each roof: the bandwidth line up to its ridge (peak / bandwidth), then flat at the peak
    for roof in marks(svg, "roof"):
        (xa, ya), (xr, yr), (xb, yb) = vertices(roof)
        assert yr == pytest.approx(yb) and xa < xr < xb and ya > yr  # rises, then flat
    flat = sorted(vertices(r)[1][1] for r in marks(svg, "roof"))
    # 3× between the two peaks: log10(3) decades apart on the y axis
    assert flat[1] - flat[0] == pytest.approx(
        math.log10(3) * _pixels_per_decade_y(svg, at, ok), rel=1e-3
    )


def _pixels_per_decade_x(at, ok) -> float:
    (xa, _), (xb, _) = at[0], at[2]  # fp32 and int8: different intensities
    return (xb - xa) / math.log10(ok[2]["intensity"] / ok[0]["intensity"])


def _pixels_per_decade_y(svg, at, ok) -> float:
    (_, ya), (_, yb) = at[0], at[-1]
    return (ya - yb) / math.log10(ok[-1]["gflops"] / ok[0]["gflops"])


def test_a_cell_at_its_peak_sits_on_its_roof():
    from runner.report.html import roofline_chart

    doc = _doc()
    row = next(b for b in doc["benchmarks"] if b["task"] == "bench:int8:CPU:THROUGHPUT")
    row["intensity"] = 500.0  # beyond the ridge (2400 / 20 = 120 flop/byte)
    row["gflops"], row["peak_share"], row["bound"] = 2400.0, 1.0, "compute"
    svg = ET.fromstring(roofline_chart(doc, "CPU"))
    (mark,) = [m for m in marks(svg, "cell") if m.get("aria-label").startswith("int8 · CPU:THR")]
    (roof,) = [r for r in marks(svg, "roof") if r.get("aria-label").startswith("peak 2,400")]
    assert position(mark)[1] == pytest.approx(vertices(roof)[-1][1], abs=0.01)


def test_no_roofline_without_the_fields_and_only_rows_that_have_them():
    from runner.report.html import render, roofline_chart

    old = synthetic_doc(["fp32", "int8"])  # results written before the roofline fields
    page = render(old)
    assert "roofline" not in page.lower() and set(charts(page)) == {
        "chart-device-CPU",
        "chart-pareto",
        "chart-size",
    }
    mixed = add_roofline(synthetic_doc(["fp32", "int8"]))
    del mixed["benchmarks"][0]["gflops"]  # one row without, one with a zero (not on log axes)
    mixed["benchmarks"][1]["intensity"] = 0.0
    svg = ET.fromstring(roofline_chart(mixed, "CPU"))
    assert len(marks(svg, "cell")) == 2
    for row in mixed["benchmarks"]:
        for field in ("gflops", "intensity"):
            row.pop(field, None)
    assert roofline_chart(mixed, "CPU") is None


def test_results_with_the_roofline_fields_validate_against_the_schema():
    import jsonschema

    schema = json.loads((REPO / "schemas" / "results.schema.json").read_text())
    rows = schema["properties"]["benchmarks"]["items"]
    fields = ("gflops", "peak_gflops", "peak_share", "bound", "flops_per_inference")
    fields += ("bytes_per_inference", "intensity", "bandwidth_gbps")
    good = next(b for b in _doc()["benchmarks"] if b["status"] == "ok")
    row = {k: good[k] for k in fields}
    props = rows["properties"]
    sub = {"type": "object", "properties": {k: props[k] for k in fields}}
    jsonschema.validate(row, sub)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(row | {"peak_share": -0.1}, sub)  # above 1: a peak taken under load
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(row | {"bound": "latency"}, sub)
