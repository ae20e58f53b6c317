"""Op ``compress_weights``: NNCF weight-only compression of an OpenVINO IR; the summary is
measured on the written IR (:mod:`runner.adapters.ir`)."""

from __future__ import annotations

import inspect
import re
from typing import Any

from runner.adapters.ir import (
    bit_bucket,
    iter_weights,
    read_ir,
    save_model_dir,
    weight_bits,
    weight_bits_by_op,
)
from runner.adapters.nncf_errors import nncf_failure, nncf_user_errors
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

# Every CompressWeightsMode of NNCF 3.x that needs no extra input (CODEBOOK wants a user
# codebook tensor, ADAPTIVE_CODEBOOK is experimental); unknown to an older NNCF -> user error.
_MODES = (
    "int8_sym",
    "int8_asym",
    "int4_sym",
    "int4_asym",
    "int3_sym",
    "int2_sym",
    "nf4",
    "cb4",
    "mxfp4",
    "mxfp8_e4m3",
    "fp8_e4m3",
    "fp4",
    "nvfp4",
)
# 8-bit modes compress every layer per channel; NNCF rejects the mixed-precision options there.
_EIGHT_BIT = ("int8_sym", "int8_asym")
_INT8_ONLY_DEFAULTS = ("ratio", "group_size", "all_layers", "sensitivity_metric", "backup_mode")
_DATA_AWARE = ("awq", "scale_estimation", "gptq", "lora_correction")
_SCOPE_KEYS = ("names", "patterns", "types")
_NOT_LOW_BIT = ("int8", "f32/f16", "fp8")  # weight buckets the data-aware algorithms leave alone


# --- the op -----------------------------------------------------------------------------


def _requested(params: dict[str, Any]) -> dict[str, Any]:
    """The user's options that NNCF should see, mapped to NNCF enums; None means default."""
    import nncf

    mode = params.get("mode", "int8_asym")
    if mode not in _MODES:
        raise OvrunError(
            f"compress_weights: unknown mode {mode!r}",
            hint=f"use one of {', '.join(_MODES)}",
        )
    options: dict[str, Any] = {
        "ratio": params.get("ratio"),
        "group_size": params.get("group_size"),
        "all_layers": params.get("all_layers"),
        "backup_mode": _enum(nncf.BackupMode, params.get("backup_mode"), "backup_mode"),
        "sensitivity_metric": _enum(
            nncf.SensitivityMetric, params.get("sensitivity_metric"), "sensitivity_metric"
        ),
        # False is NNCF's default for every data-aware option: pass only what is switched on
        **{name: True for name in _DATA_AWARE if params.get(name)},
        "ignored_scope": _ignored_scope(params.get("ignored_scope")),
    }
    options["subset_size"] = params.get("subset_size")  # the plan keeps it only with a dataset
    return {"mode": nncf.CompressWeightsMode[mode.upper()], **options}


def _ignored_scope(scope: dict[str, Any] | None) -> Any:
    if not scope or not any(scope.get(key) for key in _SCOPE_KEYS):
        return None
    import nncf

    unknown = sorted(set(scope) - set(_SCOPE_KEYS))
    if unknown:
        raise OvrunError(
            f"compress_weights: unknown ignored_scope keys {unknown}",
            hint=f"ignored_scope takes {', '.join(_SCOPE_KEYS)}",
        )
    return nncf.IgnoredScope(**{key: list(scope.get(key) or []) for key in _SCOPE_KEYS})


def _enum(enum: Any, value: str | None, name: str) -> Any:
    if value is None:
        return None
    try:
        return enum[str(value).upper()]
    except KeyError:
        choices = ", ".join(member.name.lower() for member in enum)
        raise OvrunError(
            f"compress_weights: unknown {name} {value!r}", hint=f"use one of {choices}"
        ) from None


def _split_supported(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Drop the options the installed NNCF would reject; say why each one was dropped."""
    import nncf

    accepted = inspect.signature(nncf.compress_weights).parameters
    int8 = kwargs["mode"].value in _EIGHT_BIT
    passed: dict[str, Any] = {}
    ignored: dict[str, str] = {}
    for name, value in kwargs.items():
        if value is None:
            continue
        if name not in accepted:
            ignored[name] = f"not a parameter of nncf {nncf.__version__} compress_weights"
        elif int8 and (
            name
            in (*_INT8_ONLY_DEFAULTS, *_DATA_AWARE, "dataset", "subset_size", "advanced_parameters")
        ):
            ignored[name] = "8-bit modes compress every layer per-channel in 8 bit"
        else:
            passed[name] = value
    return passed, ignored


def _resolved(passed: dict[str, Any]) -> dict[str, Any]:
    """The full configuration NNCF derives from ``passed`` (its defaults filled in)."""
    from nncf.quantization.algorithms.weight_compression.algorithm import (
        get_weight_compression_configuration,
    )

    known = inspect.signature(get_weight_compression_configuration).parameters
    config = get_weight_compression_configuration(
        **{name: value for name, value in passed.items() if name in known}
    )
    return {name: _jsonable(value) for name, value in config.items() if name in _REPORTED}


_REPORTED = (
    "mode",
    "ratio",
    "group_size",
    "all_layers",
    "sensitivity_metric",
    "backup_mode",
    "awq",
    "scale_estimation",
    "gptq",
    "lora_correction",
)


def _jsonable(value: Any) -> Any:
    return getattr(value, "value", value)


def _dataset(ctx: TaskContext, model: Any) -> Any:
    """An nncf.Dataset over the optional ``dataset`` input, None when there is none."""
    if "dataset" not in ctx.inputs:
        return None
    import nncf

    from runner.adapters.dataset import load_samples
    from runner.adapters.feeds import make_feed

    samples = load_samples(ctx.inputs["dataset"])
    inputs = list(model.inputs)
    return nncf.Dataset(samples, lambda sample: make_feed(inputs, sample))


def _advanced(ctx: TaskContext) -> Any:
    """Reuse the activation statistics a ``weight_statistics`` task collected for this
    model and dataset, so variants that differ only in compression options skip collection."""
    if "statistics" not in ctx.inputs:
        return None
    import nncf

    from runner.adapters.weight_statistics import STATS_DIR

    return nncf.AdvancedCompressionParameters(
        statistics_path=str(ctx.inputs["statistics"] / STATS_DIR)
    )


def run(ctx: TaskContext) -> dict:
    import nncf

    source = ctx.model_dir("model")
    model = read_ir(source)
    kwargs = _requested(ctx.params)
    kwargs["dataset"] = _dataset(ctx, model)
    kwargs["advanced_parameters"] = _advanced(ctx) if kwargs["dataset"] is not None else None
    passed, ignored = _split_supported(kwargs)
    ctx.log(f"compress_weights: nncf.compress_weights({', '.join(sorted(passed))})")
    from runner.adapters.nncf_log import captured

    try:
        with captured() as said:
            compressed = nncf.compress_weights(model, **passed)
    except nncf_user_errors() as error:
        raise nncf_failure(error, "compress_weights") from error

    out_dir = ctx.out / "model"
    size = save_model_dir(compressed, source, out_dir)
    saved = read_ir(out_dir)
    weights = list(iter_weights(saved))
    nncf_params = _resolved(passed)
    nncf_params["data_aware"] = "dataset" in passed
    nncf_params["statistics_reused"] = "advanced_parameters" in passed
    kinds = [op.get_type_name() for op in saved.get_ordered_ops()]
    return {
        "algorithm": "compress_weights",
        "mode": nncf_params["mode"],
        "weight_bits": weight_bits(weights),
        "weight_bits_by_op": weight_bits_by_op(weights),
        "weight_parameters": sum(w.size for w in weights),
        "float_layers": sorted(
            w.consumer_name for w in weights if bit_bucket(w.element_type) == "f32/f16"
        )[:20],
        "fake_convert_nodes": kinds.count("FakeConvert"),
        "size_bytes": size,
        "nncf_params": nncf_params,
        "ignored_params": ignored,
        "algorithms": algorithms_applied(
            [name for name in _DATA_AWARE if passed.get(name)], said, weights
        ),
    }


_AWQ_LAYER = re.compile(r"^Applying data-(?:aware|free) AWQ for: (.+)$")
_AWQ_SKIPPED = "No matching patterns were found for applying AWQ"


def algorithms_applied(requested: list[str], said: list[str], weights: list) -> dict[str, dict]:
    """Per requested data-aware algorithm: applied to how many layers, or skipped and why.

    AWQ: NNCF logs each layer it rescales (DEBUG) or why it skipped them all. Scale
    estimation, GPTQ and LoRA correction work on every layer compressed below 8 bit (NNCF
    skips 8-bit backup layers), so their layers are counted on the saved IR."""
    low_bit = sum(1 for w in weights if bit_bucket(w.element_type) not in _NOT_LOW_BIT)
    out: dict[str, dict] = {}
    for name in requested:
        if name == "awq":
            layers = sorted({m.group(1) for m in map(_AWQ_LAYER.match, said) if m})
            skipped = next((m for m in said if m.startswith(_AWQ_SKIPPED)), None)
            if skipped:
                out[name] = {"applied": False, "reason": f"nncf: {skipped}"}
            elif not layers:
                out[name] = {
                    "applied": False,
                    "reason": "no layer matching AWQ's patterns was compressed below 8 bit",
                }
            else:
                out[name] = {"applied": True, "layers": len(layers)}
        elif low_bit:
            out[name] = {"applied": True, "layers": low_bit}
        else:
            out[name] = {
                "applied": False,
                "reason": "no layer was compressed below 8 bit (it works on those only)",
            }
    return out
