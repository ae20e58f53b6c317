"""The evaluate op: real OpenVINO inference of tiny models against a reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tiny_models import write_text_corpus

from runner.adapters import compress_weights as weights
from runner.adapters import dataset as datasets
from runner.adapters import evaluate, export, ir
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

F32 = {"INFERENCE_PRECISION_HINT": "f32"}
EVAL_SAMPLES = 10


def _ctx(out: Path, op: str, params: dict, inputs: dict, files: dict | None = None) -> TaskContext:
    out.mkdir(parents=True, exist_ok=True)
    return TaskContext(op, op, params, inputs, files or {}, out)


def _export(hf_dir: Path, out: Path, task: str) -> Path:
    params = {"source": {"kind": "path", "ref": str(hf_dir)}, "task": task}
    export.run(_ctx(out, "export", params, {}, {"model": hf_dir}))
    return out


def _dataset(model_out: Path, root: Path) -> Path:
    corpus = write_text_corpus(root / "eval.txt", 20, seed=11)
    params = {"samples": EVAL_SAMPLES, "max_length": 24}
    datasets.run(_ctx(root / "out", "dataset", params, {"model": model_out}, {"source": corpus}))
    return root / "out"


def _int4(model_out: Path, out: Path) -> Path:
    """A deliberately damaged copy: every weight, embeddings included, in 4 bits."""
    params = {"mode": "int4_sym", "ratio": 1.0, "group_size": 16, "all_layers": True}
    weights.run(_ctx(out, "compress_weights", params, {"model": model_out}))
    return out


@pytest.fixture(scope="module")
def bert(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval_bert")
    model = _export(tiny_bert_dir, root / "fp32", "feature-extraction")
    return {"fp32": model, "int4": _int4(model, root / "int4"), "data": _dataset(model, root)}


@pytest.fixture(scope="module")
def lm(tiny_causal_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval_lm")
    model = _export(tiny_causal_lm_dir, root / "fp32", "text-generation")
    return {"fp32": model, "int4": _int4(model, root / "int4"), "data": _dataset(model, root)}


def _evaluate(
    models: dict[str, Path], variant: str, out: Path, task: str, **params: object
) -> dict:
    inputs = {"model": models[variant], "reference": models["fp32"], "dataset": models["data"]}
    base = {"metric": evaluate._METRICS.get(task), "device": "CPU", "properties": F32}
    # deployed in f32 too unless a test says otherwise: figures independent of the CPU's default
    base |= {"deployed_properties": F32, "runtime_properties": [F32]}
    return evaluate.run(_ctx(out, "evaluate", base | {"task": task} | params, inputs))


def test_model_against_itself_has_cosine_one(bert: dict[str, Path], tmp_path: Path) -> None:
    result = _evaluate(bert, "fp32", tmp_path, "feature-extraction")

    assert result["metric"] == "cosine"
    assert result["value"] == pytest.approx(1.0, abs=1e-6)
    assert result["min"] == pytest.approx(1.0, abs=1e-6)
    assert result["accuracy_drop"] == pytest.approx(0.0, abs=1e-6)
    assert result["samples"] == EVAL_SAMPLES
    assert result["device"] == "CPU" and result["properties"] == F32
    assert result["compression"]["precision"] == "f32"  # the reference precision


def test_int4_model_scores_lower(bert: dict[str, Path], tmp_path: Path) -> None:
    result = _evaluate(bert, "int4", tmp_path, "feature-extraction")

    assert result["value"] < 1.0 - 1e-6
    assert result["min"] <= result["p05"] <= result["value"] <= 1.0
    assert result["accuracy_drop"] == pytest.approx(1.0 - result["value"])


def test_cosine_matches_a_manual_masked_mean_pooling(bert: dict[str, Path], tmp_path: Path) -> None:
    import openvino as ov

    from runner.adapters.feeds import make_feed

    core = ov.Core()
    compiled = {
        name: core.compile_model(bert[name] / "model" / ir.IR_XML, "CPU", F32)
        for name in ("fp32", "int4")
    }
    scores = []
    for sample in datasets.load_samples(bert["data"]):
        pooled = []
        for model in compiled.values():
            hidden = model(make_feed(model.inputs, sample))[0][0]  # [length, hidden]
            pooled.append(hidden.mean(axis=0))  # samples carry no padding: mask is all ones
        a, b = pooled
        scores.append(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))

    result = _evaluate(bert, "int4", tmp_path, "feature-extraction")
    assert result["value"] == pytest.approx(float(np.mean(scores)), abs=1e-5)
    assert result["min"] == pytest.approx(float(np.min(scores)), abs=1e-5)


def test_causal_lm_against_itself_agrees_everywhere(lm: dict[str, Path], tmp_path: Path) -> None:
    result = _evaluate(lm, "fp32", tmp_path, "text-generation")
    masks = [s["attention_mask"] for s in datasets.load_samples(lm["data"])]

    assert result["metric"] == "top1_agreement"
    assert result["value"] == 1.0 and result["accuracy_drop"] == 0.0
    assert result["positions"] == sum(int(mask.sum()) for mask in masks)


def test_int4_causal_lm_disagrees_somewhere(lm: dict[str, Path], tmp_path: Path) -> None:
    result = _evaluate(lm, "int4", tmp_path, "text-generation")

    assert 0.0 < result["value"] < 1.0
    assert result["min"] <= result["value"]
    assert result["accuracy_drop"] == pytest.approx(1.0 - result["value"])


def test_stateful_model_is_reset_between_samples(lm: dict[str, Path]) -> None:
    import openvino as ov

    runner = evaluate._Runner(ov.Core(), lm["fp32"] / "model", "CPU", F32, "logits")
    first, second = datasets.load_samples(lm["data"])[:2]

    assert runner.stateful
    before = runner.output_of(first)
    runner.output_of(second)
    # Without a reset the KV cache of earlier samples would shift every logit.
    np.testing.assert_array_equal(runner.output_of(first), before)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"task": "image-classification"}, "unsupported task"),
        ({"task": "feature-extraction", "metric": "top1_agreement"}, "not available"),
        ({"task": "text-generation", "metric": "cosine"}, "not available"),
        ({"task": "feature-extraction", "properties": {"INFERENCE_PRECISION_HINT": "f7"}}, "f7"),
    ],
)
def test_bad_parameters_are_user_errors(
    bert: dict[str, Path], tmp_path: Path, params: dict, match: str
) -> None:
    inputs = {"model": bert["fp32"], "reference": bert["fp32"], "dataset": bert["data"]}
    with pytest.raises(OvrunError, match=match):
        evaluate.run(_ctx(tmp_path, "evaluate", {"device": "CPU"} | params, inputs))


def _cpu_default_precision() -> str:
    import openvino as ov

    return ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()


def test_deployed_precision_is_read_back_and_deduplicated(
    bert: dict[str, Path], tmp_path: Path
) -> None:
    # deployed with the device defaults; one cell pins f32: both may resolve to the same
    # precision, which is then evaluated once (an AVX2 CPU runs f32 by default)
    result = _evaluate(
        bert,
        "int4",
        tmp_path,
        "feature-extraction",
        deployed_properties={},
        runtime_properties=[{}, F32],
    )
    default = _cpu_default_precision()
    assert result["deployed"]["precision"] == default
    assert result["compression"]["precision"] == "f32"
    assert [r["precision"] for r in result["runtime_precisions"]] == [default, "f32"]
    assert result["same_precision"] is (default == "f32")
    assert set(result["by_precision"]) == {"f32", default}
    if default == "f32":
        assert result["by_precision"]["f32"]["properties"] == [F32, {}, F32]
        assert result["value"] == result["compression"]["value"]
    # mean and worst case, at the deployed precision and for the compression alone
    for figures in (result, result["compression"]):
        assert figures["min"] <= figures["p05"] <= figures["value"] < 1.0
        assert figures["accuracy_drop"] == pytest.approx(1.0 - figures["value"])


def test_explicit_bf16_runtime_is_evaluated_apart(bert: dict[str, Path], tmp_path: Path) -> None:
    import openvino as ov

    if "BF16" not in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        pytest.skip("this CPU has no bf16 support (AVX2-only): OpenVINO runs bf16 requests in f32")
    bf16 = {"INFERENCE_PRECISION_HINT": "bf16"}
    result = _evaluate(
        bert,
        "int4",
        tmp_path,
        "feature-extraction",
        deployed_properties=bf16,
        runtime_properties=[bf16, F32],
    )
    assert result["deployed"]["precision"] == "bf16" and result["same_precision"] is False
    assert set(result["by_precision"]) == {"f32", "bf16"}
    assert result["value"] == result["by_precision"]["bf16"]["value"]
    assert result["compression"]["value"] == result["by_precision"]["f32"]["value"]
    assert result["min"] <= result["p05"] <= result["value"]


def test_accuracy_control_validates_text_generation_per_sample():
    """nncf's accuracy control for text generation scores each sample by next-token top-1
    agreement over its attended tokens (the function it calls once did not exist)."""
    import numpy as np

    from runner.adapters import accuracy_control

    class Outputs:  # a model's logits per sample, as evaluate._Runner.output_of gives them
        def __init__(self, by_sample):
            self.by_sample = by_sample

        def output_of(self, sample):
            return self.by_sample[id(sample)]

    first = {"attention_mask": np.array([[1, 1, 1, 0]])}
    second = {"attention_mask": np.array([[1, 1, 0, 0]])}
    ref_logits = np.eye(4)[None]  # token t predicts class t
    model_logits = ref_logits.copy()
    model_logits[0, 1] = [0, 0, 0, 1]  # second token now disagrees
    reference = Outputs({id(first): ref_logits, id(second): ref_logits})
    model = Outputs({id(first): model_logits, id(second): ref_logits})
    counts = list(accuracy_control.evaluate._top1_scores(model, reference, [first, second]))
    assert counts == [(2, 3), (2, 2)]
