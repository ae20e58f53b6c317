"""Task families on random-init tiny BERTs: real export per task, INT8 weight compression,
and each task's evaluation metric by real OpenVINO inference."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import write_text_corpus

from runner.adapters import compress_weights as weights
from runner.adapters import dataset as datasets
from runner.adapters import evaluate, export
from runner.plan.context import TaskContext

CONFIG = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "vocab_size": 1024,
    "num_labels": 4,
}
LABELS = {"question-answering": {"num_labels": 2}}
OUTPUTS = {
    "fill-mask": ["logits"],
    "token-classification": ["logits"],
    "question-answering": ["end_logits", "start_logits"],
}


def ctx(tmp: Path, name: str, op: str, params: dict, inputs=None, files=None) -> TaskContext:
    out = tmp / name
    out.mkdir(parents=True)
    return TaskContext(name, op, params, inputs or {}, files or {}, out)


@pytest.mark.parametrize("task", sorted(OUTPUTS))
def test_task_exports_and_evaluates(task: str, tmp_path: Path, tiny_bert_dir: Path) -> None:
    params = {
        # A QA head is two logits per token: start and end.
        "source": {"kind": "random", "config": {**CONFIG, **LABELS.get(task, {})}, "seed": 1},
        "task": task,
        "weight_format": "fp32",
        "trust_remote_code": False,
        "shapes": {},
    }
    ref = ctx(tmp_path, "export", "export", params, files={"tokenizer": tiny_bert_dir})
    summary = export.run(ref)
    assert sorted(summary["outputs"]) == OUTPUTS[task]

    w8 = ctx(tmp_path, "w8", "compress_weights", {"mode": "int8_asym"}, {"model": ref.out})
    weights.run(w8)
    write_text_corpus(tmp_path / "e.txt", 6, seed=4)
    data = ctx(tmp_path, "d", "dataset",
               {"format": "text", "samples": 6, "seed": 0, "shuffle": False, "max_length": 16},
               {"model": ref.out}, {"source": tmp_path / "e.txt"})  # fmt: skip
    datasets.run(data)

    metric = "span_agreement" if task == "question-answering" else "top1_agreement"
    # deployed in f32 as well: figures that hold on a CPU whose default is bf16 too
    params = {
        "task": task,
        "metric": metric,
        "deployed_properties": {"INFERENCE_PRECISION_HINT": "f32"},
    }
    same = evaluate.run(ctx(tmp_path, "same", "evaluate", params,
                            {"model": ref.out, "reference": ref.out, "dataset": data.out}))  # fmt: skip
    assert same["metric"] == metric and same["value"] == 1.0
    other = evaluate.run(ctx(tmp_path, "w8e", "evaluate", params,
                             {"model": w8.out, "reference": ref.out, "dataset": data.out}))  # fmt: skip
    assert 0.0 <= other["value"] <= 1.0
    if task == "question-answering":
        assert {"start_agreement", "end_agreement"} <= set(other)


def test_shapes_make_the_export_static(tmp_path: Path, tiny_bert_dir: Path) -> None:
    import numpy as np
    import openvino as ov

    shapes = {"input_ids": [1, 16], "attention_mask": [1, 16], "token_type_ids": [1, 16]}
    params = {
        "source": {"kind": "random", "config": CONFIG, "seed": 1},
        "task": "feature-extraction",
        "weight_format": "fp16",
        "trust_remote_code": False,
        "shapes": shapes,
    }
    out = ctx(tmp_path, "export", "export", params, files={"tokenizer": tiny_bert_dir})
    summary = export.run(out)
    assert summary["shapes"] == shapes
    core = ov.Core()
    model = core.read_model(out.out / "model" / "openvino_model.xml")
    assert {p.get_any_name(): list(p.get_shape()) for p in model.inputs} == shapes
    ids = np.ones((1, 16), dtype=np.int64)
    result = core.compile_model(model, "CPU")([ids, ids, np.zeros_like(ids)])
    assert list(result[0].shape) == [1, 16, 32]


def test_shapes_naming_an_unknown_input_is_a_user_error(tmp_path: Path, tiny_bert_dir) -> None:
    from runner.core.errors import OvrunError

    params = {
        "source": {"kind": "random", "config": CONFIG, "seed": 1},
        "task": "feature-extraction",
        "weight_format": "fp32",
        "shapes": {"pixel_values": [1, 3]},
    }
    with pytest.raises(OvrunError) as info:
        export.run(ctx(tmp_path, "export", "export", params, files={"tokenizer": tiny_bert_dir}))
    assert "pixel_values" in info.value.message and "input_ids" in info.value.hint


def test_architecture_optimum_cannot_export_exits_2(tmp_path: Path, tiny_bert_dir: Path) -> None:
    import shutil

    from recipes_util import ovrun, write

    shutil.copytree(tiny_bert_dir, tmp_path / "tok")  # inputs live inside the project
    recipe = write(
        tmp_path / "r.yaml",
        """
        version: 1
        name: unexportable
        model:
          source: {random: {config: {model_type: bert, hidden_size: 32, num_hidden_layers: 1,
            num_attention_heads: 2, intermediate_size: 64}, tokenizer: tok}}
          task: text-generation
        variants:
          fp32: {}
        """,
    )
    result = ovrun(str(recipe), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 2, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "optimum-intel cannot export BertLMHeadModel" in output
    assert "for task text-generation" in output
    assert "Traceback" not in output
