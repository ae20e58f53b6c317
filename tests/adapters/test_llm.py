"""The LLM path: tokenizer IR beside every variant, the openvino-genai generation
benchmark, perplexity, and recipes/llm-int4.yaml from a clean copy of the repo."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from recipes_util import REPO, ovrun
from tiny_models import write_text_corpus

from runner.adapters import compress_weights as weights
from runner.adapters import dataset as datasets
from runner.adapters import evaluate, export, generate, model_sources
from runner.plan.context import TaskContext

TINY_LLAMA = REPO / "recipes" / "models" / "tiny-llama"


def ctx(tmp: Path, name: str, op: str, params: dict, inputs=None, files=None, device=None):
    out = tmp / name
    out.mkdir(parents=True)
    return TaskContext(name, op, params, inputs or {}, files or {}, out, device=device)


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory, tiny_causal_lm_dir: Path) -> dict[str, Path]:
    """A stateful FP32 export of the tiny Llama, and its INT4 weight-compressed variant."""
    root = tmp_path_factory.mktemp("llm")
    params = {
        "source": {"kind": "path"},
        "task": "text-generation",
        "weight_format": "fp32",
        "trust_remote_code": False,
        "shapes": {},
    }
    ref = ctx(root, "fp32", "export", params, files={"model": tiny_causal_lm_dir})
    summary = export.run(ref)
    w4 = ctx(root, "int4", "compress_weights", {"mode": "int4_asym", "group_size": 16},
             inputs={"model": ref.out})  # fmt: skip
    weights.run(w4)
    return {"fp32": ref.out, "int4": w4.out, "summary": summary, "root": root}


def test_tokenizer_ir_is_exported_and_carried_by_compressed_variants(llm) -> None:
    assert llm["summary"]["tokenizer_ir"] == {"converted": True, "detokenizer": True}
    for variant in ("fp32", "int4"):
        model_dir = llm[variant] / "model"
        for name in (model_sources.TOKENIZER_XML, model_sources.DETOKENIZER_XML):
            assert (model_dir / name).is_file() and (model_dir / name).with_suffix(".bin").is_file()


def test_compressed_dir_runs_in_openvino_genai_from_text(llm) -> None:
    import openvino_genai as genai

    pipe = genai.LLMPipeline(str(llm["int4"] / "model"), "CPU")
    config = genai.GenerationConfig()
    config.max_new_tokens, config.ignore_eos = 6, True
    result = pipe.generate(["The model reads a long letter"], config)
    assert len(result.texts) == 1  # tokenizer and detokenizer IR both ran
    assert result.perf_metrics.get_num_generated_tokens() == 6


def test_generate_benchmark_reports_ttft_tpot_tokens_per_s(llm, tmp_path: Path) -> None:
    params = {"duration_s": 0.3, "warmup": 1, "max_new_tokens": 8, "seq_len": 12, "seed": 3}
    result = generate.run(ctx(tmp_path, "g", "generate", params, {"model": llm["int4"]},
                              device="CPU"))  # fmt: skip
    assert result["mode"] == "generate" and result["iterations"] >= 1
    assert result["generated_tokens_mean"] == 8  # ignore_eos: exactly max_new_tokens
    assert result["prompt_tokens_mean"] == 12
    assert result["ttft_ms"]["mean"] > 0 and result["tpot_ms"]["mean"] > 0
    assert result["tokens_per_s"]["mean"] > 0
    assert result["throughput"] == result["tokens_per_s"]["mean"]
    assert result["latency_ms"]["median"] > 0


def test_generate_benchmark_uses_the_prompt_dataset(llm, tmp_path: Path) -> None:
    write_text_corpus(tmp_path / "p.txt", 3, seed=5)
    data = ctx(tmp_path, "d", "dataset",
               {"format": "text", "samples": 3, "seed": 0, "shuffle": False, "max_length": 16},
               {"model": llm["fp32"]}, {"source": tmp_path / "p.txt"})  # fmt: skip
    datasets.run(data)
    params = {"duration_s": 0.0, "warmup": 0, "max_new_tokens": 4, "prompts": "dataset"}
    result = generate.run(ctx(tmp_path, "g", "generate", params,
                              {"model": llm["fp32"], "dataset": data.out}, device="CPU"))  # fmt: skip
    lengths = [s["input_ids"].shape[1] for s in datasets.load_samples(data.out)]
    assert result["prompt_count"] == 3 and result["iterations"] == 3  # one full pass
    assert result["prompt_tokens_mean"] == pytest.approx(np.mean(lengths))


def _generation_results(llm, tmp_path: Path, repeats: int) -> dict:
    """Both variants' generation cells with ``repeats`` timed loops, gathered as the report
    op gathers them."""
    from runner.adapters.report import build_results

    params = {"duration_s": 0.2, "warmup": 1, "max_new_tokens": 4, "seq_len": 8}
    cells, inputs = {}, {}
    for variant in ("fp32", "int4"):
        task = f"bench:{variant}:CPU:LATENCY"
        c = ctx(tmp_path, f"{variant}-{repeats}", "generate", {**params, "repeats": repeats},
                {"model": llm[variant]}, device="CPU")  # fmt: skip
        (c.out / "result.json").write_text(json.dumps(generate.run(c)))
        inputs[task] = c.out
        cells[task] = {"op": "generate", "variant": variant, "device": "CPU", "hint": "LATENCY"}
    report = {"recipe": "r", "variants": {"fp32": {}, "int4": {}}, "reference": "fp32"}
    return build_results({**report, "cells": cells}, inputs)


def _table_text(results: dict) -> str:
    import io

    from rich.console import Console

    from runner.report.table import summary_table

    console = Console(file=io.StringIO(), width=200)
    console.print(summary_table(results))
    return console.file.getvalue()


def test_generation_cells_honour_repeats_and_give_the_noise_verdict(llm, tmp_path: Path) -> None:
    results = _generation_results(llm, tmp_path, repeats=3)
    int4 = next(r for r in results["benchmarks"] if r["variant"] == "int4")
    assert len(int4["repeats"]) == 3 and all(r["throughput"] > 0 for r in int4["repeats"])
    assert int4["throughput"] == np.median([r["throughput"] for r in int4["repeats"]])
    spread = int4["spread"]["throughput"]
    assert spread["min"] <= int4["throughput"] <= spread["max"]
    assert int4["iterations"] == sum(r["iterations"] for r in int4["repeats"])
    verdict = int4["speedup_verdict"]
    assert verdict in ("significant", "within noise")
    text = _table_text(results)
    assert f"({verdict})" in text and "spread" in text and "±" in text


def test_one_repeat_generation_ratio_says_noise_not_measured(llm, tmp_path: Path) -> None:
    results = _generation_results(llm, tmp_path, repeats=1)
    int4 = next(r for r in results["benchmarks"] if r["variant"] == "int4")
    assert int4["speedup_verdict"] == "noise not measured"
    text = _table_text(results)
    assert "(noise not measured)" in text and "1 run" in text


def test_perplexity_matches_torch(llm, tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    write_text_corpus(tmp_path / "e.txt", 4, seed=9)
    data = ctx(tmp_path, "d", "dataset",
               {"format": "text", "samples": 4, "seed": 0, "shuffle": False, "max_length": 24},
               {"model": llm["fp32"]}, {"source": tmp_path / "e.txt"})  # fmt: skip
    datasets.run(data)
    # deployed in f32 as well: figures that hold on a CPU whose default is bf16 too
    f32 = {"INFERENCE_PRECISION_HINT": "f32"}
    params = {"task": "text-generation", "metric": "top1_agreement", "deployed_properties": f32}
    inputs = {"model": llm["fp32"], "reference": llm["fp32"], "dataset": data.out}
    same = evaluate.run(ctx(tmp_path, "e", "evaluate", params, inputs))
    assert same["value"] == 1.0 and same["perplexity"] == same["reference_perplexity"]

    model = AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir).eval()
    nll, count = 0.0, 0
    for sample in datasets.load_samples(data.out):
        ids = torch.from_numpy(sample["input_ids"])
        with torch.no_grad():
            loss = model(input_ids=ids, labels=ids).loss.item()
        nll += loss * (ids.shape[1] - 1)
        count += ids.shape[1] - 1
    assert same["perplexity"] == pytest.approx(math.exp(nll / count), rel=1e-4)

    inputs["model"] = llm["int4"]
    compressed = evaluate.run(ctx(tmp_path, "e4", "evaluate", params, inputs))
    assert 0.0 <= compressed["value"] <= 1.0
    assert compressed["perplexity"] != same["perplexity"]  # INT4 weights change the logits
    assert compressed["reference_perplexity"] == same["perplexity"]


def test_random_weights_follow_the_seed(tmp_path: Path) -> None:
    def build(seed: int, name: str) -> bytes:
        c = ctx(tmp_path, name, "export", {"source": {"kind": "random", "config": None,
                                                      "seed": seed}},
                files={"config": TINY_LLAMA / "config.json", "tokenizer": TINY_LLAMA})  # fmt: skip
        dest = tmp_path / f"{name}-model"
        model_sources.materialize_random(c, "text-generation", dest)
        return (dest / "model.safetensors").read_bytes()

    assert build(0, "a") == build(0, "b")
    assert build(0, "c") != build(1, "d")


def test_committed_tiny_llama_stays_small() -> None:
    total = sum(p.stat().st_size for p in TINY_LLAMA.rglob("*") if p.is_file())
    assert total < 2 * 1024 * 1024
    assert not list(TINY_LLAMA.glob("*.safetensors"))  # weights come from the seed


@pytest.mark.slow
def test_llm_int4_recipe_runs_offline_from_a_clean_copy(tmp_path: Path) -> None:
    clone = tmp_path / "clone" / "recipes"
    clone.mkdir(parents=True)
    shutil.copy(REPO / "recipes" / "llm-int4.yaml", clone)
    shutil.copytree(REPO / "recipes" / "models", clone / "models")
    shutil.copytree(REPO / "recipes" / "data", clone / "data")
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-hf")}
    cache = tmp_path / "cache"
    result = ovrun(str(clone / "llm-int4.yaml"), "--cache-dir", str(cache), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    for column in ("TTFT ms", "TPOT ms", "tokens/s", "top1_agreement", "perplexity"):
        assert column in result.stdout
    results = json.loads((clone / "llm-int4.out" / "results.json").read_text())
    rows = {row["variant"]: row for row in results["benchmarks"]}
    assert set(rows) == {"fp16", "int8", "int4"}
    for row in rows.values():
        assert row["status"] == "ok" and row["mode"] == "generate"
        assert row["ttft_ms"]["mean"] > 0 and row["tpot_ms"]["mean"] > 0
        assert row["tokens_per_s"]["mean"] > 0
        assert row["generated_tokens_mean"] == 32 and row["prompt_count"] == 4
    assert rows["int4"]["size_bytes"] < rows["fp16"]["size_bytes"]
    for variant in ("int8", "int4"):
        ev = results["evaluations"][variant]
        assert ev["metric"] == "top1_agreement" and 0.0 <= ev["value"] <= 1.0
        assert ev["perplexity"] > 1.0
    again = ovrun(str(clone / "llm-int4.yaml"), "--cache-dir", str(cache), env=env)
    assert again.returncode == 0
    tasks = json.loads((clone / "llm-int4.out" / "results.json").read_text())["run"]["tasks"]
    assert all(t["state"] == "cached" for t in tasks.values())
