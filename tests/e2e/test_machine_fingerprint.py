"""A measurement belongs to the machine that made it: a host fingerprint change, simulated
by editing this host's device probe memo (the file every plan and run reads the hardware
from), re-measures the bench cells and nothing else; meta-device lists run for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from recipes_util import TINY_CORPUS, ovrun, tiny_recipe


def _memo(cache: Path) -> Path:
    (memo,) = (cache / "memo").glob("devices-*.json")
    return memo


def _edit_probe(cache: Path, **host: object) -> dict:
    memo = _memo(cache)
    saved = json.loads(memo.read_text())
    before = json.loads(json.dumps(saved))
    saved["probe"]["host"].update(host)
    memo.write_text(json.dumps(saved))
    return before


def _states(plan_stdout: str) -> dict[str, str]:
    out = {}
    for line in plan_stdout.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and len(parts[0]) == 12:
            out[parts[1]] = parts[2]
    return out


@pytest.mark.slow
def test_other_machine_re_measures_only_the_bench_cells(tmp_path, tiny_project):
    project = tiny_project(tiny_recipe(), TINY_CORPUS, dir=tmp_path)
    recipe, cache = str(project.recipe), str(project.cache)
    first = ovrun(recipe, "--cache-dir", cache)
    assert first.returncode == 0, first.stdout + first.stderr
    results = project.results()
    real_cpu = results["host"]["host"]["cpu_model"]
    # the evaluation is not keyed on the machine but says where it ran
    evaluation = results["evaluations"]["int8"]
    assert evaluation["host"]["cpu_model"] == real_cpu and evaluation["host"]["device_name"]

    cores = json.loads(_memo(project.cache).read_text())["probe"]["host"]["cores"]
    original = _edit_probe(project.cache, cpu_model="Simulated Other CPU", cores=cores + 6)
    plan = ovrun("plan", recipe, "--cache-dir", cache)
    assert plan.returncode == 0, plan.stderr
    states = _states(plan.stdout)
    bench = [t for t in states if t.startswith("bench:") and ":CPU:" in t]
    assert len(bench) == 3
    for task in bench:
        assert states[task] == (
            f"will run (measured on another machine: cores: {cores} -> {cores + 6}; "
            f'cpu_model: "{real_cpu}" -> "Simulated Other CPU")'
        )
    for task in ("export", "data:calib", "data:eval", "compress:int8", "compress:w8"):
        assert states[task] == "cached", task
    assert states["eval:int8"] == "cached" and states["report"].startswith("will run")

    explain = ovrun("explain", recipe, "bench:int8:CPU:LATENCY", "--cache-dir", cache)
    assert explain.returncode == 0, explain.stderr
    assert "measured on (CPU; the key holds this hardware fingerprint):" in explain.stdout
    for line in ("cpu_model: Simulated Other CPU", f"cores: {cores + 6}", "cpu_flags: "):
        assert f"\n  {line}" in explain.stdout, line
    assert '  machine.cpu_model: "' in explain.stdout  # the preimage diff names the field

    second = ovrun(recipe, "--cache-dir", cache)
    assert second.returncode == 0, second.stdout + second.stderr
    tasks = project.results()["run"]["tasks"]
    assert {t for t, v in tasks.items() if v["state"] == "ran"} == {*bench, "report"}

    # back on the first machine: its own measurements are still there, nothing re-runs
    _memo(project.cache).write_text(json.dumps(original))
    states = _states(ovrun("plan", recipe, "--cache-dir", cache).stdout)
    assert {s for t, s in states.items() if not s.startswith("skipped")} == {"cached"}


def test_first_plan_on_a_host_probes_once_in_a_child_process(tmp_path, tiny_project):
    """The fingerprint needs OpenVINO; `plan` gets it from a child process (memoized), so
    the plan itself still imports no ML library (tests/e2e/test_cli.py) and knows the skips."""
    project = tiny_project(tiny_recipe(), TINY_CORPUS, dir=tmp_path)
    plan = ovrun("plan", str(project.recipe), "--cache-dir", str(project.cache))
    assert plan.returncode == 0, plan.stderr
    states = _states(plan.stdout)
    assert states["bench:fp32:CPU:LATENCY"] == "will run (upstream export will run)"
    assert states["bench:fp32:GPU:LATENCY"].startswith("skipped (device GPU not available")
    probe = json.loads(_memo(project.cache).read_text())["probe"]
    assert probe["host"]["cpu_model"] and "AUTO" in probe["meta_devices"]


def test_without_a_probe_bench_cells_say_the_host_is_not_probed(tmp_path, tiny_project):
    """A session that may not probe (the memo only) keys no measurement on a guess."""
    from runner.session import open_session

    project = tiny_project(tiny_recipe(), TINY_CORPUS, dir=tmp_path)
    session = open_session(project.recipe, project.cache, probe_devices=False)
    assert session.decisions["bench:fp32:CPU:LATENCY"].reason == (
        "this host's devices are not probed yet: a measurement is keyed on its hardware"
    )
    assert session.decisions["export"].reason == "not in cache"
    assert not list((project.cache / "memo").glob("devices-*.json"))


@pytest.mark.slow
def test_meta_device_lists_run_end_to_end(tmp_path, tiny_project):
    """AUTO:GPU,CPU runs on the CPU here and records it; HETERO:GPU,CPU is skipped with the
    reason; threads (not AUTO's own property) reaches the CPU."""
    text = tiny_recipe().replace(
        "devices: [CPU, GPU]", 'devices: ["AUTO:GPU,CPU", "HETERO:GPU,CPU", "MULTI:CPU"]'
    )
    text = text.replace("hints: [LATENCY]", "hints: [LATENCY]\n          threads: [1]")
    project = tiny_project(text, TINY_CORPUS, dir=tmp_path)
    result = ovrun(str(project.recipe), "--cache-dir", str(project.cache))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    rows = {(b["variant"], b["device"]): b for b in project.results()["benchmarks"]}
    auto = rows[("int8", "AUTO:GPU,CPU")]
    if "GPU" in project.results()["host"]["available_devices"]:
        pytest.skip("this host has a GPU")
    assert auto["status"] == "ok" and auto["throughput"] > 0
    assert auto["compiled_for"] == "AUTO:CPU" and auto["execution_devices"] == ["CPU"]
    assert auto["resolved_properties"]["INFERENCE_NUM_THREADS"] == 1
    assert rows[("int8", "MULTI:CPU")]["execution_devices"] == ["CPU"]
    hetero = rows[("int8", "HETERO:GPU,CPU")]
    assert hetero["status"] == "skipped"
    assert hetero["reason"] == "device HETERO:GPU,CPU needs GPU, not available (available: CPU)"
