"""A real run on a tiny BERT (FP32 vs INT8 PTQ, CPU + an absent GPU, two hints, two repeats):
results.json against its schema, report.html in headless Chromium, `ovrun report`,
`ovrun compare`, and `assert:` exit codes (slow); pages rendered offline in Chromium with
every network request the page makes recorded (none allowed). The charts on synthetic
results are checked in test_report_charts.py and test_roofline_chart.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from charts_util import add_roofline, charts, marks, synthetic_doc
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
benchmark: {duration_s: 0.2, warmup: 2, seq_len: 32, repeats: 2}
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
    assert len(ok["repeats"]) == 2 and ok["spread"]["throughput"]["relative"] >= 0
    # roofline figures reach results.json through the executor (the peak memo under the
    # run's cache; the suite measures the tiny size, so no share is judged here)
    assert ok["flops_per_inference"] > 0 and ok["gflops"] > 0 and ok["peak_gflops"] > 0
    assert ok["bound"] in ("compute", "memory") and ok["bandwidth_gbps"] > 0
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
        # offline: no host name resolves, and the net log records what the page asked for
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--log-net-log={tmp / 'netlog.json'}",
    ]
    return subprocess.run(
        [exe, *flags, *args], capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL
    )


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def _page_requests(tmp: Path) -> list[str]:
    """URLs the page loaded in the last _chromium call asked for over the network (the
    browser's own background requests, outside the file:// page, are left out)."""
    text = (tmp / "netlog.json").read_text()
    try:
        events = json.loads(text)["events"]
    except json.JSONDecodeError:  # cut short at exit: close the event list
        events = json.loads(text.rstrip().rstrip(",") + "]}")["events"]
    return sorted(
        {
            e["params"]["url"]
            for e in events
            if "initiator" in (e.get("params") or {})
            and "url" in e["params"]
            and str(e["params"].get("network_isolation_key", "")).startswith("file://")
        }
    )


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
    assert _page_requests(tmp_path) == []
    # one throughput bar per ok cell, as text-bearing SVG (no outlined glyphs)
    doc = json.loads((run["out"] / "results.json").read_text())
    ok = [b for b in doc["benchmarks"] if b["status"] == "ok" and b["device"] == "CPU"]
    bars = marks(charts(text)["chart-device-CPU"], "bar-throughput")
    assert sorted(b.get("aria-label").split(": ")[0] for b in bars) == sorted(
        f"{b['variant']} · {b['hint']}" for b in ok
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
def test_network_request_detection_works(tmp_path):
    """The no-network check can fail: a page that loads an image over http is caught."""
    page = tmp_path / "net.html"
    page.write_text('<html><body><img src="http://example.invalid/x.png"></body></html>')
    done = _chromium("--dump-dom", page.as_uri(), tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _page_requests(tmp_path) == ["http://example.invalid/x.png"]


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
    same = ovrun("compare", str(run["out"]), str(run["out"]), "--no-measure-noise")
    assert same.returncode == 0, same.stderr
    assert "warning" not in same.stdout
    assert "int8:CPU:THROUGHPUT" in same.stdout and "1.00×" in same.stdout
    assert "within noise" in same.stdout  # a run against itself: ranges overlap

    other = json.loads((run["out"] / "results.json").read_text())
    other["host"]["host"]["cpu_model"] = "Some Other CPU"
    other["host"]["versions"]["nncf"] = "0.0.1"
    (tmp_path / "results.json").write_text(json.dumps(other))
    diff = ovrun("compare", str(run["out"]), str(tmp_path), "--no-measure-noise")
    assert diff.returncode == 0
    warnings = [line for line in diff.stdout.splitlines() if line.startswith("warning")]
    assert any("CPU cpu_model" in w and "Some Other CPU" in w for w in warnings)
    assert any("nncf: " in w and "0.0.1" in w for w in warnings)
    assert "verdicts withheld: not comparable (different host)" in diff.stdout
    # what the run recorded for compare: the model and each measured cell's IR digest
    doc = json.loads((run["out"] / "results.json").read_text())
    assert doc["model"]["kind"] and doc["model"]["digest"]
    assert all(len(b["ir_digest"]) == 64 for b in doc["benchmarks"] if b["status"] == "ok")


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


@slow
def test_edge_case_page_renders_in_headless_chromium(tmp_path):
    from runner.report.html import render

    doc = synthetic_doc(["fp32", "<b>&x", "y" * 300, *(f"cand_{i}" for i in range(30))])
    page = tmp_path / "report.html"
    page.write_text(render(add_roofline(doc)), encoding="utf-8")
    dom = _chromium("--dump-dom", page.as_uri(), tmp=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console_messages(dom.stderr) == [] and _page_requests(tmp_path) == []
    assert dom.stdout.count("<svg") == 4 and "<b>" not in dom.stdout
    assert '<figure class="chart" id="chart-roofline-CPU"><svg' in dom.stdout


def test_precision_note_says_when_float_layers_ran_in_bf16():
    from runner.report.html import render

    doc = synthetic_doc(["fp32", "int8"])
    assert 'id="precision-note"' not in render(doc)  # nothing resolved: nothing to say
    for row in doc["benchmarks"]:
        row["precision"] = None
        row["resolved_properties"] = {"INFERENCE_PRECISION_HINT": "bf16"}
    page = render(doc)
    assert 'id="precision-note"' in page
    assert "4 CPU cell(s) ran float layers in bf16" in page and "precisions: [f32]" in page
