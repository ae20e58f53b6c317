"""Model sources that are not a ready Hugging Face dir: ONNX files, existing IRs and
random-init models, plus the steps every export ends with (static shapes, tokenizer IR).

- ``onnx``: ``ov.convert_model`` (optionally with input shapes), saved FP32 or FP16.
- ``tf_saved_model`` / ``tflite`` / ``paddle``: ``ov.convert_model`` on the file (OpenVINO's
  own frontends read them; no tensorflow or paddle import), same options as ``onnx``.
- ``ir``: copied as is (no conversion); only read back to check it loads.
- ``random``: a transformers config + tokenizer; weights drawn from ``torch.manual_seed``
  and saved as a HF dir that the regular optimum-intel export then converts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from runner.adapters.stable_ir import save_stable
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

IR_XML = "openvino_model.xml"
IR_BIN = "openvino_model.bin"
TOKENIZER_XML = "openvino_tokenizer.xml"
DETOKENIZER_XML = "openvino_detokenizer.xml"

# Recipe task -> transformers auto class a random model is built with.
AUTO_CLASSES = {
    "feature-extraction": "AutoModel",
    "text-classification": "AutoModelForSequenceClassification",
    "fill-mask": "AutoModelForMaskedLM",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
    "text-generation": "AutoModelForCausalLM",
}
# Files of a tokenizer dir that are weights, not tokenizer data: never copied beside an IR.
_WEIGHT_SUFFIXES = {".safetensors", ".bin", ".onnx", ".xml", ".pt", ".pth", ".h5", ".msgpack"}


def _reason(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    causes = [line for line in lines if not line.startswith("Exception from")]
    return (causes or lines or [type(error).__name__])[-1]


# --- random-init ------------------------------------------------------------------------


def materialize_random(ctx: TaskContext, task: str, dest: Path) -> Path:
    """Write a random-weight HF model dir for ``task`` at ``dest``; return ``dest``."""
    import torch
    import transformers
    from transformers import AutoConfig, AutoTokenizer

    spec = ctx.params["source"]
    raw = spec.get("config")
    if raw is None:
        raw = json.loads(Path(ctx.files["config"]).read_text(encoding="utf-8"))
    settings = {k: v for k, v in raw.items() if k not in ("model_type", "transformers_version")}
    model_type = raw["model_type"]
    try:
        config = AutoConfig.for_model(model_type, **settings)
    except (ValueError, KeyError) as err:
        raise OvrunError(
            f"random: transformers has no config for model_type {model_type!r}",
            hint="use a model_type transformers knows, e.g. llama, bert, gpt2",
        ) from err
    try:
        tokenizer = AutoTokenizer.from_pretrained(ctx.files["tokenizer"], local_files_only=True)
    except (OSError, ValueError, KeyError) as err:
        raise OvrunError(
            f"random: cannot load the tokenizer in {ctx.files['tokenizer']}: {_reason(err)}",
            hint="point random.tokenizer at a dir saved with tokenizer.save_pretrained",
        ) from err
    vocab = getattr(config, "vocab_size", None)
    if isinstance(vocab, int) and len(tokenizer) > vocab:
        raise OvrunError(
            f"random: the tokenizer has {len(tokenizer)} tokens but config vocab_size is {vocab}",
            hint=f"set vocab_size to at least {len(tokenizer)} in the config",
        )
    auto = getattr(transformers, AUTO_CLASSES[task])
    torch.manual_seed(int(spec.get("seed", 0)))
    try:
        model = auto.from_config(config)
    except ValueError as err:
        raise OvrunError(
            f"random: transformers has no {task} model for model_type {model_type!r}",
            hint=f"{AUTO_CLASSES[task]} must know the config class; pick another task or model",
        ) from err
    model.eval().save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    return dest


# --- converted graphs and IR ------------------------------------------------------------

# kind -> (what the file is, how to check it) for every kind ov.convert_model reads
_CONVERTED = {
    "onnx": ("ONNX file", "check the file opens with onnx.load"),
    "tf_saved_model": ("SavedModel", "check it loads with tf.saved_model.load"),
    "tflite": ("TFLite file", "check it loads with tf.lite.Interpreter"),
    "paddle": ("Paddle model", "check it loads with paddle.jit.load"),
}
GRAPH_KINDS = (*_CONVERTED, "ir")


def convert_graph(ctx: TaskContext, kind: str, out_dir: Path, weight_format: str | None) -> Any:
    """Write ``out_dir/openvino_model.xml`` from a framework file or an IR; return the ov.Model."""
    import openvino as ov

    src = Path(ctx.files["model"])
    out_dir.mkdir(parents=True, exist_ok=True)
    if kind in _CONVERTED:
        what, check = _CONVERTED[kind]
        _require_frontend(kind, src)
        inputs = ctx.params["source"].get("inputs") or None
        try:
            model = ov.convert_model(str(src), input=inputs)
        except Exception as err:  # every frontend failure here is about the user's file
            raise OvrunError(
                f"cannot convert {what} {src.name}: {_reason(err)}",
                hint=f"{check}, and that source.inputs names real inputs",
            ) from err
        save_stable(model, out_dir / IR_XML, compress_to_fp16=weight_format == "fp16")
    else:
        shutil.copy2(src, out_dir / IR_XML)
        shutil.copy2(ctx.files["weights"], out_dir / IR_BIN)
        try:
            model = ov.Core().read_model(out_dir / IR_XML)
        except RuntimeError as err:
            raise OvrunError(
                f"cannot read IR {src.name}: {_reason(err)}",
                hint="the .xml and .bin must come from the same ov.save_model call",
            ) from err
    _copy_tokenizer(ctx.files.get("tokenizer"), out_dir)
    _write_config(ctx.params["source"].get("model_type"), out_dir)
    return model


def _require_frontend(kind: str, src: Path) -> None:
    """The plan checked the frontend library is there; this checks it reads this file."""
    from runner.recipe.model_sources import FRONTENDS, missing_frontend

    if kind not in FRONTENDS:
        return
    frontend = missing_frontend(kind)
    if frontend is not None:
        raise OvrunError(
            f"{kind}: this OpenVINO install has no {frontend} frontend",
            hint="install the full openvino wheel (pip install -U openvino)",
        )
    if kind == "paddle" and src.suffix == ".json":
        from openvino.frontend import FrontEndManager

        if not FrontEndManager().load_by_framework("paddle").supported(str(src)):
            import openvino as ov

            raise OvrunError(
                f"OpenVINO {ov.get_version().split('-')[0]} cannot read the Paddle PIR program "
                f"{src.name}",
                hint="save the model in the .pdmodel format: run paddle.jit.save with the "
                "environment variable FLAGS_enable_pir_api=0, then point paddle: at the .pdmodel",
            )


def _write_config(model_type: str | None, out_dir: Path) -> None:
    """config.json from the recipe's model_type, unless the tokenizer dir brought the model's
    own: optimum-intel infers the library and the model class from it, and without one
    OVModelFor*.from_pretrained refuses the dir. Only what is known is written; transformers
    fills the rest with its defaults when it loads the config."""
    if model_type is None or (out_dir / "config.json").is_file():
        return
    from transformers import CONFIG_MAPPING

    if model_type not in CONFIG_MAPPING:
        raise OvrunError(
            f"model_type {model_type!r} is not a transformers model type",
            hint=f"use the model_type of the model's config.json, e.g. "
            f"{', '.join(t for t in ('bert', 'llama', 'gpt2') if t in CONFIG_MAPPING)}",
        )
    config = {"model_type": model_type}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _copy_tokenizer(tokenizer_dir: Path | None, out_dir: Path) -> None:
    if tokenizer_dir is None:
        return
    for item in sorted(Path(tokenizer_dir).iterdir()):
        if item.is_file() and item.suffix not in _WEIGHT_SUFFIXES:
            shutil.copy2(item, out_dir / item.name)


def graph_summary(model: Any, out_dir: Path, task: str, kind: str, source_name: str) -> dict:
    xml = out_dir / IR_XML
    return {
        "task": task,
        "architecture": f"{kind}:{source_name}",
        "model_type": _model_type(out_dir),
        "inputs": [_port_name(port, i) for i, port in enumerate(model.inputs)],
        "outputs": [_port_name(port, i) for i, port in enumerate(model.outputs)],
        "stateful": bool(model.get_sinks()),
        "size_bytes": xml.stat().st_size + (out_dir / IR_BIN).stat().st_size,
        "num_parameters": None,
        "tokenizer": (out_dir / "tokenizer_config.json").is_file(),
    }


def _port_name(port: Any, index: int) -> str:
    # IRs converted from torch often leave outputs unnamed; they are still usable by index.
    names = port.get_names()
    return sorted(names)[0] if names else f"#{index}"


def _model_type(out_dir: Path) -> str | None:
    config = out_dir / "config.json"
    if not config.is_file():
        return None
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except ValueError:
        return None


# --- steps every export ends with -------------------------------------------------------


def apply_shapes(out_dir: Path, shapes: dict[str, list[int]]) -> dict[str, list[int]]:
    """Reshape the exported IR to static ``shapes`` (by input name) and save it in place."""
    if not shapes:
        return {}
    import openvino as ov

    xml = out_dir / IR_XML
    model = ov.Core().read_model(xml)
    names = {name for port in model.inputs for name in port.get_names()}
    unknown = sorted(set(shapes) - names)
    if unknown:
        raise OvrunError(
            f"model.shapes names input {unknown[0]!r}, which the model does not have",
            hint=f"model inputs: {', '.join(sorted(port.get_any_name() for port in model.inputs))}",
        )
    try:
        model.reshape({name: ov.PartialShape(dims) for name, dims in shapes.items()})
    except RuntimeError as err:
        raise OvrunError(
            f"cannot reshape the model to {shapes}: {_reason(err)}",
            hint="give every input a shape the model accepts (same rank, compatible sizes)",
        ) from err
    tmp = out_dir / "reshaped.xml"
    save_stable(model, tmp)  # fp32 stays fp32: weights are already in the asked precision
    del model
    tmp.replace(xml)
    tmp.with_suffix(".bin").replace(out_dir / IR_BIN)
    return {port: list(dims) for port, dims in shapes.items()}


def convert_tokenizer_ir(out_dir: Path, log: Any) -> dict[str, Any]:
    """Save openvino_tokenizer.xml / openvino_detokenizer.xml beside the model, so the dir
    runs in openvino-genai. Optional: the export stands without them, so a tokenizer the
    converter does not support is recorded (and logged), not fatal."""
    if not (out_dir / "tokenizer_config.json").is_file():
        return {"converted": False, "reason": "no Hugging Face tokenizer in the model dir"}
    try:
        from openvino_tokenizers import convert_tokenizer
    except ImportError:
        return {"converted": False, "reason": "openvino-tokenizers is not installed"}
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out_dir, local_files_only=True)
    try:
        tok, detok = convert_tokenizer(tokenizer, with_detokenizer=True)
    except Exception as err:  # the converter raises many types; see the docstring
        try:
            tok, detok = convert_tokenizer(tokenizer), None
        except Exception:
            log(f"warning: openvino-tokenizers cannot convert this tokenizer: {_reason(err)}")
            return {"converted": False, "reason": _reason(err)}
    save_stable(tok, out_dir / TOKENIZER_XML)
    if detok is not None:
        save_stable(detok, out_dir / DETOKENIZER_XML)
    return {"converted": True, "detokenizer": detok is not None}
