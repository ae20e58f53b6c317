"""Deploy only what passed, and every deploy loads where it is meant to run.

Variants that fail their accuracy gate or an `assert:` get no optimum dir, OVMS entry or
bundle unless `deploy: {allow_failed: true}`; the console and results.json say why. ONNX
and IR sources get the config.json optimum-intel needs from the recipe's model_type (or
are refused before anything runs). Every deployed optimum dir is loaded with optimum-intel
and run once; LLM deploys also with openvino_genai.LLMPipeline."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest
from recipes_util import REPO, ovrun, write
from tiny_models import tiny_encoder, write_text_corpus

OPTIMUM_CLASSES = {
    "feature-extraction": "OVModelForFeatureExtraction",
    "text-generation": "OVModelForCausalLM",
}


def load_every_deploy(out: Path, task: str) -> list[str]:
    """Load each deploy/optimum/<variant> with optimum-intel (and LLMs with openvino-genai)
    and run one inference; returns the variants loaded."""
    import optimum.intel
    from transformers import AutoTokenizer

    loaded = []
    for model_dir in sorted((out / "deploy" / "optimum").iterdir()):
        model = getattr(optimum.intel, OPTIMUM_CLASSES[task]).from_pretrained(
            model_dir, device="CPU"
        )
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        inputs = tokenizer(["the model reads a long letter"], return_tensors="pt")
        if task == "text-generation":
            generated = model.generate(**inputs, max_new_tokens=3, do_sample=False)
            assert generated.shape[1] == inputs["input_ids"].shape[1] + 3
            import openvino_genai

            pipe = openvino_genai.LLMPipeline(str(model_dir), "CPU")
            config = openvino_genai.GenerationConfig()
            config.max_new_tokens = 3
            text = pipe.generate("the model reads", config)
            assert isinstance(text, str) and text  # three tokens, decoded by the IR detokenizer
        else:
            hidden = model(**inputs).last_hidden_state
            assert tuple(hidden.shape[:2]) == tuple(inputs["input_ids"].shape)
            assert bool((hidden.abs().sum(-1) > 0).all())
        loaded.append(model_dir.name)
    return loaded


GATED = """
    version: 1
    name: gated
    model: {source: {path: model}}
    data:
      calib: {text: calib.txt, samples: 16, max_length: 16}
      eval: {text: eval.txt, samples: 12, max_length: 16}
    variants:
      fp32: {}
      int8: {quantize: {dataset: calib, subset_size: 16}}
      w8: {compress_weights: {mode: int8_asym}}
    targets: {devices: [CPU], hints: [LATENCY]}
    benchmark: {duration_s: 0.1, warmup: 1, seq_len: 16, repeats: 1}
    evaluate: {dataset: eval, reference: fp32, max_drop: 0.0001}
    assert:
      - "fp32.size_mb > 1000"
    deploy: {variants: [fp32, int8, w8]}
    """


@pytest.mark.slow
def test_failing_variants_are_held_back_unless_allowed(tmp_path, tiny_project):
    project = tiny_project(GATED, {"calib.txt": (16, 1), "eval.txt": (12, 2)}, dir=tmp_path)
    args = (str(project.recipe), "--cache-dir", str(project.cache))
    first = ovrun(*args)
    assert first.returncode == 1, first.stdout + first.stderr  # a gate and an assert failed
    doc = project.results()
    drops = {g["variant"]: g["accuracy_drop"] for g in doc["gates"]}
    # int8 PTQ moves the tiny BERT's outputs more than int8 weights alone: one fails, one passes
    assert drops["int8"] > 0.0001 >= drops["w8"], drops
    assert doc["deploy"]["deployed"] == ["w8"]
    held = doc["deploy"]["held_back"]
    assert sorted(held) == ["fp32", "int8"]
    assert held["int8"] == [
        f"accuracy gate failed: cosine {doc['gates'][0]['value']:.4f}, "
        f"drop {drops['int8']:.4f} > max_drop 0.0001"
    ]
    assert (
        held["fp32"][0].startswith("assert failed at ") and "fp32.size_mb > 1000" in held["fp32"][0]
    )
    assert "deploy: int8 held back: accuracy gate failed" in first.stdout
    assert "deploy: fp32 held back: assert failed" in first.stdout
    assert "allow_failed: true" in first.stdout
    # nothing of the held-back variants reaches the run dir: no optimum dir, entry or bundle
    deploy = project.out / "deploy"
    assert sorted(p.name for p in (deploy / "optimum").iterdir()) == ["w8"]
    config = json.loads((deploy / "ovms" / "config.json").read_text())
    assert [e["config"]["name"] for e in config["model_config_list"]] == ["gated-w8"]
    assert sorted(p.name for p in (deploy / "ovms").iterdir() if p.is_dir()) == ["gated-w8"]
    assert sorted(p.name for p in deploy.glob("*.tar.gz")) == ["gated-w8.tar.gz"]
    assert load_every_deploy(project.out, "feature-extraction") == ["w8"]
    _validates(doc)

    allowed = ovrun(*args, "--set", "deploy.allow_failed=true")
    assert allowed.returncode == 1  # deploying anyway does not make the run a success
    doc = project.results()
    assert doc["deploy"]["deployed"] == ["fp32", "int8", "w8"]
    assert doc["deploy"]["held_back"] == {} and sorted(doc["deploy"]["deployed_failing"]) == [
        "fp32",
        "int8",
    ]
    assert "deploy: int8 deployed (allow_failed) although accuracy gate failed" in allowed.stdout
    assert sorted(p.name for p in deploy.glob("*.tar.gz")) == [
        "gated-fp32.tar.gz",
        "gated-int8.tar.gz",
        "gated-w8.tar.gz",
    ]
    _validates(doc)

    # nothing passes: the deploy dir of the earlier run is removed, not left on offer
    none = ovrun(*args, "--set", "evaluate.max_drop=0")
    assert none.returncode == 1
    doc = project.results()
    assert doc["deploy"] == {
        "dir": None,
        "deployed": [],
        "held_back": doc["deploy"]["held_back"],
        "deployed_failing": {},
    }
    assert sorted(doc["deploy"]["held_back"]) == ["fp32", "int8", "w8"]
    assert not deploy.exists()
    assert not [p for p in project.out.iterdir() if p.name.startswith(".deploy")]


def _validates(doc: dict) -> None:
    import jsonschema

    schema = json.loads((REPO / "schemas" / "results.schema.json").read_text())
    jsonschema.validate(doc, schema)


def _tokenizer_only(src: Path, dest: Path) -> Path:
    """The tokenizer files of a HF dir, without its config.json and weights."""
    dest.mkdir(parents=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (src / name).is_file():
            shutil.copy(src / name, dest / name)
    return dest


@pytest.mark.slow
def test_onnx_deploy_gets_a_config_from_model_type_and_loads(tmp_path, tiny_bert_dir):
    import torch

    vocab = json.loads((tiny_bert_dir / "config.json").read_text())["vocab_size"]
    model = tiny_encoder(vocab)
    ids = torch.ones(1, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        model,
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(tmp_path / "bert.onnx"),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={name: {0: "batch", 1: "sequence"} for name in names},
        dynamo=False,
    )
    _tokenizer_only(tiny_bert_dir, tmp_path / "tok")
    recipe = write(
        tmp_path / "onnx.yaml",
        """
        version: 1
        name: onnxdep
        model: {source: {onnx: bert.onnx, tokenizer: tok, model_type: bert}}
        variants:
          fp32: {}
          w8: {compress_weights: {mode: int8_asym}}
        targets: {devices: [CPU], hints: [LATENCY]}
        benchmark: {duration_s: 0.1, warmup: 1, seq_len: 16, repeats: 1}
        deploy: {variants: [fp32, w8]}
        """,
    )
    result = ovrun(str(recipe), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "onnxdep.out"
    config = json.loads((out / "deploy" / "optimum" / "w8" / "config.json").read_text())
    assert config == {"model_type": "bert"}  # only what is known; transformers fills the rest
    assert load_every_deploy(out, "feature-extraction") == ["fp32", "w8"]
    with tarfile.open(out / "deploy" / "onnxdep-w8.tar.gz") as tar:
        assert "optimum/config.json" in tar.getnames()


@pytest.mark.slow
def test_llm_ir_deploy_loads_in_optimum_and_openvino_genai(tmp_path, tiny_causal_lm_dir):
    from optimum.exporters.openvino import main_export
    from optimum.intel import OVConfig

    main_export(
        str(tiny_causal_lm_dir),
        tmp_path / "exported",
        task="text-generation-with-past",
        library_name="transformers",
        ov_config=OVConfig(dtype="fp32"),
        stateful=True,
        convert_tokenizer=False,
    )
    (tmp_path / "ir").mkdir()
    for suffix in (".xml", ".bin"):
        shutil.copy(tmp_path / "exported" / f"openvino_model{suffix}", tmp_path / "ir")
    _tokenizer_only(tiny_causal_lm_dir, tmp_path / "tok")
    write_text_corpus(tmp_path / "prompts.txt", 4, seed=5)
    recipe = write(
        tmp_path / "llm.yaml",
        """
        version: 1
        name: llmdep
        model:
          source: {ir: ir/openvino_model.xml, tokenizer: tok, model_type: llama}
          task: text-generation
        data:
          prompts: {text: prompts.txt, samples: 2, max_length: 16}
        variants:
          fp32: {}
          w8: {compress_weights: {mode: int8_asym}}
        targets: {devices: [CPU], hints: [LATENCY]}
        benchmark: {duration_s: 0.1, warmup: 1, prompts: prompts, max_new_tokens: 4, repeats: 1}
        deploy: {variants: [w8]}
        """,
    )
    result = ovrun(str(recipe), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "llmdep.out"
    assert (out / "deploy" / "optimum" / "w8" / "openvino_detokenizer.xml").is_file()
    assert load_every_deploy(out, "text-generation") == ["w8"]
    # an IR source brings no tokenizer IRs: the deploy converts them for OVMS's LLM graph
    from ovms_util import schema_errors

    served = out / "deploy" / "ovms" / "llmdep-w8"
    assert (served / "graph.pbtxt").is_file() and (served / "openvino_detokenizer.xml").is_file()
    assert schema_errors(json.loads((out / "deploy" / "ovms" / "config.json").read_text())) == []


@pytest.mark.parametrize("kind", ["ir", "onnx"])
def test_graph_source_without_config_refuses_optimum_deploy_before_running(tmp_path, kind):
    (tmp_path / "m").mkdir()
    model = "m/model.xml" if kind == "ir" else "m/model.onnx"
    (tmp_path / model).write_bytes(b"never read: validation stops first")
    (tmp_path / "m" / "model.bin").write_bytes(b"\0")
    (tmp_path / "tok").mkdir()
    (tmp_path / "tok" / "tokenizer.json").write_text("{}")
    recipe = write(
        tmp_path / "r.yaml",
        f"""
        version: 1
        name: nocfg
        model: {{source: {{{kind}: {model}, tokenizer: tok}}}}
        variants: {{fp32: {{}}}}
        deploy:
          variants: [fp32]
          formats: [optimum, ovms]
        """,
    )
    plan = ("plan", str(recipe), "--cache-dir", str(tmp_path / "cache"))
    for command in (("validate", str(recipe)), plan):
        result = ovrun(*command)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert f"{recipe}:7:" in result.stderr  # the formats line
        assert f"this {kind}: source has none" in result.stderr
        assert "hint: add model_type:" in result.stderr
    # OVMS alone needs no transformers config: the same source is fine there
    recipe.write_text(recipe.read_text().replace("[optimum, ovms]", "[ovms]"))
    assert ovrun("validate", str(recipe)).returncode == 0
