"""Op ``compress_weights``: NNCF weight-only compression of an OpenVINO IR.

Also home of the IR inspection and saving helpers that :mod:`runner.adapters.quantize`
shares: a summary must describe what the saved model really contains, so both ops
measure the written IR instead of echoing their parameters back.
"""

from __future__ import annotations

import inspect
import math
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.adapters.context import TaskContext
from runner.errors import OvrunError

IR_XML = "openvino_model.xml"
IR_BIN = "openvino_model.bin"

# Ops whose constant input is a weight, and which of their inputs may carry it.
WEIGHT_INPUTS: dict[str, tuple[int, ...]] = {
    "MatMul": (0, 1),
    "Gather": (0,),
    "Convolution": (1,),
    "GroupConvolution": (1,),
    "ConvolutionBackpropData": (1,),
    "GroupConvolutionBackpropData": (1,),
}
CONV_OPS = frozenset(op for op in WEIGHT_INPUTS if "Convolution" in op)

# Ops NNCF and the OpenVINO frontends put between a weight constant and its consumer
# (dequantization, group-wise reshape, layout changes). Anything else means the input
# is an activation, not a weight.
_WEIGHT_PATH_OPS = frozenset(
    {"Convert", "Subtract", "Multiply", "Reshape", "Transpose", "Unsqueeze", "Squeeze"}
    | {"FakeQuantize", "FakeConvert"}
    # codebook modes (cb4): Gather(codebook, indices) rebuilds the weight from 4-bit indices
    | {"Gather"}
)

# Element-type buckets of the summary; a type outside them is reported by its own name.
_TYPE_BUCKETS = {
    "i8": "int8",
    "u8": "int8",
    "i4": "int4",
    "u4": "int4",
    "f32": "f32/f16",
    "f16": "f32/f16",
    "bf16": "f32/f16",
    "f64": "f32/f16",
    "i3": "int3",
    "u3": "int3",
    "i2": "int2",
    "u2": "int2",
    "nf4": "nf4",
    "f4e2m1": "fp4",
    "f8e4m3": "fp8",
    "f8e5m2": "fp8",
}
BIT_BUCKETS = ("int4", "int8", "f32/f16")

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


@dataclass(frozen=True)
class Weight:
    """One weight constant of an IR and the op that consumes it."""

    consumer: str  # op type, e.g. "MatMul"
    consumer_name: str
    element_type: str  # OpenVINO type name of the stored constant, e.g. "u8", "i4", "f32"
    size: int  # number of weight parameters
    fake_quantized: bool  # a FakeQuantize sits between the constant and the consumer
    codebook: bool = (
        False  # rebuilt by Gather from a codebook (cb4): element_type is the index type
    )


# --- IR inspection ----------------------------------------------------------------------


def _trace_constant(output: Any) -> tuple[Any, bool] | None:
    """The constant behind a weight input and whether a FakeQuantize is on the way.

    None when the input depends on anything but constants (an activation). With several
    constant leaves (scales, zero points, shapes) the largest one holds the weights.
    """
    node = output.get_node()
    kind = node.get_type_name()
    if kind == "Constant":
        return node, False
    if kind not in _WEIGHT_PATH_OPS:
        return None
    leaves = [_trace_constant(node.input_value(i)) for i in range(node.get_input_size())]
    if not leaves or any(leaf is None for leaf in leaves):
        return None
    constant = max((leaf[0] for leaf in leaves), key=_element_count)
    return constant, kind == "FakeQuantize" or any(leaf[1] for leaf in leaves)


def _via_gather(output: Any) -> bool:
    """True when a Gather of constants (a codebook lookup) rebuilds this weight."""
    node = output.get_node()
    kind = node.get_type_name()
    if kind == "Gather":
        return True
    if kind not in _WEIGHT_PATH_OPS:
        return False
    return any(_via_gather(node.input_value(i)) for i in range(node.get_input_size()))


def _element_count(node: Any) -> int:
    count = 1
    for dim in node.get_output_shape(0):
        count *= dim
    return count


def iter_weights(model: Any) -> Iterator[Weight]:
    """Every weight matrix feeding a MatMul, Gather or convolution, once each."""
    seen: set[str] = set()
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        for index in WEIGHT_INPUTS.get(kind, ()):
            traced = _trace_constant(op.input_value(index))
            if traced is None:
                continue
            constant, fake_quantized = traced
            if not _is_matrix(constant) or constant.get_name() in seen:
                continue
            seen.add(constant.get_name())
            yield Weight(
                consumer=kind,
                consumer_name=op.get_friendly_name(),
                element_type=constant.get_output_element_type(0).get_type_name(),
                size=_element_count(constant),
                fake_quantized=fake_quantized,
                codebook=_via_gather(op.input_value(index)),
            )


def _is_matrix(constant: Any) -> bool:
    """At least two real dimensions: rules out shapes, indices and vectors such as the
    [1, n, 1] rotary inv_freq a MatMul consumes, which no compressor treats as a weight."""
    return sum(dim > 1 for dim in constant.get_output_shape(0)) >= 2


def bit_bucket(element_type: str) -> str:
    return _TYPE_BUCKETS.get(element_type, element_type)


def weight_bits(weights: list[Weight]) -> dict[str, float]:
    """Share of weight parameters per precision bucket; the three main buckets always appear."""
    total = sum(w.size for w in weights)
    shares = dict.fromkeys(BIT_BUCKETS, 0.0)
    for w in weights:
        bucket = "codebook" if w.codebook else bit_bucket(w.element_type)
        shares[bucket] = shares.get(bucket, 0.0) + (w.size / total if total else 0.0)
    return {bucket: round(share, 6) for bucket, share in shares.items()}


def weight_bits_by_op(weights: list[Weight]) -> dict[str, dict[str, float]]:
    """:func:`weight_bits` per consumer op type, so embeddings (Gather) are told from layers."""
    kinds = sorted({w.consumer for w in weights})
    return {kind: weight_bits([w for w in weights if w.consumer == kind]) for kind in kinds}


# --- reading and saving model dirs ------------------------------------------------------


def read_ir(model_dir: Path) -> Any:
    """The ov.Model of an optimum-style model dir; a missing IR is the user's to fix."""
    import openvino as ov

    xml = model_dir / IR_XML
    if not xml.is_file():
        raise OvrunError(
            f"no OpenVINO IR at {xml}",
            hint="the upstream task must produce an optimum-style dir with openvino_model.xml",
        )
    return ov.Core().read_model(xml)


def save_model_dir(model: Any, source_dir: Path, out_dir: Path) -> int:
    """Write ``model`` as ``out_dir``'s IR beside copies of every other file of ``source_dir``.

    Copying config and tokenizer files keeps the result loadable by optimum-intel.
    Returns the IR size in bytes (xml + bin).
    """
    import openvino as ov

    out_dir.mkdir(parents=True, exist_ok=True)
    for item in source_dir.iterdir():
        if item.name in (IR_XML, IR_BIN):
            continue
        if item.is_dir():
            shutil.copytree(item, out_dir / item.name)
        else:
            shutil.copy2(item, out_dir / item.name)
    # fp16 compression would change the weights a second time behind the user's back.
    ov.save_model(model, out_dir / IR_XML, compress_to_fp16=False)
    return ir_size(out_dir)


def ir_size(model_dir: Path) -> int:
    return sum((model_dir / name).stat().st_size for name in (IR_XML, IR_BIN))


def nncf_failure(error: Exception, op: str) -> OvrunError:
    """NNCF's own validation errors are parameter mistakes the user can fix."""
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    hint = _group_size_hint(str(error)) or (
        f"adjust the {op} parameters in the recipe (see the NNCF documentation of {op})"
    )
    return OvrunError(f"{op}: NNCF rejected the parameters: {first_line}", hint=hint)


def _group_size_hint(message: str) -> str | None:
    """For a group size that does not divide some layers, name a size that divides all."""
    sizes = sorted({int(size) for size in re.findall(r"channel size: (\d+)", message)})
    if not sizes:
        return None
    divisor = math.gcd(*sizes)
    # Layers that passed divide the asked size, a power of two, so they divide this one too.
    power_of_two = divisor & -divisor
    advice = f"try group_size: {power_of_two} or -1" if power_of_two > 1 else "use group_size: -1"
    failing = ", ".join(map(str, sizes))
    return f"group_size must divide every layer's input channels ({failing} fail here); {advice}"


def nncf_user_errors() -> tuple[type[Exception], ...]:
    import nncf

    return (
        nncf.ValidationError,
        nncf.ParameterNotSupportedError,
        nncf.InvalidGroupSizeError,
        nncf.UnsupportedModelError,
    )


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

    from runner.adapters.datasets import load_samples
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
    try:
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
    }
