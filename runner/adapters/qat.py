"""Op ``qat``: quantization-aware training of the PyTorch model, exported to IR.

NNCF quantizes the PyTorch model loaded from the recipe's source (``nncf.quantize`` with the
``init`` options on the calibration dataset: the same PTQ starting point as the ``quantize``
op, but in torch with trainable quantizer scales). :mod:`runner.adapters.distill` then
fine-tunes it against the FP32 model on the dataset's text, and optimum-intel's exporter
writes the result as an IR with FakeQuantize nodes, the layout the export op produces, saved
with stable names."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from runner.adapters.ir import read_ir, save_model_dir
from runner.adapters.nncf_errors import nncf_failure, nncf_user_errors
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

_PRESETS = ("performance", "mixed")
# what NNCF's torch backend accepts (quantize_impl refuses CPU_SPR, FP8 modes and
# fast_bias_correction: false)
_DEVICES = ("ANY", "CPU", "GPU", "NPU")
_SCOPE_KEYS = ("names", "patterns", "types")


def _init_kwargs(init: dict[str, Any]) -> dict[str, Any]:
    """nncf.quantize's arguments for the init block (already validated by the recipe)."""
    import nncf

    model_type = init.get("model_type")
    preset = init.get("preset") or ("mixed" if model_type == "transformer" else "performance")
    scope = init.get("ignored_scope") or {}
    kwargs: dict[str, Any] = {
        "preset": nncf.QuantizationPreset[preset.upper()],
        "model_type": nncf.ModelType[model_type.upper()] if model_type else None,
        "subset_size": init.get("subset_size", 300),
        "target_device": nncf.TargetDevice[init.get("target_device") or "ANY"],
        "ignored_scope": (
            nncf.IgnoredScope(**{k: list(scope.get(k) or []) for k in _SCOPE_KEYS})
            if any(scope.values())
            else None
        ),
    }
    alpha = init.get("smooth_quant_alpha")
    if alpha is not None:
        kwargs["advanced_parameters"] = nncf.AdvancedQuantizationParameters(
            smooth_quant_alphas=nncf.AdvancedSmoothQuantParameters(matmul=float(alpha))
        )
    return kwargs


def _native_quantizers() -> None:
    """Use NNCF's torch-native fake-quantize functions, uncompiled, instead of its C++ CPU
    extension.

    The extension is compiled on first use (minutes on a loaded host, under a lock shared by
    every process, and NNCF gives up after 60 s). NNCF's own fallback wraps the native
    functions in torch.compile, which compiles again with Inductor for every new sequence
    length until it hits dynamo's recompile limit (seen here: a minute of compiling before the
    first MiniLM step). Plain eager torch ops compute the same quantization, need no compiler,
    and keep a rerun's arithmetic the same whatever was compiled meanwhile."""
    from nncf.torch.quantization.extensions import QuantizedFunctionsCPU
    from nncf.torch.quantization.reference import torch_executor

    class Eager:
        Quantize_forward = staticmethod(torch_executor.forward)
        Quantize_backward = staticmethod(torch_executor.backward)

    QuantizedFunctionsCPU._loaded_namespace = Eager


def _load_torch(source: str, task: str, trust_remote_code: bool) -> Any:
    import transformers

    from runner.adapters.distill import AUTO_CLASS

    auto = getattr(transformers, AUTO_CLASS[task])
    # eager attention: the same arithmetic in training and tracing on every torch build
    return auto.from_pretrained(
        source,
        local_files_only=True,
        trust_remote_code=trust_remote_code,
        attn_implementation="eager",
        torch_dtype="float32",
    ).eval()


def _source_dir(ctx: TaskContext, tmp: Path) -> str:
    """The PyTorch weights the export read: the same resolution as the export op."""
    from runner.adapters import export, model_sources

    kind = ctx.params["source"].get("kind")
    if kind == "random":
        return str(model_sources.materialize_random(ctx, ctx.params["task"], tmp))
    if kind in ("onnx", "ir"):
        raise OvrunError(
            f"qat needs the PyTorch model; a {kind}: source has none",
            hint="use a path:, package:, hf: or random: source, or quantize: for post-training",
        )
    source, local_only = export._resolve_source(ctx)
    return (
        source
        if local_only
        else export._cached_snapshot(source, export._revision(ctx.params["source"]))
    )


def _export(model: Any, task: str, out_dir: Path) -> None:
    from optimum.exporters.openvino import export_from_model
    from optimum.intel import OVConfig

    from runner.adapters.export import _OPTIMUM_TASKS
    from runner.adapters.stable_ir import restabilize

    export_from_model(
        model,
        out_dir,
        task=_OPTIMUM_TASKS[task],
        ov_config=OVConfig(dtype="fp32"),  # the trained float scales, unchanged
        stateful=True,
    )
    for xml in sorted(out_dir.glob("*.xml")):
        restabilize(xml)


def run(ctx: TaskContext) -> dict:
    import nncf
    import torch

    from runner.adapters import distill
    from runner.adapters.dataset import load_samples
    from runner.adapters.quantize import _summary

    params = ctx.params
    task = params["task"]
    if task not in distill.AUTO_CLASS:
        raise OvrunError(
            f"qat supports {', '.join(distill.AUTO_CLASS)}, not {task}",
            hint="use quantize: for post-training quantization of this task",
        )
    samples = load_samples(ctx.inputs["dataset"])
    if not samples:
        raise OvrunError(
            "qat: the dataset has no samples", hint="give the dataset at least one text line"
        )
    _native_quantizers()
    seed = int(params["seed"])
    batches = distill.torch_batches(samples, task)
    with tempfile.TemporaryDirectory(prefix="ovrun-qat-") as tmp:
        source = _source_dir(ctx, Path(tmp))
        ctx.log(f"qat: loading {source} ({task}), torch threads {torch.get_num_threads()}")
        teacher = _load_torch(source, task, bool(params.get("trust_remote_code")))
        started = time.perf_counter()
        torch.manual_seed(seed)
        kwargs = _init_kwargs(params["init"])
        ctx.log(f"qat: nncf.quantize on {min(len(batches), kwargs['subset_size'])} samples")
        try:
            with torch.no_grad():
                student = nncf.quantize(teacher, nncf.Dataset(batches), **kwargs)
        except nncf_user_errors() as error:
            raise nncf_failure(error, "qat") from error
        initialized = time.perf_counter() - started
        losses = distill.train(
            student, teacher, batches, task, params["steps"], params["lr"], seed, ctx.log
        )
        trained = time.perf_counter() - started - initialized
        with tempfile.TemporaryDirectory(prefix="ovrun-qat-ir-") as exported:
            ctx.log("qat: exporting the trained model to IR")
            _export(student, task, Path(exported))
            out_dir = ctx.out / "model"
            size = save_model_dir(read_ir(Path(exported)), ctx.model_dir("model"), out_dir)
    return {
        "algorithm": "qat",
        **_summary(read_ir(out_dir)),
        "size_bytes": size,
        "nncf_params": {**params["init"], "steps": params["steps"], "lr": params["lr"]},
        "qat": {
            "steps": params["steps"],
            "lr": params["lr"],
            "seed": seed,
            "batches": len(batches),
            "first_loss": losses[0],
            "final_loss": losses[-1],
            "losses": losses,
            # wall time on a possibly shared host: a record of this run, not a measurement
            "init_seconds": round(initialized, 3),
            "train_seconds": round(trained, 3),
        },
    }
