"""FLOPs and memory traffic of one inference, counted from an OpenVINO IR at a static shape.

A pure walk over ``ov.Model`` nodes (no compile, no inference). One multiply-add is two
FLOPs. What is counted, and the approximations the README's "Benchmark method" states:

* MatMul: ``2 * prod(output) * K`` (K read after ``transpose_a``; batched MatMuls by their
  output); ScaledDotProductAttention as its two matrix products, scale and softmax. Convolution: ``2 * prod(output) * C_in * prod(kernel)``; GroupConvolution the same
  with ``C_in / groups``.
* Elementwise ops, activations, softmax and normalisations: a fixed cost per output element
  (``_PER_ELEMENT``; a transcendental counts as one FLOP, softmax as 5, MVN as 6);
  reductions one per input element; integer / boolean arithmetic (shapes, masks) none.
* The weight-only subgraphs (a constant's Convert / Subtract / Multiply decompression of an
  int8 / int4 weight, FakeQuantize on a weight) are constant folding, not per-inference work:
  nodes whose inputs all come from constants are skipped, so a weight-compressed or
  FakeQuantized MatMul counts as the MatMul it feeds; FakeQuantize and Convert on
  activations count nothing.
* Bytes: every constant at its stored precision (int8 weights 1 byte, int4 half a byte); a
  table read only by Gather (embeddings) counts the rows gathered, not the table. Plus
  activations: the input (non-constant) and output bytes of every counted op at the IR's
  element types, as if each went to memory once: fusion and caches make the real traffic
  smaller, so the intensity is a lower bound.
"""

from __future__ import annotations

import math
from typing import Any

FORMAT = 1  # bump when the counting rules change: memoized counts are then recounted

_MATMUL = "MatMul"
_SDPA = "ScaledDotProductAttention"
_CONVOLUTIONS = ("Convolution", "GroupConvolution")
# FLOPs per output element; ops absent here (reshapes, gathers, converts, FakeQuantize,
# concat, ...) move data and count bytes only if they are counted at all (they are not).
_PER_ELEMENT: dict[str, int] = {
    **dict.fromkeys(
        (
            "Add",
            "Subtract",
            "Multiply",
            "Divide",
            "Maximum",
            "Minimum",
            "Power",
            "SquaredDifference",
            "Sqrt",
            "Exp",
            "Log",
            "Erf",
            "Tanh",
            "Sigmoid",
            "Relu",
            "Clamp",
            "Abs",
            "Negative",
        ),
        1,
    ),
    "Swish": 4,
    "HSwish": 4,
    "Gelu": 8,
    "Softmax": 5,  # max, subtract, exp, sum, divide
    "LogSoftmax": 5,
    "MVN": 6,  # mean, subtract, square, mean, rsqrt, multiply
    "NormalizeL2": 3,
    "RMS": 4,
}
_REDUCTIONS = ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceProd")


def count(model: Any) -> dict[str, Any]:
    """FLOPs and bytes of one inference of ``model`` (reshaped to a static shape).

    Returns ``flops``, ``bytes`` (= ``weight_bytes`` + ``activation_bytes``), ``intensity``
    (FLOPs per byte) and ``flops_by_op`` (op type -> FLOPs), all plain numbers."""
    const_path = _constant_path(model)
    flops_by_op: dict[str, int] = {}
    activation_bytes = 0
    for node in model.get_ordered_ops():
        kind = node.get_type_name()
        if node.get_name() in const_path or kind in ("Parameter", "Result", "Constant"):
            continue
        flops = _node_flops(node, kind)
        if flops is None:
            continue
        flops_by_op[kind] = flops_by_op.get(kind, 0) + flops
        activation_bytes += _activation_bytes(node, const_path)
    weight_bytes = _weight_bytes(model)
    total_flops = sum(flops_by_op.values())
    total_bytes = weight_bytes + activation_bytes
    return {
        "format": FORMAT,
        "flops": total_flops,
        "bytes": total_bytes,
        "weight_bytes": weight_bytes,
        "activation_bytes": activation_bytes,
        "intensity": total_flops / total_bytes if total_bytes else None,
        "flops_by_op": dict(sorted(flops_by_op.items())),
    }


def _static(shape: Any, node: Any) -> list[int]:
    if shape.is_dynamic:
        from runner.core.errors import OvrunError

        raise OvrunError(
            f"cannot count FLOPs of {node.get_type_name()} {node.get_friendly_name()}: "
            f"dynamic shape {shape}",
            hint="reshape the model to a static shape before counting",
        )
    return [int(d) for d in shape.to_shape()]


def _node_flops(node: Any, kind: str) -> int | None:
    """FLOPs of one node, None for the ops that are not counted."""
    if kind == _MATMUL:
        return _matmul_flops(node)
    if kind == _SDPA:
        return _attention_flops(node)
    if not node.get_output_element_type(0).is_real():
        return None  # integer / boolean arithmetic: shapes, masks, indices
    if kind in _CONVOLUTIONS:
        out = _static(node.get_output_partial_shape(0), node)
        weights = _static(node.get_input_partial_shape(1), node)
        # Convolution weights [C_out, C_in, k...]; GroupConvolution [G, C_out/G, C_in/G, k...]
        per_output = math.prod(weights[1:] if kind == "Convolution" else weights[2:])
        return 2 * math.prod(out) * per_output
    if kind in _PER_ELEMENT:
        return _PER_ELEMENT[kind] * math.prod(_static(node.get_output_partial_shape(0), node))
    if kind in _REDUCTIONS:
        return math.prod(_static(node.get_input_partial_shape(0), node))
    return None


def _matmul_flops(node: Any) -> int:
    a = _static(node.get_input_partial_shape(0), node)
    out = _static(node.get_output_partial_shape(0), node)
    transpose_a = bool(node.get_attributes().get("transpose_a", False))
    # a vector's only dimension is K; a matrix's K is its last, or first after transpose_a
    k = a[0] if len(a) == 1 else a[-2] if transpose_a else a[-1]
    return 2 * math.prod(out) * k


def _attention_flops(node: Any) -> int:
    """Q·Kᵀ and softmax(…)·V of a fused attention op: Q [.., L, D], K [.., S, D], V [.., S, Dv];
    plus the scale and softmax over the L×S scores."""
    q = _static(node.get_input_partial_shape(0), node)
    k = _static(node.get_input_partial_shape(1), node)
    out = _static(node.get_output_partial_shape(0), node)  # [.., L, Dv]
    scores = math.prod(out[:-1]) * k[-2]  # batch × heads × L × S
    return 2 * scores * q[-1] + 2 * scores * out[-1] + (1 + _PER_ELEMENT["Softmax"]) * scores


def _constant_path(model: Any) -> set[str]:
    """Names of the nodes computed from constants only (weight decompression, FakeQuantize on
    a weight, shape arithmetic): folded once by the plugin, not work per inference."""
    folded: set[str] = set()
    for node in model.get_ordered_ops():  # topological: a node's inputs come before it
        kind = node.get_type_name()
        if kind == "Constant":
            folded.add(node.get_name())
            continue
        if kind in ("Parameter", "ReadValue") or node.get_input_size() == 0:
            continue
        sources = [port.get_source_output().get_node() for port in node.inputs()]
        if all(src.get_name() in folded for src in sources):
            folded.add(node.get_name())
    return folded


def _tensor_bytes(element_type: Any, shape: list[int]) -> int:
    return (math.prod(shape) * int(element_type.bitwidth) + 7) // 8


def _activation_bytes(node: Any, const_path: set[str]) -> int:
    total = 0
    for port in node.inputs():
        if port.get_source_output().get_node().get_name() in const_path:
            continue  # weights are counted once, in _weight_bytes
        total += _tensor_bytes(port.get_element_type(), _static(port.get_partial_shape(), node))
    for port in node.outputs():
        total += _tensor_bytes(port.get_element_type(), _static(port.get_partial_shape(), node))
    return total


def _weight_bytes(model: Any) -> int:
    total = 0
    for node in model.get_ordered_ops():
        if node.get_type_name() != "Constant":
            continue
        stored = _tensor_bytes(node.get_output_element_type(0), list(node.get_output_shape(0)))
        gathered = _gathered_bytes(node)
        total += stored if gathered is None else min(stored, gathered)
    return total


def _gathered_bytes(constant: Any) -> int | None:
    """For a table read only by Gather (an embedding, possibly through its decompression
    chain), the bytes of the rows gathered; None when anything reads it whole."""
    readers = _weight_readers(constant)
    if not readers or any(
        node.get_type_name() != "Gather" or index != 0 for node, index in readers
    ):
        return None
    # rows gathered = the Gather's output elements, at the constant's stored precision
    element_type = constant.get_output_element_type(0)
    return sum(_tensor_bytes(element_type, list(node.get_output_shape(0))) for node, _ in readers)


_DECOMPRESSION = ("Convert", "Subtract", "Multiply", "Reshape", "Unsqueeze")


def _weight_readers(node: Any, depth: int = 0) -> list[tuple[Any, int]]:
    """(consumer, input index) pairs reading ``node``'s value, looking through the
    decompression chain (Convert -> Subtract -> Multiply -> Reshape) of a compressed weight."""
    found: list[tuple[Any, int]] = []
    for target in node.output(0).get_target_inputs():
        consumer = target.get_node()
        if consumer.get_type_name() in _DECOMPRESSION and depth < 4:
            found.extend(_weight_readers(consumer, depth + 1))
        else:
            found.append((consumer, target.get_index()))
    return found
