"""Op ``quantize``: NNCF post-training quantization (weights and activations) of an IR.

INT8 (FakeQuantize) by default, FP8 (FakeConvert) with ``mode``, SmoothQuant alpha through
NNCF's advanced parameters, and accuracy control (``max_drop``) through
:mod:`runner.adapters.accuracy_control`."""

from __future__ import annotations

from typing import Any

from runner.adapters.ir import CONV_OPS, iter_weights, read_ir, save_model_dir, weight_bits
from runner.adapters.nncf_errors import nncf_failure, nncf_user_errors
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

_PRESETS = ("performance", "mixed")
_MODEL_TYPES = ("transformer",)
_DEVICES = ("ANY", "CPU", "GPU", "NPU", "CPU_SPR")
_SCOPE_KEYS = ("names", "patterns", "types")
_MODES = ("fp8_e4m3", "fp8_e5m2")
_DEFAULTS = {"subset_size": 300, "fast_bias_correction": True, "target_device": "ANY"}


def _choice(params: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if value not in allowed:
        raise OvrunError(
            f"quantize: unknown {name} {value!r}", hint=f"use one of {', '.join(allowed)}"
        )
    return value


def _resolve(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as NNCF applies them, defaults filled in (JSON-able)."""
    model_type = _choice(params, "model_type", _MODEL_TYPES)
    preset = _choice(params, "preset", _PRESETS)
    if preset is None:
        # NNCF's own rule (MinMaxQuantization): transformers default to mixed.
        preset = "mixed" if model_type == "transformer" else "performance"
    subset_size = params.get("subset_size", _DEFAULTS["subset_size"])
    if not isinstance(subset_size, int) or subset_size <= 0:
        raise OvrunError(
            f"quantize: subset_size must be a positive integer, got {subset_size!r}",
            hint="set subset_size to the number of calibration samples to use, e.g. 300",
        )
    scope = params.get("ignored_scope") or {}
    unknown = sorted(set(scope) - set(_SCOPE_KEYS))
    if unknown:
        raise OvrunError(
            f"quantize: unknown ignored_scope keys {unknown}",
            hint=f"ignored_scope takes {', '.join(_SCOPE_KEYS)}",
        )
    mode = _choice(params, "mode", _MODES)
    return {
        "preset": None if mode else preset,  # NNCF has no preset for FP8 modes
        "model_type": model_type,
        "subset_size": subset_size,
        "fast_bias_correction": bool(
            params.get("fast_bias_correction", _DEFAULTS["fast_bias_correction"])
        ),
        "target_device": _choice(params, "target_device", _DEVICES) or _DEFAULTS["target_device"],
        "ignored_scope": {key: list(scope.get(key) or []) for key in _SCOPE_KEYS},
        "mode": mode,
        "smooth_quant_alpha": _alpha(params.get("smooth_quant_alpha")),
    }


def _alpha(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1:
        raise OvrunError(
            f"quantize: smooth_quant_alpha must be a number in [-1, 1], got {value!r}",
            hint="e.g. 0.5; -1 disables SmoothQuant",
        )
    return float(value)


def _nncf_kwargs(resolved: dict[str, Any]) -> dict[str, Any]:
    import nncf

    scope = resolved["ignored_scope"]
    model_type = resolved["model_type"]
    return {
        "preset": (
            nncf.QuantizationPreset[resolved["preset"].upper()] if resolved["preset"] else None
        ),
        "model_type": nncf.ModelType[model_type.upper()] if model_type else None,
        "subset_size": resolved["subset_size"],
        "fast_bias_correction": resolved["fast_bias_correction"],
        "target_device": nncf.TargetDevice[resolved["target_device"]],
        "ignored_scope": nncf.IgnoredScope(**scope) if any(scope.values()) else None,
        **_mode_kwargs(resolved),
    }


def _mode_kwargs(resolved: dict[str, Any]) -> dict[str, Any]:
    """mode and advanced parameters, passed only when set so NNCF's defaults stay NNCF's."""
    import nncf

    kwargs: dict[str, Any] = {}
    if resolved.get("mode"):
        kwargs["mode"] = nncf.QuantizationMode[resolved["mode"].upper()]
        kwargs["preset"] = None  # NNCF rejects a preset beside an FP8 mode
    alpha = resolved.get("smooth_quant_alpha")
    if alpha is not None:
        kwargs["advanced_parameters"] = nncf.AdvancedQuantizationParameters(
            smooth_quant_alphas=nncf.AdvancedSmoothQuantParameters(matmul=alpha)
        )
    return kwargs


class _CountingFeeds:
    """Turns samples into model feeds and remembers which samples NNCF actually used."""

    def __init__(self, model_inputs: list[Any]):
        self.model_inputs = model_inputs
        self.used: set[int] = set()

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        from runner.adapters.feeds import make_feed

        self.used.add(id(sample))  # the sample dicts live in one list for the whole run
        return make_feed(self.model_inputs, sample)


def _summary(model: Any) -> dict[str, Any]:
    """What the saved IR really contains: quantizer nodes, weight precisions, float layers."""
    kinds = [op.get_type_name() for op in model.get_ordered_ops()]
    weights = [w for w in iter_weights(model) if w.consumer == "MatMul" or w.consumer in CONV_OPS]
    quantized = [w for w in weights if w.fake_quantized or w.element_type in ("i8", "u8")]
    kept = sorted(w.consumer_name for w in weights if w not in quantized)
    return {
        "fake_quantize_nodes": kinds.count("FakeQuantize"),
        "fake_convert_nodes": kinds.count("FakeConvert"),
        "quantized_weight_ops": len(quantized),
        "float_weight_ops": len(kept),
        "float_layers": kept[:20],  # the names say which layers stayed float; capped for size
        "weight_bits": weight_bits(list(iter_weights(model))),
    }


def run(ctx: TaskContext) -> dict:
    import nncf

    from runner.adapters.dataset import load_samples

    resolved = _resolve(ctx.params)
    source = ctx.model_dir("model")
    model = read_ir(source)
    samples = load_samples(ctx.inputs["dataset"])
    if not samples:
        raise OvrunError(
            "quantize: the calibration dataset has no samples",
            hint="give the calibration data at least one non-empty text line",
        )
    feeds = _CountingFeeds(list(model.inputs))
    kwargs = _nncf_kwargs(resolved)
    control: dict[str, Any] = {}
    try:
        if ctx.params.get("max_drop") is not None:
            from runner.adapters.accuracy_control import quantize_with_accuracy_control

            validation = load_samples(ctx.inputs.get("validation", ctx.inputs["dataset"]))
            ctx.log(f"quantize: nncf.quantize_with_accuracy_control, {resolved}")
            quantized, control = quantize_with_accuracy_control(
                model, nncf.Dataset(samples, feeds), validation, kwargs, ctx.params
            )
        else:
            ctx.log(f"quantize: nncf.quantize on {len(samples)} samples, {resolved}")
            quantized = nncf.quantize(model, nncf.Dataset(samples, feeds), **kwargs)
    except nncf_user_errors() as error:
        raise nncf_failure(error, "quantize") from error

    out_dir = ctx.out / "model"
    size = save_model_dir(quantized, source, out_dir)
    result = {
        "algorithm": "quantize",
        **_summary(read_ir(out_dir)),
        "calibration_samples": len(feeds.used),
        "size_bytes": size,
        "nncf_params": resolved,
    }
    if control:
        result["accuracy_control"] = control
    return result
