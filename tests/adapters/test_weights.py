"""The compress_weights op: real NNCF weight compression of a tiny BERT, checked on the saved IR."""

from __future__ import annotations

import re
from pathlib import Path

import openvino as ov
import pytest
from tiny_models import write_text_corpus

from runner.adapters import compress_weights as weights
from runner.adapters import dataset as datasets
from runner.adapters import export, ir
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

GROUP = 16  # divides the tiny BERT's hidden (32) and intermediate (64) sizes


def _ctx(out: Path, op: str, params: dict, inputs: dict, files: dict | None = None) -> TaskContext:
    out.mkdir(parents=True, exist_ok=True)
    return TaskContext(op, op, params, inputs, files or {}, out)


@pytest.fixture(scope="module")
def bert_out(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export task's out dir (model/ with IR, config and tokenizer)."""
    out = tmp_path_factory.mktemp("bert_export")
    source = {"kind": "path", "ref": str(tiny_bert_dir)}
    params = {"source": source, "task": "feature-extraction"}
    export.run(_ctx(out, "export", params, {}, {"model": tiny_bert_dir}))
    return out


@pytest.fixture(scope="module")
def calib_out(bert_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("calib")
    corpus = write_text_corpus(root / "calib.txt", 24, seed=5)
    params = {"samples": 12, "max_length": 32}
    datasets.run(_ctx(root / "out", "dataset", params, {"model": bert_out}, {"source": corpus}))
    return root / "out"


def _compress(bert_out: Path, out: Path, **params: object) -> dict:
    inputs = {"model": bert_out, **params.pop("inputs", {})}  # type: ignore[dict-item]
    return weights.run(_ctx(out, "compress_weights", params, inputs))


def _saved_weights(out: Path) -> list[ir.Weight]:
    return list(ir.iter_weights(ov.Core().read_model(out / "model" / ir.IR_XML)))


def test_int8_asym_compresses_every_weight_to_u8(bert_out: Path, tmp_path: Path) -> None:
    result = _compress(bert_out, tmp_path, mode="int8_asym")
    saved = _saved_weights(tmp_path)
    source = list(ir.iter_weights(ir.read_ir(bert_out / "model")))

    assert {w.element_type for w in source} == {"f32"}
    assert {w.element_type for w in saved} == {"u8"}
    # Same weights, same parameter counts: compression changed their storage only.
    assert sorted(w.size for w in saved) == sorted(w.size for w in source)
    assert result["weight_bits"] == {"int4": 0.0, "int8": 1.0, "f32/f16": 0.0}
    assert result["mode"] == "int8_asym" and result["nncf_params"]["group_size"] == -1
    assert result["size_bytes"] == ir.ir_size(tmp_path / "model")
    # int8 stores a quarter of f32; scales and the unquantized norms/biases add a little.
    bin_size = (tmp_path / "model" / ir.IR_BIN).stat().st_size
    assert bin_size < (bert_out / "model" / ir.IR_BIN).stat().st_size / 3


def test_int8_sym_ignores_int4_only_options_and_says_so(bert_out: Path, tmp_path: Path) -> None:
    result = _compress(bert_out, tmp_path, mode="int8_sym", ratio=0.5, group_size=GROUP)

    assert {w.element_type for w in _saved_weights(tmp_path)} == {"i8"}
    assert set(result["ignored_params"]) == {"ratio", "group_size"}
    assert result["nncf_params"]["ratio"] == 1


def test_int4_ratio_one_all_layers_is_all_int4(bert_out: Path, tmp_path: Path) -> None:
    result = _compress(
        bert_out, tmp_path, mode="int4_sym", ratio=1.0, group_size=GROUP, all_layers=True
    )

    assert {w.element_type for w in _saved_weights(tmp_path)} == {"i4"}
    assert result["weight_bits"]["int4"] == 1.0
    assert result["nncf_params"]["group_size"] == GROUP


def test_int4_ratio_half_mixes_int4_and_int8_backup(bert_out: Path, tmp_path: Path) -> None:
    half = _compress(bert_out, tmp_path / "half", mode="int4_asym", ratio=0.5, group_size=GROUP)
    full = _compress(bert_out, tmp_path / "full", mode="int4_asym", ratio=1.0, group_size=GROUP)
    saved = _saved_weights(tmp_path / "half")

    # Without all_layers NNCF keeps embeddings and the last MatMul in the int8 backup and
    # spends the ratio on the other MatMuls, whole layers at a time.
    assert half["weight_bits_by_op"]["Gather"]["int8"] == 1.0
    matmuls = [w for w in saved if w.consumer == "MatMul"]
    ratio_defining = matmuls[:-1]
    int4 = sum(w.size for w in ratio_defining if w.element_type == "u4")
    assert int4 / sum(w.size for w in ratio_defining) == pytest.approx(0.5, abs=0.2)
    assert matmuls[-1].element_type == "u8"
    assert 0 < half["weight_bits"]["int4"] < full["weight_bits"]["int4"]
    # The XML grows with group-wise dequantization nodes; the weights file shrinks.
    bin_sizes = [(tmp_path / run / "model" / ir.IR_BIN).stat().st_size for run in ("full", "half")]
    assert bin_sizes[0] < bin_sizes[1]
    assert sum(half["weight_bits"].values()) == pytest.approx(1.0)


def test_data_aware_compression_uses_the_dataset(
    bert_out: Path, calib_out: Path, tmp_path: Path
) -> None:
    result = _compress(
        bert_out,
        tmp_path,
        mode="int4_sym",
        ratio=0.5,
        group_size=GROUP,
        sensitivity_metric="max_activation_variance",
        inputs={"dataset": calib_out},
    )

    assert result["nncf_params"]["data_aware"] is True
    assert result["nncf_params"]["sensitivity_metric"] == "max_activation_variance"
    assert 0 < result["weight_bits"]["int4"] < 1


def test_output_dir_keeps_config_and_tokenizer(bert_out: Path, tmp_path: Path) -> None:
    _compress(bert_out, tmp_path, mode="int8_asym")
    source_files = {p.name for p in (bert_out / "model").iterdir()}

    assert {p.name for p in (tmp_path / "model").iterdir()} == source_files
    for name in source_files - {ir.IR_XML, ir.IR_BIN}:
        assert (tmp_path / "model" / name).read_bytes() == (bert_out / "model" / name).read_bytes()


def test_group_size_that_does_not_divide_is_a_user_error(bert_out: Path, tmp_path: Path) -> None:
    with pytest.raises(OvrunError, match="NNCF rejected") as error:
        _compress(bert_out, tmp_path / "bad", mode="int4_sym", ratio=1.0, group_size=24)

    # The hint's suggestion must really work on this model.
    suggested = re.search(r"group_size: (\d+)", error.value.hint or "")
    assert suggested is not None
    result = _compress(
        bert_out, tmp_path / "good", mode="int4_sym", ratio=1.0, group_size=int(suggested[1])
    )
    assert result["nncf_params"]["group_size"] == int(suggested[1])


def test_unknown_mode_is_a_user_error(bert_out: Path, tmp_path: Path) -> None:
    with pytest.raises(OvrunError, match="unknown mode") as error:
        _compress(bert_out, tmp_path, mode="int5_sym")
    assert "int4_asym" in (error.value.hint or "")
