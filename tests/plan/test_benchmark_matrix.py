"""The benchmark matrix: list expansion into readable cells, property conflicts, the
plan-time property check against the memoized device probe, repeats and fixed counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from recipes_util import minimal_recipe, ovrun

from runner.core.errors import OvrunError
from runner.plan.build import build_plan
from runner.recipe.resolve import load_recipe

BODY = """
version: 1
name: mini
model:
  source: {{path: model}}
variants:
  fp32: {{}}
targets:
{targets}
benchmark: {{duration_s: 1, {benchmark}}}
"""


def _recipe(tmp_path: Path, targets: str, benchmark: str = "seq_len: 64") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return minimal_recipe(tmp_path, BODY.format(targets=targets, benchmark=benchmark))


def _bench(plan) -> dict:
    return {t.id: t for t in plan.order() if t.op.name == "benchmark"}


def test_lists_expand_into_cells_with_readable_ids(tmp_path):
    path = _recipe(
        tmp_path,
        "  devices: [CPU]\n  hints: [THROUGHPUT]\n  precisions: [f32, bf16]\n"
        "  streams: [2]\n  properties: {ENABLE_HYPER_THREADING: false}",
        "batch: [1, 8], seq_len: 64, repeats: 2",
    )
    tasks = _bench(build_plan(load_recipe(path)))
    assert sorted(tasks) == [
        "bench:fp32:CPU:THROUGHPUT:bf16:b1",
        "bench:fp32:CPU:THROUGHPUT:bf16:b8",
        "bench:fp32:CPU:THROUGHPUT:f32:b1",
        "bench:fp32:CPU:THROUGHPUT:f32:b8",
    ]
    task = tasks["bench:fp32:CPU:THROUGHPUT:bf16:b8"]
    # single-valued lists (streams) set the property but do not lengthen the id
    assert task.params["properties"] == {
        "ENABLE_HYPER_THREADING": False,
        "INFERENCE_PRECISION_HINT": "bf16",
        "NUM_STREAMS": 2,
    }
    assert (task.params["batch"], task.params["seq_len"], task.params["repeats"]) == (8, 64, 2)
    assert task.labels["cell"] == "CPU:THROUGHPUT:bf16:b8" and task.labels["threads"] is None


def test_recipe_without_lists_keeps_short_ids(tmp_path):
    path = _recipe(tmp_path, "  devices: [CPU, GPU]\n  hints: [LATENCY]")
    assert sorted(_bench(build_plan(load_recipe(path)))) == [
        "bench:fp32:CPU:LATENCY",
        "bench:fp32:GPU:LATENCY",
    ]


def test_same_setting_two_ways_gives_the_same_key(tmp_path):
    from runner.session import open_session

    a = _recipe(tmp_path / "a", "  devices: [CPU]\n  precisions: [f32]")
    b = _recipe(tmp_path / "b", "  devices: [CPU]\n  properties: {INFERENCE_PRECISION_HINT: f32}")
    cache = tmp_path / "cache"
    ka = open_session(a, cache, probe_devices=False).plan.tasks["bench:fp32:CPU:LATENCY"].key
    kb = open_session(b, cache, probe_devices=False).plan.tasks["bench:fp32:CPU:LATENCY"].key
    assert ka == kb


def test_property_set_twice_is_an_error_at_the_property(tmp_path):
    path = _recipe(tmp_path, "  devices: [CPU]\n  streams: [1, 2]\n  properties: {NUM_STREAMS: 4}")
    with pytest.raises(OvrunError) as info:
        load_recipe(path)
    assert "NUM_STREAMS is set both in targets.properties and by targets.streams" in str(info.value)
    assert (info.value.location.line, info.value.location.col) == (10, 16)


def test_unknown_property_fails_at_plan_time_with_its_position(tmp_path):
    """`ovrun plan` (after a real device probe is memoized) rejects the name, exit 2."""
    from runner.adapters.devices import probe_memoized

    cache = tmp_path / "cache"
    probe_memoized(cache)  # real OpenVINO probe, memoized like `ovrun run` does
    path = _recipe(tmp_path, "  devices: [CPU]\n  properties: {NUM_STREAMZ: 2}")
    result = ovrun("plan", str(path), "--cache-dir", str(cache))
    assert result.returncode == 2, result.stdout + result.stderr
    first, hint = result.stderr.strip().splitlines()[:2]
    assert first == f"{path}:9:16: error: property NUM_STREAMZ is not supported on device CPU"
    assert hint == "hint: did you mean NUM_STREAMS?"
    # a settable property passes, and so does an absent device's (its cells are skipped)
    ok = _recipe(
        tmp_path / "ok", "  devices: [CPU, GPU]\n  properties: {ENABLE_HYPER_THREADING: false}"
    )
    assert ovrun("plan", str(ok), "--cache-dir", str(cache)).returncode == 0


def test_probe_records_supported_properties(tmp_path):
    from runner.adapters.devices import probe_memoized
    from runner.host import devices as hostinfo

    found = probe_memoized(tmp_path / "cache")
    cpu = found["devices"]["CPU"]["SUPPORTED_PROPERTIES"]
    assert cpu["NUM_STREAMS"] == "RW" and cpu["FULL_DEVICE_NAME"] == "RO"
    assert hostinfo.memoized(tmp_path / "cache") == found


@pytest.fixture(scope="module")
def bert_out(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import optimum.intel

    out = tmp_path_factory.mktemp("bert_ir")
    optimum.intel.OVModelForFeatureExtraction.from_pretrained(
        tiny_bert_dir, export=True, compile=False
    ).save_pretrained(out / "model")
    return out


@pytest.mark.parametrize("hint", ["LATENCY", "THROUGHPUT"])
def test_repeats_and_fixed_iteration_counts(bert_out: Path, tmp_path: Path, hint: str):
    from runner.adapters import benchmark
    from runner.plan.context import TaskContext

    params = {"hint": hint, "iterations": 25, "repeats": 3, "warmup": 2, "seq_len": 16}
    ctx = TaskContext("bench", "benchmark", params, {"model": bert_out}, {}, tmp_path, "CPU")
    result = benchmark.run(ctx)
    assert [r["iterations"] for r in result["repeats"]] == [25, 25, 25]
    assert result["iterations"] == 75
    per_repeat = sorted(r["throughput"] for r in result["repeats"])
    assert result["throughput"] == per_repeat[1]  # the median repeat
    spread = result["spread"]["throughput"]
    assert spread["min"] == per_repeat[0] and spread["max"] == per_repeat[2]
    assert spread["relative"] == pytest.approx((per_repeat[2] - per_repeat[0]) / per_repeat[1])
    # CPU supports model caching: the warm compile imports the blob written just before
    assert result["compile_warm_s"] is not None and result["compile_cache_write_s"] > 0
    assert result["properties_requested"] == {"PERFORMANCE_HINT": hint}
    assert result["host"]["cpu_model"]
