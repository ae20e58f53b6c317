"""Chart library options for report.html, measured side by side (docs/charts.md).

Each option draws the report's charts (per-device bars with whiskers, accuracy vs throughput,
model size, roofline) for one synthetic results document, in a fresh process, so the figure
is what a cold `ovrun report` pays: the library's import plus every chart.

- vl-convert: the Vega-Lite specs ovrun uses (runner/report/charts.py, roofline.py) to static
  SVG (what ovrun ships);
- vega-embed page: the same specs with Vega, Vega-Lite and vega-embed inlined as one script
  (interactive, tooltips), bundled once by vl-convert; the bundle time is one-off, the page
  cost is serialising specs plus carrying the bundle in every report;
- matplotlib: the same four charts drawn with matplotlib's SVG backend (text kept as text,
  no date, fixed hash salt), skipped when matplotlib is not installed (not a dependency).

Prints, per option, the median over ``--rounds`` of the cold time, the charts' bytes, and
whether the output needs a script or a network. Timings on a shared machine vary: compare
options within one run.

    .venv/bin/python benchmarks/chart_options.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

VL_SVG = """
import json, sys, time
t0 = time.perf_counter()
from runner.report import html
doc = json.load(open(sys.argv[1]))
t1 = time.perf_counter()
out = [html.device_chart(doc, "CPU"), html.pareto_chart(doc), html.size_chart(doc),
       html.roofline_chart(doc, "CPU")]
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "charts": t2 - t1, "bytes": sum(map(len, out)),
                  "script": any("<script" in o for o in out)}))
"""

VL_PAGE = """
import json, sys, time
t0 = time.perf_counter()
import vl_convert
from runner.report import charts, roofline, html
doc = json.load(open(sys.argv[1]))
t1 = time.perf_counter()
bundle = vl_convert.javascript_bundle(vl_version="6.4")
t_bundle = time.perf_counter() - t1
t1 = time.perf_counter()
specs = []  # the report's own specs, caught where they would be rendered
html.vega.to_svg = lambda spec, prefix, title, drawn=None: specs.append(spec) or ""
html.device_chart(doc, "CPU"); html.pareto_chart(doc); html.size_chart(doc)
html.roofline_chart(doc, "CPU")
page = "<script>" + bundle + "</script>" + "".join(
    f"<div id=c{i}></div><script>vegaEmbed('#c{i}', {json.dumps(s)})</script>"
    for i, s in enumerate(specs))
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0 - t_bundle, "charts": t2 - t1, "bytes": len(page),
                  "bundle_once": t_bundle, "script": True}))
"""

MPL = """
import io, json, sys, time
t0 = time.perf_counter()
import matplotlib
matplotlib.use("svg")
matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "ovrun"})
from matplotlib.figure import Figure
doc = json.load(open(sys.argv[1]))
t1 = time.perf_counter()
ok = [b for b in doc["benchmarks"] if b["status"] == "ok"]
variants = list(dict.fromkeys(b["variant"] for b in ok))
cells = list(dict.fromkeys(b["hint"] for b in ok))
def svg(fig):
    buf = io.StringIO(); fig.savefig(buf, format="svg", metadata={"Date": None}); return buf.getvalue()
out = []
fig = Figure(figsize=(10, 3.5))
for k, (metric, get) in enumerate((("throughput", lambda b: b["throughput"]),
                                   ("latency", lambda b: b["latency_ms"]["median"]))):
    ax = fig.add_subplot(1, 2, k + 1)
    for i, v in enumerate(variants):
        rows = [b for b in ok if b["variant"] == v]
        xs = [cells.index(b["hint"]) + i * 0.25 for b in rows]
        vals = [get(b) for b in rows]
        ax.bar(xs, vals, 0.25, label=v, yerr=[[x * 0.03 for x in vals], [x * 0.02 for x in vals]])
    ax.set_xticks(range(len(cells)), cells); ax.set_title(metric); ax.legend()
out.append(svg(fig))
fig = Figure(figsize=(7, 3.5)); ax = fig.add_subplot()
for b in ok:
    ax.scatter(b["throughput"], 1.0); ax.annotate(b["variant"], (b["throughput"], 1.0))
out.append(svg(fig))
fig = Figure(figsize=(4, 3)); ax = fig.add_subplot()
ax.bar(variants, [90 / (k + 1) for k in range(len(variants))]); out.append(svg(fig))
fig = Figure(figsize=(7, 4)); ax = fig.add_subplot(); ax.set_xscale("log"); ax.set_yscale("log")
for peak in sorted({b["peak_gflops"] for b in ok}):
    bw = ok[0]["bandwidth_gbps"]; ax.plot([1, peak / bw, 1000], [bw, peak, peak])
for b in ok:
    ax.scatter(b["intensity"], b["gflops"]); ax.annotate(b["variant"], (b["intensity"], b["gflops"]))
out.append(svg(fig))
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "charts": t2 - t1, "bytes": sum(map(len, out)),
                  "script": False}))
"""


def _run(code: str, doc: Path) -> dict | None:
    done = subprocess.run(
        [sys.executable, "-c", code, str(doc)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        print(f"  skipped: {last}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from charts_util import add_roofline, synthetic_doc

    doc = add_roofline(synthetic_doc(["fp32", "int8", "int4"]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.json"
        path.write_text(json.dumps(doc))
        options = (("vl-convert SVG", VL_SVG), ("vega-embed page", VL_PAGE), ("matplotlib", MPL))
        results = {name: [] for name, _ in options}
        for _ in range(args.rounds):  # rounds alternate the options: load hits them alike
            for name, code in options:
                found = _run(code, path)
                if found:
                    results[name].append(found)
    print(f"{'option':18} {'import s':>9} {'charts s':>9} {'cold s':>8} {'bytes':>9}  script")
    for name, runs in results.items():
        if not runs:
            print(f"{name:18} not measured")
            continue
        imp = statistics.median(r["import"] for r in runs)
        charts = statistics.median(r["charts"] for r in runs)
        cold = statistics.median(r["import"] + r["charts"] for r in runs)
        extra = ""
        if "bundle_once" in runs[0]:
            extra = f"  (bundling once: {statistics.median(r['bundle_once'] for r in runs):.2f} s)"
        print(
            f"{name:18} {imp:9.2f} {charts:9.2f} {cold:8.2f} {runs[0]['bytes']:9d}  "
            f"{'yes' if runs[0]['script'] else 'no'}{extra}"
        )


if __name__ == "__main__":
    main()
