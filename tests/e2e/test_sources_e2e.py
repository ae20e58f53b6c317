"""Every model source kind through a whole `ovrun` run: real conversion, NNCF, inference.

Models are made in the test: a tiny BERT (tests/tiny_models.py), its ONNX from
torch.onnx.export, its IR from ov.save_model, a fake HF cache holding it, a random-init
config. Each run builds an FP32 export and an INT8 weight-only variant, benchmarks both on
CPU and evaluates the variant against the export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from recipes_util import COMMIT_A, fake_hub, ovrun, write
from tiny_models import tiny_encoder, write_text_corpus

from runner.cache.store import Cache

pytestmark = pytest.mark.slow  # each test is a whole CLI run (~30-60 s on a busy host)

F32 = {"INFERENCE_PRECISION_HINT": "f32"}


def run_recipe(tmp: Path, source: str, task: str = "feature-extraction", env=None) -> dict:
    write_text_corpus(tmp / "eval.txt", 12, seed=3)
    recipe = write(
        tmp / "k.yaml",
        f"""
        version: 1
        name: kind
        model:
          source: {source}
          task: {task}
        data:
          eval: {{text: eval.txt, samples: 12, max_length: 24}}
        variants:
          fp32: {{}}
          w8:
            compress_weights: {{mode: int8_asym}}
        benchmark: {{duration_s: 0.2, warmup: 1, seq_len: 16, repeats: 1}}
        evaluate: {{dataset: eval, reference: fp32}}
        """,
    )
    cache = tmp / "cache"
    result = ovrun(str(recipe), "--cache-dir", str(cache), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((tmp / "kind.out" / "results.json").read_text())
    results["_cache"] = Cache(cache)
    for row in results["benchmarks"]:
        assert row["status"] == "ok" and row["throughput"] > 0
    evaluation = results["evaluations"]["w8"]
    assert 0.0 <= evaluation["value"] <= 1.0 + 1e-6
    return results


def exported_dir(results: dict) -> Path:
    key = results["run"]["tasks"]["export"]["key"]
    return results["_cache"].out_dir(key) / "model"


def bert_reference(model_dir: Path, text: str = "the model reads a long letter"):
    import torch
    from transformers import AutoTokenizer, BertModel

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    encoded = tokenizer(text, return_tensors="np")
    with torch.no_grad():
        torch_model = BertModel.from_pretrained(model_dir).eval()
        expected = torch_model(**{k: torch.from_numpy(v) for k, v in encoded.items()})
    return encoded, expected.last_hidden_state.numpy()


def ov_output(model_dir: Path, encoded: dict) -> np.ndarray:
    import openvino as ov

    compiled = ov.Core().compile_model(model_dir / "openvino_model.xml", "CPU", F32)
    feed = {p.get_any_name(): encoded[p.get_any_name()] for p in compiled.inputs}
    return compiled(feed)[0]


def test_hf_source_from_the_offline_cache(tmp_path: Path, tiny_bert_dir: Path) -> None:
    home = tmp_path / "hf"
    fake_hub(home, "org/tiny-bert", {"main": COMMIT_A}, files=tiny_bert_dir)
    results = run_recipe(tmp_path, "{hf: org/tiny-bert}", env={"HF_HOME": str(home)})
    summary = json.loads((exported_dir(results).parent / "result.json").read_text())
    assert summary["source"] == {"kind": "hf", "ref": "org/tiny-bert", "commit": COMMIT_A}
    encoded, expected = bert_reference(tiny_bert_dir)
    np.testing.assert_allclose(ov_output(exported_dir(results), encoded), expected, atol=1e-4)


def encoder_reference(model, model_dir: Path, text: str = "the model reads a long letter"):
    import torch
    from transformers import AutoTokenizer

    encoded = dict(AutoTokenizer.from_pretrained(model_dir)(text, return_tensors="np"))
    with torch.no_grad():
        expected = model(**{k: torch.from_numpy(v) for k, v in encoded.items()})
    return encoded, expected.numpy()


def vocab_of(model_dir: Path) -> int:
    return json.loads((model_dir / "config.json").read_text())["vocab_size"]


def test_onnx_source_from_torch_onnx_export(tmp_path: Path, tiny_bert_dir: Path) -> None:
    import torch

    model = tiny_encoder(vocab_of(tiny_bert_dir))
    ids = torch.ones(1, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    dynamic = {name: {0: "batch", 1: "sequence"} for name in names}
    torch.onnx.export(
        model,
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(tmp_path / "enc.onnx"),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes=dynamic,
        dynamo=False,
    )
    shutil.copytree(tiny_bert_dir, tmp_path / "tok")
    source = "{onnx: enc.onnx, tokenizer: tok, inputs: {input_ids: [-1, -1]}}"
    results = run_recipe(tmp_path, source)
    out = exported_dir(results)
    assert not list(out.glob("*.safetensors"))  # tokenizer files only, never the weights
    assert (out / "openvino_tokenizer.xml").is_file()
    encoded, expected = encoder_reference(model, tiny_bert_dir)
    np.testing.assert_allclose(ov_output(out, encoded), expected, atol=1e-4)


def test_ir_source_used_as_is(tmp_path: Path, tiny_bert_dir: Path) -> None:
    import openvino as ov
    import torch

    model = tiny_encoder(vocab_of(tiny_bert_dir))
    example = {
        "input_ids": torch.ones(1, 8, dtype=torch.long),
        "attention_mask": torch.ones(1, 8, dtype=torch.long),
        "token_type_ids": torch.zeros(1, 8, dtype=torch.long),
    }
    shapes = {name: ov.PartialShape([-1, -1]) for name in example}
    ir = ov.convert_model(model, example_input=example, input=shapes)
    ov.save_model(ir, tmp_path / "ir" / "enc.xml", compress_to_fp16=False)
    shutil.copytree(tiny_bert_dir, tmp_path / "tok")  # inputs live inside the project
    results = run_recipe(tmp_path, "{ir: ir/enc.xml, tokenizer: tok}")
    out = exported_dir(results)
    # No conversion: the very bytes of the given IR, keyed by their digest.
    assert (out / "openvino_model.bin").read_bytes() == (tmp_path / "ir/enc.bin").read_bytes()
    encoded, expected = encoder_reference(model, tiny_bert_dir)
    np.testing.assert_allclose(ov_output(out, encoded), expected, atol=1e-4)


def test_random_source_text_classification(tmp_path: Path, tiny_bert_dir: Path) -> None:
    source = (
        "{random: {config: {model_type: bert, hidden_size: 32, num_hidden_layers: 2, "
        "num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64, "
        "vocab_size: 1024, num_labels: 3}, tokenizer: tok, seed: 7}}"
    )
    shutil.copytree(tiny_bert_dir, tmp_path / "tok")
    results = run_recipe(tmp_path, source, task="text-classification")
    assert results["metric"] == "top1_agreement"
    out = exported_dir(results)
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["BertForSequenceClassification"]
    import openvino as ov

    logits = ov.Core().read_model(out / "openvino_model.xml").output("logits")
    assert logits.get_partial_shape()[1].get_length() == 3
