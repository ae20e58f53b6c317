"""Reading, inspecting and saving the OpenVINO IR of an optimum-style model dir.

Shared by the compressing ops: a summary must describe what the saved model really
contains, so they measure the written IR instead of echoing their parameters back."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.core.errors import OvrunError

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
    from runner.adapters.stable_ir import save_stable

    out_dir.mkdir(parents=True, exist_ok=True)
    for item in source_dir.iterdir():
        if item.name in (IR_XML, IR_BIN):
            continue
        if item.is_dir():
            shutil.copytree(item, out_dir / item.name)
        else:
            shutil.copy2(item, out_dir / item.name)
    save_stable(model, out_dir / IR_XML)
    return ir_size(out_dir)


def ir_size(model_dir: Path) -> int:
    return sum((model_dir / name).stat().st_size for name in (IR_XML, IR_BIN))
