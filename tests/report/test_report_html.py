"""A real run on a tiny BERT (FP32 vs INT8 PTQ, CPU + an absent GPU, two hints, six interleaved rounds):
results.json against its schema, report.html in headless Chromium, `ovrun report`,
`ovrun compare`, and `assert:` exit codes (slow). Then the charts on synthetic results
(fast): one bar per ok cell, heights proportional, escaping, determinism, edge cases, and
no plotting library imported."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from recipes_util import REPO, ovrun

slow = pytest.mark.slow  # the real run plus Chromium: ~1 min here
PASSING = [
    "int8.CPU.THROUGHPUT.throughput > 0.01 * fp32.CPU.THROUGHPUT.throughput",
    "int8.accuracy_drop <= 0.5 and int8.size_mb < fp32.size_mb",
]
FAILING = "int8.CPU.LATENCY.throughput >= 1000 * fp32.CPU.LATENCY.throughput"


RECIPE = """
version: 1
name: tiny
model:
  source: {path: model}
data:
  calib: {text: calib.txt, samples: 40, max_length: 32}
variants:
  fp32: {}
  int8:
    quantize: {dataset: calib, subset_size: 40}
targets:
  devices: [CPU, GPU]
  hints: [LATENCY, THROUGHPUT]
benchmark: {duration_s: 0.05, warmup: 2, seq_len: 32, repeats: 6}  # 6 rounds: a 95% interval
evaluate: {dataset: calib, reference: fp32, max_drop: 0.5}
assert:
"""


def _recipe(asserts: list[str]) -> str:
    return RECIPE.lstrip("\n") + "\n".join(f'  - "{a}"' for a in asserts) + "\n"


@pytest.fixture(scope="module")
def run(tiny_project) -> dict:
    project = tiny_project(_recipe(PASSING), {"calib.txt": (40, 1)})
    result = ovrun(str(project.recipe), "--cache-dir", str(project.cache))
    return {"tmp": project.dir, "recipe": project.recipe, "result": result, "out": project.out}


@slow
def test_passing_asserts_exit_0_and_print_values(run):
    result = run["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if ": passed: " in line]
    assert len(lines) == 2
    assert lines[0].startswith(f"{run['recipe']}:17:6: passed: int8.CPU.THROUGHPUT.throughput")
    assert re.search(r"vs 0\.01 \* fp32\.CPU\.THROUGHPUT\.throughput = [0-9.e+]+", lines[0])
    assert lines[0].endswith(("(significant)", "(within noise)"))
    doc = json.loads((run["out"] / "results.json").read_text())
    assert [a["passed"] for a in doc["asserts"]] == [True, True]


@slow
def test_failing_assert_exits_1_naming_line_and_values(run):
    recipe = run["recipe"]
    recipe.write_text(_recipe([*PASSING, FAILING]))
    try:
        result = ovrun(str(recipe), "--cache-dir", str(run["tmp"] / "cache"))
    finally:
        recipe.write_text(_recipe(PASSING))
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    doc = json.loads((run["out"] / "results.json").read_text())
    states = {t["state"] for t in doc["run"]["tasks"].values()}
    assert states == {"cached", "skipped"}  # only the check changed: nothing re-ran
    (line,) = [x for x in result.stdout.splitlines() if "assert failed" in x]
    fp32 = next(b for b in doc["benchmarks"] if b["task"] == "bench:fp32:CPU:LATENCY")
    int8 = next(b for b in doc["benchmarks"] if b["task"] == "bench:int8:CPU:LATENCY")
    assert line.startswith(f"{recipe}:19:6: error: assert failed: {FAILING} — ")
    assert f"int8.CPU.LATENCY.throughput = {int8['throughput']:.4g}" in line
    assert f"1000 * fp32.CPU.LATENCY.throughput = {1000 * fp32['throughput']:.4g}" in line
    assert doc["asserts"][2]["passed"] is False


@slow
def test_results_validate_against_the_schema(run):
    import jsonschema

    schema = json.loads((REPO / "schemas" / "results.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = json.loads((run["out"] / "results.json").read_text())
    jsonschema.validate(doc, schema)
    assert doc["schema"] == "ovrun.results/2"
    host = doc["host"]
    assert host["host"]["cpu_model"] and host["versions"]["nncf"] and host["openvino"]
    assert "OPTIMIZATION_CAPABILITIES" in host["devices"]["CPU"]
    ok = next(b for b in doc["benchmarks"] if b["status"] == "ok")
    assert len(ok["rounds"]) == 6 and ok["spread"]["throughput"]["relative"] >= 0
    assert ok["measurement"]["stopped"] == "rounds" and ok["throughput_ci"]["n"] == 6
    # the schema does reject a broken document
    del ok["throughput"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def _chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/install does)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp / 'chromium-profile'}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    return subprocess.run(
        [exe, *flags, *args], capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL
    )


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@slow
def test_report_renders_in_headless_chromium(run, tmp_path):
    html = run["out"] / "report.html"
    text = html.read_text()
    # self-contained: no script, no external resource
    assert "<script" not in text and not re.search(r"(src|href)=\"https?:", text)
    dom = _chromium("--dump-dom", html.as_uri(), tmp=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for chart in ("chart-device-CPU", "chart-pareto", "chart-size"):
        match = re.search(rf'<figure class="chart" id="{chart}"><svg', dom.stdout)
        assert match, f"{chart} missing from the rendered DOM"
    assert "chart-device-GPU" not in dom.stdout  # skipped device: no empty chart
    assert dom.stdout.count("<svg") >= 3
    assert _console_messages(dom.stderr) == []
    # one throughput bar per ok cell, as text-bearing SVG (no outlined glyphs)
    doc = json.loads((run["out"] / "results.json").read_text())
    ok = [b for b in doc["benchmarks"] if b["status"] == "ok"]
    bars = _bars(_charts(text)["chart-device-CPU"], "bar-throughput")
    assert sorted((b.get("data-series"), float(b.get("data-value"))) for b in bars) == sorted(
        (b["variant"], float(f"{b['throughput']:.6g}")) for b in ok if b["device"] == "CPU"
    )
    assert "<text" in text and "matplotlib" not in text
    shot = tmp_path / "report.png"
    done = _chromium(f"--screenshot={shot}", "--window-size=1200,2400", html.as_uri(), tmp=tmp_path)
    assert done.returncode == 0 and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@slow
def test_console_error_detection_works(tmp_path):
    """The console check above can fail: a page that logs an error is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>console.error('boom')</script></body></html>")
    done = _chromium("--dump-dom", page.as_uri(), tmp=tmp_path)
    assert any("boom" in line for line in _console_messages(done.stderr))


@slow
def test_report_command_re_renders_the_same_page(run):
    html = run["out"] / "report.html"
    before = html.read_text()
    html.unlink()
    result = ovrun("report", str(run["out"]))
    assert result.returncode == 0, result.stderr
    assert html.read_text() == before  # deterministic: same results, same file


@slow
def test_compare_prints_deltas_and_warns_on_other_hardware(run, tmp_path):
    same = ovrun("compare", str(run["out"]), str(run["out"]))
    assert same.returncode == 0, same.stderr
    assert "warning" not in same.stdout
    assert "int8:CPU:THROUGHPUT" in same.stdout and "1.00×" in same.stdout
    assert "within noise" in same.stdout  # a run against itself: ranges overlap

    other = json.loads((run["out"] / "results.json").read_text())
    other["host"]["host"]["cpu_model"] = "Some Other CPU"
    other["host"]["versions"]["nncf"] = "0.0.1"
    (tmp_path / "results.json").write_text(json.dumps(other))
    diff = ovrun("compare", str(run["out"]), str(tmp_path))
    assert diff.returncode == 0
    warnings = [line for line in diff.stdout.splitlines() if line.startswith("warning")]
    assert any("CPU:" in w and "Some Other CPU" in w for w in warnings)
    assert any("nncf: " in w and "0.0.1" in w for w in warnings)


@slow
def test_int8_note_appears_only_without_vnni_or_amx(run):
    from runner.report.html import render

    doc = json.loads((run["out"] / "results.json").read_text())
    flags = doc["host"]["host"]["cpu_flags_relevant"]
    has_int8_isa = any(f in flags for f in ("avx512_vnni", "avx_vnni", "amx_int8"))
    assert ('id="int8-note"' in render(doc)) is not has_int8_isa
    doc["host"]["host"]["cpu_flags_relevant"] = ["avx2", "avx512f"]  # e.g. a Skylake server
    page = render(doc)
    assert 'id="int8-note"' in page and "no VNNI or AMX" in page and "int8" in page


@slow
def test_compare_rejects_a_dir_without_results(tmp_path):
    result = ovrun("compare", str(tmp_path), str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("ovrun: error: no results.json in")


# --- the charts on synthetic results (fast) -----------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def _doc(
    variants: list[str],
    cells: tuple[str, ...] = ("CPU:LATENCY", "CPU:THROUGHPUT"),
    skipped: tuple[tuple[str, str], ...] = (),
    evaluate: bool = True,
) -> dict:
    """A results document shaped like results.json, with made-up but plausible figures."""
    benchmarks = []
    for k, variant in enumerate(variants):
        for cell in cells:
            device, hint = cell.split(":")[:2]
            row = {"task": f"bench:{variant}:{cell}", "variant": variant, "cell": cell}
            row |= {"device": device, "hint": hint}
            if (variant, cell) in skipped:
                benchmarks.append(row | {"status": "skipped", "reason": "device not available"})
                continue
            tput = 100.0 + 37.5 * k + (60.0 if hint == "THROUGHPUT" else 0.0)
            lat = 1000.0 / tput
            repeats = [
                {"throughput": tput * f, "latency_ms": {"median": lat / f}}
                for f in (0.97, 1.0, 1.02)
            ]
            row |= {
                "status": "ok",
                "throughput": tput,
                "latency_ms": {"median": lat, "p90": lat * 1.1, "p99": lat * 1.2},
                "repeats": repeats,
                "spread": {"throughput": {"relative": 0.05}},
                "size_bytes": int(90e6 / (k + 1)),
            }
            benchmarks.append(row)
    return {
        "schema": "ovrun.results/2",
        "recipe": "synthetic",
        "reference": variants[0] if variants else None,
        "metric": "cosine",
        "variants": {
            v: {"compression": None if k == 0 else {"op": "quantize"}}
            for k, v in enumerate(variants)
        },
        "evaluations": {
            v: {"value": 1.0 - 0.004 * k + 0.0001 * k * k, "accuracy_drop": 0.004 * k}
            for k, v in enumerate(variants)
            if k and evaluate
        },
        "benchmarks": benchmarks,
        "host": {"host": {"cpu_model": "Test CPU", "cpu_flags_relevant": ["avx512_vnni"]}},
        "run": {"started": 1_700_000_000},
    }


def _charts(page: str) -> dict[str, ET.Element]:
    """Each <figure class="chart" id=...>'s SVG, parsed as XML (so it must be well formed)."""
    found = re.findall(r'<figure class="chart" id="([^"]+)">(<svg.*?</svg>)', page, re.S)
    return {name: ET.fromstring(text) for name, text in found}


def _bars(svg: ET.Element, kind: str) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if kind in (r.get("class") or "").split()]


def _texts(svg: ET.Element) -> list[str]:
    """The visible strings of the <text> elements (tooltips left out)."""
    out = []
    for t in svg.iter(f"{SVG}text"):
        parts = [t.text or ""]
        for child in t:
            parts += [child.text or "" if child.tag == f"{SVG}tspan" else "", child.tail or ""]
        out.append("".join(parts))
    return out


def test_one_bar_per_ok_cell_with_heights_proportional_to_throughput():
    from runner.report.html import device_chart

    doc = _doc(["fp32", "int8", "int4"], skipped=(("int4", "CPU:LATENCY"),))
    svg = ET.fromstring(device_chart(doc, "CPU"))
    ok = [b for b in doc["benchmarks"] if b["status"] == "ok"]
    bars = _bars(svg, "bar-throughput")
    assert len(bars) == len(ok) == 5 and len(_bars(svg, "bar-latency")) == 5
    assert sorted((b.get("data-series"), b.get("data-group")) for b in bars) == sorted(
        (b["variant"], b["hint"]) for b in ok
    )
    heights = {(b.get("data-series"), b.get("data-group")): float(b.get("height")) for b in bars}
    ratios = [heights[(b["variant"], b["hint"])] / b["throughput"] for b in ok]
    assert max(ratios) - min(ratios) < 1e-3 * max(ratios)
    bottoms = {round(float(b.get("y")) + float(b.get("height")), 1) for b in bars}
    assert len(bottoms) == 1  # all bars stand on the same zero line
    whiskers = [line for line in svg.iter(f"{SVG}line") if line.get("class") == "whisker"]
    assert len(whiskers) == 10  # the repeats' range, on every bar of both panels
    texts = _texts(svg)
    assert "CPU: throughput" in texts and "throughput (samples/s)" in texts
    assert "median latency (ms)" in texts and {"LATENCY", "THROUGHPUT"} <= set(texts)
    assert {"fp32", "int8", "int4"} <= set(texts)  # the legend
    assert all(svg.find(f".//{SVG}{tag}") is None for tag in ("path", "image", "script"))


def test_size_chart_and_pareto_chart_show_every_variant():
    from runner.report.html import pareto_chart, pareto_front, size_chart, variant_sizes

    doc = _doc(["fp32", "int8", "int4"])
    size = ET.fromstring(size_chart(doc))
    bars = _bars(size, "bar-size")
    sizes = variant_sizes(doc)
    assert [b.get("data-group") for b in bars] == list(sizes) == ["fp32", "int8", "int4"]
    k = float(bars[0].get("height")) / sizes["fp32"]
    for bar in bars:
        assert float(bar.get("height")) == pytest.approx(k * sizes[bar.get("data-group")], abs=0.02)
    assert "IR size on disk (MB)" in _texts(size) and "90.0" in _texts(size)

    pareto = ET.fromstring(pareto_chart(doc))
    points = [c for c in pareto.iter(f"{SVG}circle") if c.get("class") == "point"]
    assert len(points) == 6  # 3 variants × 2 cells, all with an accuracy
    assert {p.get("data-label") for p in points} == {"fp32", "int8", "int4"}
    labels = [t for t in pareto.iter(f"{SVG}text") if t.get("class") == "point-label"]
    assert len(labels) == 6
    fronts = [p for p in pareto.iter(f"{SVG}polyline") if p.get("class") == "front"]
    for cell, line in zip(("CPU:LATENCY", "CPU:THROUGHPUT"), fronts, strict=True):
        pts = [
            (b["throughput"], 1.0 - 0.004 * k + 0.0001 * k * k)
            for k, b in enumerate(b for b in doc["benchmarks"] if b["cell"] == cell)
        ]
        assert len(line.get("points").split()) == len(pareto_front(pts))
    front_marks = sum(p.get("data-front") == "1" for p in points)
    assert front_marks == sum(len(line.get("points").split()) for line in fronts)
    texts = _texts(pareto)
    assert "throughput (samples/s) — higher is better" in texts
    assert "cosine vs fp32 — higher is better" in texts


def test_user_strings_are_escaped():
    from runner.report.html import render

    nasty = ["a<b>&\"c'", "</svg><script>alert(1)</script>", "x]]>&amp;"]
    doc = _doc(["fp32", *nasty], cells=("CPU:LATENCY", 'CPU:<T&"X>'))
    page = render(doc)
    assert "<script" not in page and "<b>" not in page
    charts = _charts(page)
    assert set(charts) == {"chart-device-CPU", "chart-pareto", "chart-size"}
    for svg in charts.values():  # parsed back: the exact strings, as text
        found = set(_texts(svg)) | {t.text for t in svg.iter(f"{SVG}title")}
        assert set(nasty) <= found
    assert 'CPU:<T&"X>' in _texts(charts["chart-device-CPU"]) or '<T&"X>' in _texts(
        charts["chart-device-CPU"]
    )


def test_same_results_give_byte_identical_pages_across_processes(tmp_path):
    doc = _doc([f"v{i}" for i in range(12)])
    (tmp_path / "results.json").write_text(json.dumps(doc))
    code = (
        "import json, sys; from runner.report.html import render; "
        "doc = json.load(open(sys.argv[1])); sys.stdout.write(render(doc)); "
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
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        page, _, modules = done.stdout.rpartition("\nMODULES ")
        pages.append(page)
        # rendering imports no plotting library (it costs a second on every cold run)
        assert not {m.split(".")[0] for m in modules.split()} & {"matplotlib"}
    assert pages[0] == pages[1]


def test_edge_cases_render_readable_charts():
    from runner.report.html import device_chart, pareto_chart, render, size_chart

    # nothing ran: the page says so and the charts explain why they are empty
    none_ok = _doc(
        ["fp32", "int8"],
        skipped=tuple((v, c) for v in ("fp32", "int8") for c in ("CPU:LATENCY", "CPU:THROUGHPUT")),
    )
    page = render(none_ok)
    assert "no benchmark cell ran" in page and "chart-device" not in page
    charts = _charts(page)
    assert "no accuracy figures (no evaluate: section)" in _texts(charts["chart-pareto"])
    assert "no model sizes recorded" in _texts(charts["chart-size"])

    # one variant, no evaluation: bars, a size, an empty Pareto chart
    one = _doc(["fp32"], evaluate=False)
    assert len(_bars(ET.fromstring(device_chart(one, "CPU")), "bar-throughput")) == 2
    assert len(_bars(ET.fromstring(size_chart(one)), "bar-size")) == 1
    pareto = ET.fromstring(pareto_chart(one))
    assert len([c for c in pareto.iter(f"{SVG}circle") if c.get("class") == "point"]) == 2

    # zero and missing figures: a zero-height bar, an 'n/a' mark, no NaN in the SVG
    odd = _doc(["fp32", "int8"])
    odd["benchmarks"][0]["throughput"] = 0.0
    odd["benchmarks"][0]["repeats"] = []
    del odd["benchmarks"][1]["latency_ms"]["median"]
    text = device_chart(odd, "CPU")
    svg = ET.fromstring(text)
    bars = {(b.get("data-series"), b.get("data-group")): b for b in _bars(svg, "bar-throughput")}
    assert float(bars[("fp32", "LATENCY")].get("height")) == 0
    assert len(_bars(svg, "bar-latency")) == 3 and "n/a" in _texts(svg)
    assert not re.search(r"nan|inf", text, re.I)
    render(odd)

    # a very long name is cut in the picture, kept whole in its tooltip
    long = "int4_sym_group64_ratio0.8_awq_scale_estimation_" * 4
    doc = _doc(["fp32", long])
    for chart in (device_chart(doc, "CPU"), size_chart(doc), pareto_chart(doc)):
        svg = ET.fromstring(chart)
        assert long not in _texts(svg) and any(t.endswith("…") for t in _texts(svg))
        assert any(long in (t.text or "") for t in svg.iter(f"{SVG}title"))
        assert float(svg.get("width")) <= 1100


def test_dozens_of_variants_stay_legible():
    from runner.report.html import device_chart, pareto_chart, size_chart
    from runner.report.svg import color, text_width

    names = [f"search_candidate_{i:02d}" for i in range(40)]
    doc = _doc(names)
    svg = ET.fromstring(device_chart(doc, "CPU"))
    bars = _bars(svg, "bar-throughput")
    assert len(bars) == 80 and min(float(b.get("width")) for b in bars) >= 10
    # colours repeat beyond the palette, so each bar is named under it
    assert len({color(i) for i in range(40)}) == 40
    bar_names = [t for t in svg.iter(f"{SVG}text") if t.get("class") == "bar-name"]
    assert len(bar_names) == 160  # 80 bars per panel, two panels
    size = ET.fromstring(size_chart(doc))
    assert len(_bars(size, "bar-size")) == 40
    ticks = [t for t in size.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert len(ticks) == 40 and all("rotate(-45" in t.get("transform") for t in ticks)
    pareto = ET.fromstring(pareto_chart(doc))
    assert len([c for c in pareto.iter(f"{SVG}circle") if c.get("class") == "point"]) == 80
    # visible point labels never overlap (the rest are tooltips)
    boxes = []
    for t in pareto.iter(f"{SVG}text"):
        if t.get("class") != "point-label":
            continue
        x, y, w = float(t.get("x")), float(t.get("y")), text_width(t.text, 10)
        x0 = x - w if t.get("text-anchor") == "end" else x
        boxes.append((x0, y - 9, x0 + w, y + 2))
    assert boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_nice_ticks():
    from runner.report.svg import nice_scale

    s = nice_scale(0.0, 377.8, extend=True)
    assert s.ticks == [0, 100, 200, 300, 400] and s.hi == 400
    s = nice_scale(0.9975, 1.0002, target=6)
    assert all(0.9975 <= t <= 1.0002 for t in s.ticks) and len(s.ticks) >= 3
    assert [s.label(t) for t in s.ticks][-1] == "1.0000"
    for lo, hi in ((0.0, 0.0), (5.0, 5.0), (-1.0, 1e-9), (1e-7, 3e-7), (0.0, 1e9)):
        s = nice_scale(lo, hi, extend=True)
        assert s.lo <= lo and s.hi >= hi and s.hi > s.lo and len(s.ticks) >= 2
        assert all(math.isfinite(t) for t in s.ticks)


@slow
def test_edge_case_page_renders_in_headless_chromium(tmp_path):
    from runner.report.html import render

    doc = _doc(["fp32", "<b>&x", "y" * 300, *(f"cand_{i}" for i in range(30))])
    page = tmp_path / "report.html"
    page.write_text(render(doc), encoding="utf-8")
    dom = _chromium("--dump-dom", page.as_uri(), tmp=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console_messages(dom.stderr) == []
    assert dom.stdout.count("<svg") == 3 and "<b>" not in dom.stdout


def test_precision_note_says_when_float_layers_ran_in_bf16():
    from runner.report.html import render

    doc = _doc(["fp32", "int8"])
    assert 'id="precision-note"' not in render(doc)  # nothing resolved: nothing to say
    for row in doc["benchmarks"]:
        row["precision"] = None
        row["resolved_properties"] = {"INFERENCE_PRECISION_HINT": "bf16"}
    page = render(doc)
    assert 'id="precision-note"' in page
    assert "4 CPU cell(s) ran float layers in bf16" in page and "precisions: [f32]" in page
