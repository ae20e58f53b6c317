"""Every compression algorithm with real NNCF on tiny models, checked on the saved IR."""

from __future__ import annotations

from pathlib import Path

import openvino as ov
import pytest
from tiny_models import write_text_corpus

from runner.adapters import compress_weights as weights
from runner.adapters import dataset as datasets
from runner.adapters import export, ir, quantize, weight_statistics
from runner.plan.context import TaskContext

GROUP = 16  # divides the tiny models' hidden (32) and intermediate (64) sizes


def _ctx(out: Path, op: str, params: dict, inputs: dict, files: dict | None = None) -> TaskContext:
    out.mkdir(parents=True, exist_ok=True)
    return TaskContext(op, op, params, inputs, files or {}, out)


def _export(model_dir: Path, out: Path, task: str) -> Path:
    params = {"source": {"kind": "path", "ref": str(model_dir)}, "task": task}
    export.run(_ctx(out, "export", params, {}, {"model": model_dir}))
    return out


def _calib(model_out: Path, root: Path, samples: int = 12) -> Path:
    corpus = write_text_corpus(root / "calib.txt", 30, seed=7)
    params = {"samples": samples, "max_length": 24}
    datasets.run(_ctx(root / "out", "dataset", params, {"model": model_out}, {"source": corpus}))
    return root / "out"


@pytest.fixture(scope="module")
def bert(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = _export(tiny_bert_dir, tmp_path_factory.mktemp("bert"), "feature-extraction")
    return out, _calib(out, tmp_path_factory.mktemp("bert_calib"))


@pytest.fixture(scope="module")
def llm(tiny_causal_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = _export(tiny_causal_lm_dir, tmp_path_factory.mktemp("llm"), "text-generation")
    return out, _calib(out, tmp_path_factory.mktemp("llm_calib"))


def _ops(out: Path) -> list[str]:
    model = ov.Core().read_model(out / "model" / ir.IR_XML)
    return [op.get_type_name() for op in model.get_ordered_ops()]


def _saved(out: Path) -> list[ir.Weight]:
    return list(ir.iter_weights(ov.Core().read_model(out / "model" / ir.IR_XML)))


QBASE = {"preset": "mixed", "model_type": "transformer", "subset_size": 8}


def _quantize(bert, out: Path, **params) -> dict:
    model_out, calib = bert
    inputs = {"model": model_out, "dataset": calib, **params.pop("inputs", {})}
    return quantize.run(_ctx(out, "quantize", QBASE | params, inputs))


# --- nncf.quantize -----------------------------------------------------------------------


def test_fp8_mode_inserts_fake_convert_not_fake_quantize(bert, tmp_path: Path) -> None:
    result = _quantize(bert, tmp_path, mode="fp8_e4m3")
    kinds = _ops(tmp_path)
    assert kinds.count("FakeConvert") == result["fake_convert_nodes"] > 0
    assert kinds.count("FakeQuantize") == result["fake_quantize_nodes"] == 0
    assert result["nncf_params"]["mode"] == "fp8_e4m3"


def _smooth_quant_nodes(out: Path) -> int:
    model = ov.Core().read_model(out / "model" / ir.IR_XML)
    return sum("smooth_quant" in op.get_friendly_name() for op in model.get_ordered_ops())


def test_smooth_quant_alpha_reaches_nncf(bert, tmp_path: Path) -> None:
    _quantize(bert, tmp_path / "on", smooth_quant_alpha=0.5)
    _quantize(bert, tmp_path / "off", smooth_quant_alpha=-1)
    # SmoothQuant inserts scaling multiplies named smooth_quant; alpha -1 disables it.
    assert _smooth_quant_nodes(tmp_path / "on") > 0
    assert _smooth_quant_nodes(tmp_path / "off") == 0


def test_ignored_scope_types_keep_every_matmul_weight_float(bert, tmp_path: Path) -> None:
    result = _quantize(bert, tmp_path, ignored_scope={"types": ["MatMul"]})
    matmuls = [w for w in _saved(tmp_path) if w.consumer == "MatMul"]
    assert matmuls and all(w.element_type == "f32" and not w.fake_quantized for w in matmuls)
    assert result["quantized_weight_ops"] == 0
    assert result["float_weight_ops"] == len(matmuls)
    assert sorted(result["float_layers"]) == sorted(w.consumer_name for w in matmuls)[:20]


def test_accuracy_control_meets_max_drop_with_the_evaluate_metric(bert, tmp_path: Path) -> None:
    model_out, calib = bert
    result = _quantize(
        bert, tmp_path, max_drop=0.05, task="feature-extraction", inputs={"validation": calib}
    )
    control = result["accuracy_control"]
    assert control["metric"] == "cosine"
    assert 0.0 <= control["accuracy_drop"] <= 0.05
    assert control["validation_samples"] == 12
    assert result["fake_quantize_nodes"] == _ops(tmp_path).count("FakeQuantize") > 0


def test_accuracy_control_reverts_layers_when_the_budget_is_tiny(bert, tmp_path: Path) -> None:
    free = _quantize(bert, tmp_path / "plain")
    model_out, calib = bert
    tight = _quantize(
        bert,
        tmp_path / "tight",
        max_drop=1e-7,
        task="feature-extraction",
        inputs={"validation": calib},
    )
    # Meeting a near-zero budget means reverting quantizers: fewer quantized ops than plain.
    assert tight["quantized_weight_ops"] + tight["fake_quantize_nodes"] < (
        free["quantized_weight_ops"] + free["fake_quantize_nodes"]
    )


# --- nncf.compress_weights ---------------------------------------------------------------

MODE_BUCKET = {
    "int4_sym": "int4",
    "int4_asym": "int4",
    "int3_sym": "int3",
    "int2_sym": "int2",
    "nf4": "nf4",
    "cb4": "codebook",
    "mxfp4": "fp4",
    "fp4": "fp4",
    "nvfp4": "fp4",
    "fp8_e4m3": "fp8",
    "mxfp8_e4m3": "fp8",
}


@pytest.mark.parametrize("mode", sorted(MODE_BUCKET))
def test_every_mode_stores_its_element_type(llm, tmp_path: Path, mode: str) -> None:
    group = {"mxfp4": 32, "mxfp8_e4m3": 32}.get(mode, GROUP)
    result = weights.run(
        _ctx(tmp_path, "compress_weights", {"mode": mode, "group_size": group}, {"model": llm[0]})
    )
    bucket = MODE_BUCKET[mode]
    assert result["weight_bits"][bucket] > 0.3, result["weight_bits"]
    # The shares describe the saved IR: recompute them from it.
    assert ir.weight_bits(_saved(tmp_path)) == result["weight_bits"]


def _compress(llm, out: Path, **params) -> dict:
    inputs = {"model": llm[0], **params.pop("inputs", {})}
    return weights.run(_ctx(out, "compress_weights", params, inputs))


def test_ratio_is_the_share_of_4_bit_weights_achieved(llm, tmp_path: Path) -> None:
    half = _compress(llm, tmp_path / "half", mode="int4_sym", ratio=0.5, group_size=GROUP)
    full = _compress(llm, tmp_path / "full", mode="int4_sym", ratio=1.0, group_size=GROUP)
    assert 0 < half["weight_bits"]["int4"] < full["weight_bits"]["int4"]
    assert half["nncf_params"]["ratio"] == 0.5


@pytest.mark.parametrize("option", ["awq", "scale_estimation", "gptq", "lora_correction"])
def test_data_aware_options_run_with_a_dataset(llm, tmp_path: Path, option: str) -> None:
    params = {"mode": "int4_sym", "ratio": 1.0, "group_size": GROUP, option: True}
    result = _compress(llm, tmp_path, inputs={"dataset": llm[1]}, subset_size=8, **params)
    assert result["nncf_params"][option] is True
    assert result["nncf_params"]["data_aware"] is True
    assert result["weight_bits"]["int4"] > 0.3
    assert {w.element_type for w in _saved(tmp_path)} >= {"i4"}


def test_statistics_are_collected_once_and_reused(llm, tmp_path: Path) -> None:
    stats = tmp_path / "stats"
    summary = weight_statistics.run(
        _ctx(stats, "weight_statistics", {"subset_size": 8}, {"model": llm[0], "dataset": llm[1]})
    )
    assert summary["files"] > 0 and summary["items"] == 8
    params = {"mode": "int4_sym", "ratio": 0.5, "group_size": GROUP, "subset_size": 8}
    fresh = _compress(llm, tmp_path / "fresh", inputs={"dataset": llm[1]}, **params)
    reused = _compress(
        llm, tmp_path / "reused", inputs={"dataset": llm[1], "statistics": stats}, **params
    )
    assert (
        reused["nncf_params"]["statistics_reused"] and not fresh["nncf_params"]["statistics_reused"]
    )
    # Same statistics, same choice of 4-bit layers.
    by_layer = lambda out: {w.consumer_name: w.element_type for w in _saved(out)}  # noqa: E731
    assert by_layer(tmp_path / "reused") == by_layer(tmp_path / "fresh")
    assert reused["weight_bits"] == fresh["weight_bits"]


# --- what NNCF really applied ---------------------------------------------------------------


def test_awq_skipped_on_bert_is_reported_with_nncf_reason(bert, tmp_path: Path) -> None:
    from runner.report.applied import applied, compact_line

    params = {"mode": "int4_sym", "ratio": 1.0, "group_size": GROUP, "awq": True}
    result = _compress(bert, tmp_path, inputs={"dataset": bert[1]}, subset_size=8, **params)
    awq = result["algorithms"]["awq"]
    assert awq["applied"] is False
    assert awq["reason"] == (
        "nncf: No matching patterns were found for applying AWQ algorithm, it will be skipped."
    )
    summary = applied(result)
    assert "awq" not in summary["nncf"]  # the request is not reported as done
    assert "awq skipped (nncf: No matching patterns" in compact_line("w4", summary)


def test_awq_and_scale_estimation_applied_on_the_llm_count_layers(llm, tmp_path: Path) -> None:
    params = {"mode": "int4_sym", "ratio": 1.0, "group_size": GROUP}
    result = _compress(
        llm,
        tmp_path,
        inputs={"dataset": llm[1]},
        subset_size=8,
        awq=True,
        scale_estimation=True,
        **params,
    )
    four_bit = [w for w in _saved(tmp_path) if w.element_type in ("i4", "u4")]
    algorithms = result["algorithms"]
    assert algorithms["scale_estimation"] == {"applied": True, "layers": len(four_bit)}
    # tiny Llama: AWQ's MatMul -> Multiply -> MatMul pattern is each MLP's down projection
    assert algorithms["awq"]["applied"] is True
    assert 0 < algorithms["awq"]["layers"] < len(four_bit)


def test_algorithms_on_no_low_bit_layer_are_skipped() -> None:
    int8 = ir.Weight("MatMul", "fc", "u8", 64, False)
    found = weights.algorithms_applied(["awq", "gptq"], [], [int8])
    assert found["awq"]["applied"] is False and "below 8 bit" in found["awq"]["reason"]
    assert found["gptq"] == {
        "applied": False,
        "reason": "no layer was compressed below 8 bit (it works on those only)",
    }
