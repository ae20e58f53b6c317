"""The ``export`` op: any model source to an optimum-style OpenVINO IR dir at ``out/model``.

Hugging Face sources (local dir, packaged dir, hub id, random-init) go through
optimum-intel's exporter in-process (``openvino_model.xml/.bin``, ``config.json``, tokenizer
files, ``generation_config.json``). Weights keep the asked precision: optimum-intel silently
compresses models over 1B parameters to int8 unless an explicit ``OVConfig`` is given, so
one always is. ONNX, TensorFlow SavedModel, TFLite and Paddle files and existing IRs go through
:mod:`runner.adapters.model_sources`.
Every export then applies ``shapes`` and converts the tokenizer to IR for openvino-genai.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

from runner.adapters import model_sources
from runner.adapters.stable_ir import restabilize
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

# Recipe task -> optimum task; causal LMs are exported stateful with a KV cache, the form
# OVModelForCausalLM and openvino-genai run.
_OPTIMUM_TASKS = {
    "feature-extraction": "feature-extraction",
    "text-classification": "text-classification",
    "fill-mask": "fill-mask",
    "token-classification": "token-classification",
    "question-answering": "question-answering",
    "text-generation": "text-generation-with-past",
}
_WEIGHT_FORMATS = ("fp32", "fp16")
_TRUTHY = {"1", "true", "yes", "on"}


def run(ctx: TaskContext) -> dict:
    params = ctx.params
    task = params.get("task", "feature-extraction")
    weight_format = params.get("weight_format", "fp32")
    if task not in _OPTIMUM_TASKS:
        raise OvrunError(
            f"export task {task!r} is not supported",
            hint=f"use one of: {', '.join(_OPTIMUM_TASKS)}",
        )
    kind = params["source"].get("kind")
    if kind == "ir":
        weight_format = None  # used as is
    elif weight_format not in _WEIGHT_FORMATS:
        raise OvrunError(
            f"export weight_format {weight_format!r} is not supported",
            hint=f"use one of: {', '.join(_WEIGHT_FORMATS)}; compress further with a variant",
        )

    out_dir = ctx.out / "model"
    if kind in model_sources.GRAPH_KINDS:
        ctx.log(f"{'reading' if kind == 'ir' else 'converting'} {ctx.files['model']}")
        model = model_sources.convert_graph(ctx, kind, out_dir, weight_format)
        name = Path(ctx.files["model"]).name
        summary = model_sources.graph_summary(model, out_dir, task, kind, name)
        summary["weight_format"] = weight_format or "as stored"
    elif kind == "random":
        with tempfile.TemporaryDirectory(prefix="ovrun-random-") as tmp:
            ctx.log(f"initialising random {task} weights (seed {params['source'].get('seed')})")
            source = str(model_sources.materialize_random(ctx, task, Path(tmp)))
            summary = _export_hf(ctx, source, True, out_dir, task, weight_format)
    else:
        source, local_only = _resolve_source(ctx)
        summary = _export_hf(ctx, source, local_only, out_dir, task, weight_format)

    summary["shapes"] = model_sources.apply_shapes(out_dir, params.get("shapes") or {})
    summary["tokenizer_ir"] = model_sources.convert_tokenizer_ir(out_dir, ctx.log)
    summary["source"] = {k: v for k, v in params["source"].items() if k != "config"}
    return summary


def _export_hf(
    ctx: TaskContext, source: str, local_only: bool, out_dir: Path, task: str, weight_format: str
) -> dict:
    params = ctx.params
    trust_remote_code = bool(params.get("trust_remote_code", False))
    config = _load_config(source, params["source"], trust_remote_code, local_only)
    architecture = _architecture(config)
    _check_exportable(config, architecture, task)

    ctx.log(f"exporting {architecture} ({task}, {weight_format}) from {source}")
    _export(source, out_dir, task, weight_format, params["source"], trust_remote_code, local_only)
    for xml in sorted(out_dir.glob("*.xml")):  # optimum saved them with counter-made names
        restabilize(xml)
    has_tokenizer = _ensure_tokenizer(source, out_dir, trust_remote_code, local_only, ctx)
    # A hub download is in the cache by now; count parameters from its files there.
    local_source = source if local_only else _downloaded_snapshot(params["source"])
    return _summary(out_dir, task, architecture, config, weight_format, local_source, has_tokenizer)


def _resolve_source(ctx: TaskContext) -> tuple[str, bool]:
    """Where to load from, and whether loading must stay on this machine."""
    source = ctx.params["source"]
    kind = source.get("kind")
    if kind in ("path", "package"):
        model_dir = ctx.files.get("model")
        if model_dir is None or not Path(model_dir).is_dir():
            raise OvrunError(
                f"model dir {model_dir or source.get('ref')} does not exist",
                hint="point model.source at a directory holding config.json and the weights",
            )
        return str(model_dir), True
    if kind == "hf":
        if _offline():
            return _cached_snapshot(source["ref"], _revision(source)), True
        return source["ref"], False
    raise OvrunError(
        f"model source kind {kind!r} cannot be exported",
        hint="use one of the model.source kinds the schema lists",
    )


def _revision(spec: dict) -> str | None:
    """The plan resolved the revision to a commit; export exactly that commit."""
    return spec.get("commit") or spec.get("revision")


def _offline() -> bool:
    from huggingface_hub import constants

    flags = (
        os.environ.get(name, "").strip().lower()
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
    return constants.HF_HUB_OFFLINE or any(flag in _TRUTHY for flag in flags)


def _hub_cache() -> str:
    # Read the environment now: huggingface_hub froze its constants when first imported.
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return constants.HF_HUB_CACHE


def _cached_snapshot(ref: str, revision: str | None) -> str:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(
            ref, revision=revision, cache_dir=_hub_cache(), local_files_only=True
        )
    except (LocalEntryNotFoundError, FileNotFoundError) as err:
        at = f"@{revision}" if revision else ""
        raise OvrunError(
            f"hf model {ref}{at} is not in the Hugging Face cache and HF_HUB_OFFLINE is set",
            hint="download it once while online, or use `path:` pointing at a local copy of the model",
        ) from err


def _downloaded_snapshot(spec: dict) -> str | None:
    try:
        return _cached_snapshot(spec["ref"], _revision(spec))
    except OvrunError:
        return None


def _load_config(source: str, spec: dict, trust_remote_code: bool, local_only: bool) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(
            source,
            revision=None if local_only else _revision(spec),
            trust_remote_code=trust_remote_code,
            local_files_only=local_only,
            cache_dir=_hub_cache(),
        )
    except (OSError, ValueError, KeyError) as err:
        raise OvrunError(
            f"cannot read the model config of {spec.get('ref')}: {_first_line(err)}",
            hint="the source must be a Hugging Face model dir or id with a config.json "
            "(custom code needs trust_remote_code: true)",
        ) from err


def _architecture(config: Any) -> str:
    architectures = getattr(config, "architectures", None) or []
    return architectures[0] if architectures else config.model_type


def _check_exportable(config: Any, architecture: str, task: str) -> None:
    # Importing the openvino exporter registers its model configs with the TasksManager.
    import optimum.exporters.openvino  # noqa: F401
    from optimum.exporters.tasks import TasksManager

    try:
        supported = TasksManager.get_supported_tasks_for_model_type(
            config.model_type, exporter="openvino", library_name="transformers"
        )
    except KeyError:
        supported = {}
    if _OPTIMUM_TASKS[task] not in supported:
        tasks = sorted({t.removesuffix("-with-past") for t in supported} & set(_OPTIMUM_TASKS))
        raise OvrunError(
            f"optimum-intel cannot export {architecture} (model_type {config.model_type}) "
            f"for task {task}",
            hint=f"tasks it exports for this model: {', '.join(tasks)}"
            if tasks
            else "pick a model architecture that optimum-intel supports, or export it yourself "
            "and use the resulting IR",
        )


def _export(
    source: str,
    out_dir: Path,
    task: str,
    weight_format: str,
    spec: dict,
    trust_remote_code: bool,
    local_only: bool,
) -> None:
    from optimum.exporters.openvino import main_export
    from optimum.intel import OVConfig

    main_export(
        source,
        out_dir,
        task=_OPTIMUM_TASKS[task],
        library_name="transformers",  # keep raw hidden states; sentence-transformers would pool
        trust_remote_code=trust_remote_code,
        revision=_revision(spec) or "main",
        local_files_only=local_only,
        cache_dir=_hub_cache(),
        # An explicit OVConfig turns off size-based int8 compression and picks the weight dtype.
        ov_config=OVConfig(dtype=weight_format),
        stateful=True,
        convert_tokenizer=False,
    )


def _ensure_tokenizer(
    source: str, out_dir: Path, trust_remote_code: bool, local_only: bool, ctx: TaskContext
) -> bool:
    """The exporter swallows tokenizer load errors; retry once so a failure is reported."""
    if (out_dir / "tokenizer_config.json").exists():
        return True
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source, trust_remote_code=trust_remote_code, local_files_only=local_only
        )
    except (OSError, ValueError, KeyError) as err:
        ctx.log(f"warning: no tokenizer saved with the model: {_first_line(err)}")
        return False
    tokenizer.save_pretrained(out_dir)
    return True


def _summary(
    out_dir: Path,
    task: str,
    architecture: str,
    config: Any,
    weight_format: str,
    source: str | None,
    has_tokenizer: bool,
) -> dict:
    import openvino as ov

    xml = out_dir / "openvino_model.xml"
    model = ov.Core().read_model(xml)
    return {
        "task": task,
        "architecture": architecture,
        "model_type": config.model_type,
        "inputs": [port.get_any_name() for port in model.inputs],
        "outputs": [port.get_any_name() for port in model.outputs],
        "stateful": bool(model.get_sinks()),
        "size_bytes": xml.stat().st_size + xml.with_suffix(".bin").stat().st_size,
        "num_parameters": _checkpoint_parameters(source),
        "weight_format": weight_format,
        "tokenizer": has_tokenizer,
    }


def _checkpoint_parameters(source: str | None) -> int | None:
    """Parameters stored in the source's safetensors files; None when they are not local."""
    files = sorted(Path(source).glob("*.safetensors")) if source and Path(source).is_dir() else []
    if not files:
        return None
    total = 0
    for path in files:
        with path.open("rb") as f:
            # safetensors: 8-byte little-endian header size, then a JSON header with shapes.
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for dim in entry["shape"]:
                    count *= dim
                total += count
    return total


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
