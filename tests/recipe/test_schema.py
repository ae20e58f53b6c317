import json

import pytest
from recipes_util import minimal_recipe, write

from runner.core.errors import OvrunError
from runner.recipe.resolve import load_recipe
from runner.recipe.schema import load_schema


def _error(path):
    with pytest.raises(OvrunError) as info:
        load_recipe(path)
    return info.value


def test_minimal_recipe_fills_defaults(tmp_path):
    recipe = load_recipe(minimal_recipe(tmp_path))
    assert recipe.targets.devices == ["CPU", "GPU"]
    assert recipe.benchmark.duration_s == 10.0 and recipe.benchmark.seq_len == 128
    assert recipe.variants["int8"].quantize["preset"] == "performance"
    assert recipe.variants["w4"].compress_weights["ratio"] == 0.8
    assert recipe.evaluate.metric == "cosine"
    assert recipe.evaluate.properties == {"INFERENCE_PRECISION_HINT": "f32"}


def test_misspelled_key_points_at_key_with_did_you_mean(tmp_path):
    path = minimal_recipe(tmp_path)
    text = path.read_text().replace("  hints: [LATENCY]", "  hitns: [LATENCY]")
    path.write_text(text)
    err = _error(path)
    line = text.splitlines().index("  hitns: [LATENCY]") + 1
    assert (err.location.line, err.location.col) == (line, 3)
    assert err.message == "unknown key 'hitns' in targets"
    assert err.hint == "did you mean 'hints'?"


@pytest.mark.parametrize(
    "old, new, needle, hint_needle",
    [
        ("ratio: 0.8", "ratio: 1.5", "out of range", "share of the weights"),
        ("group_size: 16", "group_size: 0", "not allowed", ""),
        ("mode: int4_sym", "mode: int4_symm", "is not one of", "did you mean 'int4_sym'"),
        ("samples: 2", "samples: many", "expected integer, got string", ""),
        ("devices: [CPU, GPU]", "devices: [CPU, TPU]", "not a valid value", "OpenVINO device"),
        ("hints: [LATENCY]", "hints: [LATENCYY]", "is not one of", "did you mean 'LATENCY'"),
        ("version: 1", "version: 2", "is not one of: 1", ""),
        (
            "{dataset: calib}",
            "{dataset: calibb}",
            "unknown dataset 'calibb'",
            "did you mean 'calib'",
        ),
        ("reference: fp32", "reference: fp16", "unknown variant 'fp16'", "fp32"),
        (
            "{text: calib.txt, samples: 2}",
            "{text: nope.txt, samples: 2}",
            "data file not found",
            "relative",
        ),
        ("source: {path: model}", "source: {path: model, hf: x/y}", "exactly one", ""),
        (
            "source: {path: model}",
            "source: {pth: model}",
            "unknown key 'pth'",
            "did you mean 'path'",
        ),
    ],
)
def test_value_errors_have_position_and_hint(tmp_path, old, new, needle, hint_needle):
    path = minimal_recipe(tmp_path)
    text = path.read_text()
    assert old in text
    text = text.replace(old, new)
    path.write_text(text)
    err = _error(path)
    assert needle in err.message
    assert hint_needle in (err.hint or "")
    changed_line = next(i for i, line in enumerate(text.splitlines(), 1) if new in line)
    assert err.location.line == changed_line
    assert err.location.file == str(path)


def test_both_compressions_in_one_variant(tmp_path):
    path = minimal_recipe(tmp_path)
    path.write_text(
        path.read_text().replace(
            "quantize: {dataset: calib}", "quantize: {dataset: calib}\n    compress_weights: {}"
        )
    )
    err = _error(path)
    assert "both 'quantize' and 'compress_weights'" in err.message


def test_missing_required_key(tmp_path):
    path = write(tmp_path / "r.yaml", "version: 1\nname: x\nvariants: {a: {}}\n")
    err = _error(path)
    assert err.message == "missing required key 'model' in the top level"


def test_every_schema_property_has_a_description():
    missing = []

    def walk(node, where):
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    missing.append(f"{where}.{name}")
                walk(sub, f"{where}.{name}")
            for key in ("additionalProperties", "items"):
                if isinstance(node.get(key), dict):
                    walk(node[key], f"{where}[{key}]")
            for branch in node.get("oneOf", []):
                walk(branch, where)

    walk(load_schema(), "")
    assert missing == []


def test_schema_is_valid_2020_12():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(load_schema())
    assert json.dumps(load_schema())
