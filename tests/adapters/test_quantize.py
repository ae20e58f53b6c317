"""The quantize op: real NNCF post-training quantization of a tiny BERT, checked on the saved IR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from tiny_models import write_text_corpus

from runner.adapters import dataset as datasets
from runner.adapters import export, quantize
from runner.adapters.feeds import make_feed
from runner.adapters.ir import IR_BIN, IR_XML, ir_size, iter_weights, read_ir
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

CALIB_SAMPLES = 12
BASE = {
    "preset": "mixed",
    "model_type": "transformer",
    "subset_size": 8,
    "fast_bias_correction": True,
    "target_device": "ANY",
    "ignored_scope": None,
}


def _ctx(out: Path, op: str, params: dict, inputs: dict, files: dict | None = None) -> TaskContext:
    out.mkdir(parents=True, exist_ok=True)
    return TaskContext(op, op, params, inputs, files or {}, out)


@pytest.fixture(scope="module")
def bert_out(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bert_export")
    params = {"source": {"kind": "path", "ref": str(tiny_bert_dir)}, "task": "feature-extraction"}
    export.run(_ctx(out, "export", params, {}, {"model": tiny_bert_dir}))
    return out


@pytest.fixture(scope="module")
def calib_out(bert_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("calib")
    corpus = write_text_corpus(root / "calib.txt", 30, seed=7)
    params = {"samples": CALIB_SAMPLES, "max_length": 32}
    datasets.run(_ctx(root / "out", "dataset", params, {"model": bert_out}, {"source": corpus}))
    return root / "out"


def _quantize(bert_out: Path, calib_out: Path, out: Path, **overrides: object) -> dict:
    inputs = {"model": bert_out, "dataset": calib_out}
    return quantize.run(_ctx(out, "quantize", BASE | overrides, inputs))


def _matmul_weights(model_dir: Path) -> list:
    return [w for w in iter_weights(read_ir(model_dir)) if w.consumer == "MatMul"]


def test_quantize_inserts_fake_quantize_and_int8_weights(
    bert_out: Path, calib_out: Path, tmp_path: Path
) -> None:
    result = _quantize(bert_out, calib_out, tmp_path)
    model = ov.Core().read_model(tmp_path / "model" / IR_XML)
    fake_quantize = [op for op in model.get_ordered_ops() if op.get_type_name() == "FakeQuantize"]
    source_matmuls = _matmul_weights(bert_out / "model")

    assert result["algorithm"] == "quantize"
    assert result["fake_quantize_nodes"] == len(fake_quantize) > 0
    # Every linear layer of the source model now has int8 weights.
    saved = _matmul_weights(tmp_path / "model")
    assert {w.element_type for w in saved} == {"i8"}
    assert result["quantized_weight_ops"] == len(saved) == len(source_matmuls) > 0
    assert result["calibration_samples"] == min(BASE["subset_size"], CALIB_SAMPLES)
    assert result["size_bytes"] == ir_size(tmp_path / "model")
    assert result["nncf_params"] == BASE | {
        "ignored_scope": {"names": [], "patterns": [], "types": []},
        "mode": None,  # INT8: no QuantizationMode
        "smooth_quant_alpha": None,  # NNCF's default
    }
    assert result["fake_convert_nodes"] == 0 and result["float_weight_ops"] == 0


def test_quantized_model_still_runs_close_to_the_original(
    bert_out: Path, calib_out: Path, tmp_path: Path
) -> None:
    _quantize(bert_out, calib_out, tmp_path)
    sample = datasets.load_samples(calib_out)[0]
    core = ov.Core()
    outputs = []
    for model_dir in (bert_out / "model", tmp_path / "model"):
        compiled = core.compile_model(
            model_dir / IR_XML, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
        )
        outputs.append(compiled(make_feed(compiled.inputs, sample))[0])

    reference, quantized = outputs
    assert quantized.shape == reference.shape
    assert not np.array_equal(quantized, reference)  # quantization really changed the math
    cosine = np.dot(quantized.ravel(), reference.ravel()) / (
        np.linalg.norm(quantized) * np.linalg.norm(reference)
    )
    assert cosine > 0.95


def test_output_dir_is_optimum_loadable(bert_out: Path, calib_out: Path, tmp_path: Path) -> None:
    from optimum.intel import OVModelForFeatureExtraction

    _quantize(bert_out, calib_out, tmp_path)
    source_files = {p.name for p in (bert_out / "model").iterdir()}
    assert {p.name for p in (tmp_path / "model").iterdir()} == source_files
    assert (tmp_path / "model" / IR_BIN).stat().st_size > 0

    model = OVModelForFeatureExtraction.from_pretrained(tmp_path / "model", compile=False)
    assert model.config.model_type == "bert"


def test_ignored_scope_keeps_matching_layers_in_float(
    bert_out: Path, calib_out: Path, tmp_path: Path
) -> None:
    full = _quantize(bert_out, calib_out, tmp_path / "full")
    scope = {"names": [], "patterns": [r".*layer\.0\..*"], "types": []}
    partial = _quantize(bert_out, calib_out, tmp_path / "partial", ignored_scope=scope)
    saved = _matmul_weights(tmp_path / "partial" / "model")

    float_layers = {w.consumer_name for w in saved if w.element_type == "f32"}
    assert float_layers and all(".layer.0." in name for name in float_layers)
    assert partial["quantized_weight_ops"] == full["quantized_weight_ops"] - len(float_layers)
    assert partial["fake_quantize_nodes"] < full["fake_quantize_nodes"]
    assert partial["nncf_params"]["ignored_scope"] == scope


def test_preset_defaults_to_mixed_for_transformers(
    bert_out: Path, calib_out: Path, tmp_path: Path
) -> None:
    result = _quantize(bert_out, calib_out, tmp_path, preset=None, subset_size=CALIB_SAMPLES + 5)

    assert result["nncf_params"]["preset"] == "mixed"
    # NNCF cannot use more samples than the dataset holds.
    assert result["calibration_samples"] == CALIB_SAMPLES


def test_ignored_name_missing_from_the_model_is_a_user_error(
    bert_out: Path, calib_out: Path, tmp_path: Path
) -> None:
    scope = {"names": ["no/such/node"], "patterns": [], "types": []}
    with pytest.raises(OvrunError, match="NNCF rejected"):
        _quantize(bert_out, calib_out, tmp_path, ignored_scope=scope)


@pytest.mark.parametrize(
    ("param", "value"), [("preset", "fastest"), ("target_device", "TPU"), ("subset_size", 0)]
)
def test_bad_parameters_are_user_errors(
    bert_out: Path, calib_out: Path, tmp_path: Path, param: str, value: object
) -> None:
    with pytest.raises(OvrunError, match=param):
        _quantize(bert_out, calib_out, tmp_path, **{param: value})
