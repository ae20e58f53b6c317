"""Plan-time device lint and impossible compression options: exit 2 or a warning at the
recipe line, before any model is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from recipes_util import ovrun, write

from runner.recipe.lint import lint
from runner.recipe.resolve import load_recipe


def _recipe(tmp: Path, variants: str, targets: str = "{devices: [CPU]}") -> Path:
    (tmp / "model").mkdir(exist_ok=True)
    # hidden dims as a tiny BERT has them; no weights: nothing may load the model
    (tmp / "model" / "config.json").write_text(
        json.dumps({"hidden_size": 32, "intermediate_size": 64})
    )
    write(tmp / "calib.txt", "one\ntwo\n")
    return write(
        tmp / "r.yaml",
        f"""
        version: 1
        name: r
        model:
          source: {{path: model}}
        data:
          calib: {{text: calib.txt}}
        variants:
          fp32: {{}}
        {variants}
        targets: {targets}
        evaluate: {{dataset: calib, reference: fp32}}
        """,
    )


def _error(path: Path):
    result = ovrun("validate", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    first, hint = result.stderr.strip().splitlines()[:2]
    assert hint.startswith("hint: ")
    return first


def _position(path: Path, key: str, nth: int = 0) -> str:
    """line:col of the value after the nth ``key:`` in the file, as an editor counts them."""
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        at = line.find(f"{key}: ")
        while at >= 0:
            found.append(f"{number}:{at + len(key) + 3}")
            at = line.find(f"{key}: ", at + 1)
    return found[nth]


@pytest.mark.parametrize(
    ("option", "key", "message"),
    [
        ("group_size: 0", "group_size", "not allowed"),
        ("ratio: 1.5", "ratio", "out of range"),
        ("mode: int5_sym", "mode", "is not one of"),
        (
            "mode: int4_sym, group_size: 24",
            "group_size",
            "group_size 24 does not divide the model's hidden_size 32, intermediate_size 64",
        ),
        ("mode: mxfp4, group_size: 64", "group_size", "mode mxfp4 needs group_size 32"),
        ("mode: int4_sym, awq: true", "awq", "awq is data-aware and needs a dataset"),
        (
            "mode: int8_asym, dataset: calib, gptq: true",
            "gptq",
            "gptq does not apply to mode int8_asym",
        ),
        # options NNCF 3.4 ignores for the chosen mode (read from its weight compression code)
        ("mode: int8_asym, ratio: 0.5, group_size: 64", "ratio", "ratio has no effect with mode"),
        ("mode: int8_sym, group_size: 64", "group_size", "group_size has no effect with mode"),
        ("mode: int8_asym, backup_mode: none", "backup_mode", "backup_mode has no effect"),
        ("mode: int8_asym, all_layers: true", "all_layers", "all_layers has no effect"),
        ("ratio: 0.5", "ratio", "ratio has no effect with mode int8_asym"),  # the default mode
        (
            "mode: int4_sym, group_size: 16, sensitivity_metric: weight_quantization_error",
            "sensitivity_metric",
            "sensitivity_metric has no effect with ratio 1",
        ),
    ],
)
def test_impossible_weight_options_are_exit_2_at_their_line(
    tmp_path: Path, option: str, key: str, message: str
) -> None:
    path = _recipe(tmp_path, f"  w: {{compress_weights: {{{option}}}}}")
    first = _error(path)
    assert first.startswith(f"{path}:{_position(path, key)}: error:"), first
    assert message in first


def test_ignored_option_error_has_a_hint_and_exit_2(tmp_path: Path) -> None:
    path = _recipe(
        tmp_path, "  w: {compress_weights: {mode: int8_asym, ratio: 0.5, group_size: 64}}"
    )
    result = ovrun("validate", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "hint: remove ratio, or use a sub-8-bit mode" in result.stderr


@pytest.mark.parametrize(
    "option",
    [
        "mode: int8_asym, ratio: 1.0, group_size: -1",  # NNCF's own values for 8 bit
        "mode: int4_sym, group_size: 16, ratio: 0.5, sensitivity_metric: weight_quantization_error",
    ],
)
def test_options_the_mode_uses_validate(tmp_path: Path, option: str) -> None:
    path = _recipe(tmp_path, f"  w: {{compress_weights: {{{option}}}}}")
    result = ovrun("validate", str(path))
    assert result.returncode == 0, result.stderr


def test_search_group_size_that_does_not_divide_points_at_the_list_item(tmp_path: Path) -> None:
    path = _recipe(
        tmp_path,
        "  s:\n            compress_weights: {mode: int4_sym}\n"
        "            search: {group_size: [16, 24], max_drop: 0.1}",
    )
    first = _error(path)
    line, col = _position(path, "group_size").split(":")
    assert first.startswith(
        f"{path}:{line}:{int(col) + 5}: error: group_size 24 does not divide"
    ), first


def test_accuracy_control_options_need_max_drop(tmp_path: Path) -> None:
    path = _recipe(tmp_path, "  q: {quantize: {dataset: calib, metric: cosine}}")
    assert "metric applies to accuracy-controlled quantization only" in _error(path)


def test_npu_int4_asym_warns_with_the_line(tmp_path: Path) -> None:
    path = _recipe(
        tmp_path,
        "  w: {compress_weights: {mode: int4_asym, group_size: 16}}",
        "{devices: [CPU, NPU]}",
    )
    result = ovrun("validate", str(path))
    assert result.returncode == 0
    where = _position(path, "mode")
    assert f"{path}:{where}: warning: NPU runs INT4 weights only in symmetric form" in result.stderr
    assert "hint: use mode: int4_sym" in result.stderr


def test_precision_hint_a_device_does_not_support(tmp_path: Path) -> None:
    path = _recipe(
        tmp_path,
        "",
        "{devices: [CPU, GPU], properties: {INFERENCE_PRECISION_HINT: bf16}}",
    )
    warnings = [f for f in lint(load_recipe(path)) if f.severity == "warning"]
    assert [f.message for f in warnings] == ["GPU does not support INFERENCE_PRECISION_HINT bf16"]
    assert (
        f"{warnings[0].location.line}" == _position(path, "INFERENCE_PRECISION_HINT").split(":")[0]
    )


def test_fp8_quantization_on_cpu_only_warns_no_speedup(tmp_path: Path) -> None:
    path = _recipe(tmp_path, "  f: {quantize: {dataset: calib, mode: fp8_e4m3}}")
    messages = [f.message for f in lint(load_recipe(path))]
    assert any("emulated on CPU" in m for m in messages)


def test_lint_reads_config_without_loading_the_model(tmp_path: Path) -> None:
    path = _recipe(tmp_path, "  w: {compress_weights: {mode: int4_sym, group_size: 32}}")
    # config.json only, no weights or tokenizer: a model load would fail; the lint passes.
    assert lint(load_recipe(path)) == []
    (tmp_path / "model" / "config.json").write_text("{}")  # unknown dims: no check, no error
    path = _recipe(tmp_path, "  w: {compress_weights: {mode: int4_sym, group_size: 24}}")
    (tmp_path / "model" / "config.json").write_text("{}")
    assert lint(load_recipe(path)) == []
