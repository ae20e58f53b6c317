"""The ``deploy`` op: turn one variant's model dir into deployable artifacts.

Writes below ``ctx.out`` (published into the cache like any task output; `runner.deploy.materialize`
then copies it into the run dir):
    optimum/                      OVModelFor*.from_pretrained loads this dir as is; it also
                                  holds openvino_tokenizer.xml (+ detokenizer) when
                                  openvino-tokenizers can convert the tokenizer
    ovms/<name>/1/model.xml|bin   an OpenVINO Model Server model repository entry, or for
                                  text-generation the LLM servable OVMS's export script
                                  writes: ovms/<name>/ = the model dir with its tokenizer and
                                  detokenizer IRs plus graph.pbtxt (runner.deploy.ovms_llm)
    ovms/<name>.entry.json        this model's `model_config_list` item (merged per run)
    bundle.tar.gz                 optimum/ + ovms/ + manifest.json (sha256 of every member)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from runner.adapters.kserve_request import kserve_request
from runner.core.errors import OvrunError
from runner.deploy.bundle import write_bundle
from runner.deploy.ovms_llm import GRAPH, TOKENIZER_FILES, LLMServing, llm_entry, llm_graph
from runner.plan.context import TaskContext

IR_XML, IR_BIN = "openvino_model.xml", "openvino_model.bin"


def ovms_entry(name: str, device: str, plugin_config: dict[str, Any]) -> dict[str, Any]:
    """One `model_config_list` item in the documented OVMS format. base_path is relative:
    OVMS resolves it against the config.json location, so the repository can be moved."""
    return {
        "config": {
            "name": name,
            "base_path": name,
            "target_device": device,
            "plugin_config": {k: _plugin_value(v) for k, v in sorted(plugin_config.items())},
        }
    }


def _plugin_value(value: Any) -> Any:
    # OVMS documents plugin_config values as strings ("NUM_STREAMS": "1"); OpenVINO parses them.
    if isinstance(value, bool):
        return "YES" if value else "NO"
    return value if isinstance(value, str) else str(value)


def run(ctx: TaskContext) -> dict[str, Any]:
    params = ctx.params
    source = ctx.model_dir("model")
    if not (source / IR_XML).is_file():
        raise OvrunError(
            f"deploy: no OpenVINO IR in {source}",
            hint="the deployed variant must produce an optimum-style model dir",
        )
    formats = params["formats"]
    summary: dict[str, Any] = {"variant": params["variant"], "formats": formats}

    optimum = ctx.out / "optimum"
    shutil.copytree(source, optimum)
    summary["ov_tokenizer"] = _export_ov_tokenizer(optimum, params["task"], ctx)

    name = params["model_name"]
    ovms = ctx.out / "ovms"
    if params["task"] == "text-generation":
        entry = _llm_servable(optimum, ovms / name, params, ctx)
        summary["ovms"] = {**entry["config"], "graph": f"{name}/{GRAPH}"}
    else:
        version_dir = ovms / name / "1"
        version_dir.mkdir(parents=True)
        shutil.copy2(source / IR_XML, version_dir / "model.xml")
        shutil.copy2(source / IR_BIN, version_dir / "model.bin")
        entry = ovms_entry(name, params["device"], params["plugin_config"])
        summary["ovms"] = entry["config"]
        request = kserve_request(source / IR_XML, optimum)
        (ovms / f"{name}.request.json").write_text(json.dumps(request), encoding="utf-8")
    (ovms / f"{name}.entry.json").write_text(json.dumps(entry, indent=2), encoding="utf-8")

    if "bundle" in formats:
        staging = ctx.out / "bundle-src"
        staging.mkdir()
        shutil.copytree(optimum, staging / "optimum")
        shutil.copytree(ovms / name, staging / "ovms" / name)
        if (ovms / f"{name}.request.json").is_file():
            shutil.copy2(ovms / f"{name}.request.json", staging / "ovms")
        (staging / "ovms" / "config.json").write_text(
            json.dumps({"model_config_list": [entry]}, indent=2), encoding="utf-8"
        )
        summary["bundle_sha256"] = write_bundle(staging, ctx.out / "bundle.tar.gz")
        shutil.rmtree(staging)
    # Formats not asked for are built anyway (they are cheap copies) but not materialized.
    return summary


def _llm_servable(
    optimum: Path, dest: Path, params: dict[str, Any], ctx: TaskContext
) -> dict[str, Any]:
    """OVMS's LLM layout: the whole model dir (IR, tokenizer/detokenizer IRs, configs and the
    HF tokenizer files whose chat template /v3/chat/completions applies) plus graph.pbtxt."""
    missing = [f for f in TOKENIZER_FILES if not (optimum / f).is_file()]
    if missing and not {"ovms", "bundle"} & set(params["formats"]):
        ctx.log(f"no {', '.join(missing)}: OVMS's LLM pipeline could not serve this variant")
    elif missing:
        raise OvrunError(
            f"deploy: OVMS serves a text-generation model only with its tokenizer and "
            f"detokenizer IRs, and {', '.join(missing)} could not be made",
            hint="the model dir needs a Hugging Face tokenizer that openvino-tokenizers "
            "converts with a detokenizer; or deploy with formats: [optimum]",
        )
    shutil.copytree(optimum, dest)
    plugin = {k: _plugin_value(v) for k, v in sorted(params["plugin_config"].items())}
    graph = llm_graph(params["device"], plugin, LLMServing(**params.get("llm", {})))
    (dest / GRAPH).write_text(graph, encoding="utf-8")
    return llm_entry(dest.name)


def _export_ov_tokenizer(model_dir: Path, task: str, ctx: TaskContext) -> bool:
    """openvino-tokenizers IR beside the model, as `optimum-cli export openvino` writes it.
    A text-generation model needs the detokenizer too (OVMS and openvino-genai decode with
    it); the export makes both, but an IR or ONNX source may come without them."""
    if task == "text-generation" and not (model_dir / "openvino_detokenizer.xml").exists():
        from runner.adapters.model_sources import convert_tokenizer_ir

        return bool(convert_tokenizer_ir(model_dir, ctx.log)["converted"])
    if (model_dir / "openvino_tokenizer.xml").exists():
        return True
    if not (model_dir / "tokenizer_config.json").exists():
        ctx.log("no tokenizer in the model dir; skipping the OpenVINO tokenizer IR")
        return False
    from optimum.exporters.openvino.convert import export_tokenizer
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    optimum_task = "text-generation-with-past" if task == "text-generation" else task
    export_tokenizer(tokenizer, model_dir, task=optimum_task)
    converted = (model_dir / "openvino_tokenizer.xml").exists()
    if converted:
        import openvino_tokenizers  # noqa: F401  registers the tokenizer ops for reading

        from runner.adapters.stable_ir import restabilize

        for name in ("openvino_tokenizer.xml", "openvino_detokenizer.xml"):
            if (model_dir / name).exists():
                restabilize(model_dir / name)
    if not converted:
        ctx.log("openvino-tokenizers cannot convert this tokenizer; deploying without its IR")
    return converted
