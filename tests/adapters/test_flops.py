"""FLOPs and bytes counted from small hand-built IRs, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from runner.adapters import flops
from runner.core.errors import OvrunError


def _model(outputs: list, params: list) -> ov.Model:
    return ov.Model([o.output(0) if hasattr(o, "output") else o for o in outputs], params)


def test_single_matmul() -> None:
    # [4, 8] x [8, 16]: 4 * 16 outputs, each 8 multiply-adds -> 2 * 4 * 16 * 8 FLOPs
    x = ops.parameter([4, 8], ov.Type.f32, name="x")
    w = ops.constant(np.ones((8, 16), dtype=np.float32))
    counted = flops.count(_model([ops.matmul(x, w, False, False)], [x]))
    assert counted["flops"] == 2 * 4 * 16 * 8 == 1024
    assert counted["flops_by_op"] == {"MatMul": 1024}
    assert counted["weight_bytes"] == 8 * 16 * 4
    # activations: x in (4*8 f32) and the output (4*16 f32)
    assert counted["activation_bytes"] == (4 * 8 + 4 * 16) * 4
    assert counted["bytes"] == counted["weight_bytes"] + counted["activation_bytes"]
    assert counted["intensity"] == pytest.approx(1024 / counted["bytes"])


def test_transpose_b_and_transpose_a() -> None:
    # weights stored [N, K] = [16, 8] with transpose_b: the same product as above
    x = ops.parameter([4, 8], ov.Type.f32, name="x")
    w = ops.constant(np.ones((16, 8), dtype=np.float32))
    assert flops.count(_model([ops.matmul(x, w, False, True)], [x]))["flops"] == 1024
    # a stored [K, M] = [8, 4] with transpose_a: K is read from its first dimension
    xt = ops.parameter([8, 4], ov.Type.f32, name="xt")
    w2 = ops.constant(np.ones((8, 16), dtype=np.float32))
    assert flops.count(_model([ops.matmul(xt, w2, True, False)], [xt]))["flops"] == 1024


def test_batched_matmul() -> None:
    # [2, 3, 5, 7] x [2, 3, 7, 11]: 2 * 3 batches of 5 x 11 outputs, K = 7
    a = ops.parameter([2, 3, 5, 7], ov.Type.f32, name="a")
    b = ops.parameter([2, 3, 7, 11], ov.Type.f32, name="b")
    counted = flops.count(_model([ops.matmul(a, b, False, False)], [a, b]))
    assert counted["flops"] == 2 * (2 * 3 * 5 * 11) * 7
    assert counted["weight_bytes"] == 0
    assert counted["activation_bytes"] == (2 * 3 * 5 * 7 + 2 * 3 * 7 * 11 + 2 * 3 * 5 * 11) * 4


def test_convolution_and_group_convolution() -> None:
    # 3 -> 8 channels, 3x3 kernel, 10x10 input, no padding: an 8 x 8 x 8 output,
    # each output 3 * 3 * 3 multiply-adds
    x = ops.parameter([1, 3, 10, 10], ov.Type.f32, name="x")
    w = ops.constant(np.ones((8, 3, 3, 3), dtype=np.float32))
    conv = ops.convolution(x, w, [1, 1], [0, 0], [0, 0], [1, 1])
    assert flops.count(_model([conv], [x]))["flops"] == 2 * (1 * 8 * 8 * 8) * (3 * 3 * 3)
    # depthwise: 4 groups of 1 -> 1 channel, 3x3: each output 9 multiply-adds
    y = ops.parameter([1, 4, 10, 10], ov.Type.f32, name="y")
    gw = ops.constant(np.ones((4, 1, 1, 3, 3), dtype=np.float32))
    group = ops.group_convolution(y, gw, [1, 1], [0, 0], [0, 0], [1, 1])
    assert flops.count(_model([group], [y]))["flops"] == 2 * (1 * 4 * 8 * 8) * 9


def test_elementwise_softmax_and_shape_arithmetic() -> None:
    x = ops.parameter([2, 10], ov.Type.f32, name="x")
    added = ops.add(x, ops.constant(np.ones((2, 10), dtype=np.float32)))
    soft = ops.softmax(added, 1)
    # integer shape arithmetic on the side costs nothing
    shape = ops.multiply(ops.shape_of(x), ops.constant(np.int64(2)))
    counted = flops.count(_model([soft, shape], [x]))
    assert counted["flops_by_op"] == {"Add": 20, "Softmax": 5 * 20}


def _compressed_weight(dtype: type, shape: tuple[int, int]) -> ov.Node:
    """An NNCF-style compressed weight: int constant -> Convert -> Multiply by a scale."""
    stored = ops.constant(np.ones(shape, dtype=dtype))
    scale = ops.constant(np.full((shape[0], 1), 0.5, dtype=np.float32))
    return ops.multiply(ops.convert(stored, ov.Type.f32), scale)


def test_int8_weights_count_smaller_than_f32() -> None:
    n, k = 64, 32
    x = ops.parameter([1, k], ov.Type.f32, name="x")
    f32 = ops.constant(np.ones((n, k), dtype=np.float32))
    plain = flops.count(_model([ops.matmul(x, f32, False, True)], [x]))
    x8 = ops.parameter([1, k], ov.Type.f32, name="x")
    int8 = flops.count(
        _model([ops.matmul(x8, _compressed_weight(np.int8, (n, k)), False, True)], [x8])
    )
    # the decompression is folded per weight, not per inference: the MatMul alone counts
    assert int8["flops"] == plain["flops"] == 2 * n * k
    assert plain["weight_bytes"] == n * k * 4
    assert int8["weight_bytes"] == n * k * 1 + n * 4  # int8 values + f32 scales
    assert int8["activation_bytes"] == plain["activation_bytes"]


def test_int4_weights_count_half_a_byte() -> None:
    x = ops.parameter([1, 32], ov.Type.f32, name="x")
    stored = ov.op.Constant(ov.Type.i4, ov.Shape([64, 32]), [1] * (64 * 32))
    weight = ops.convert(stored, ov.Type.f32)
    counted = flops.count(_model([ops.matmul(x, weight, False, True)], [x]))
    assert counted["weight_bytes"] == 64 * 32 // 2
    assert counted["flops"] == 2 * 64 * 32


def test_fake_quantized_matmul_counts_as_the_matmul() -> None:
    x = ops.parameter([4, 8], ov.Type.f32, name="x")
    lo, hi = ops.constant(np.float32(-1)), ops.constant(np.float32(1))
    fq_x = ops.fake_quantize(x, lo, hi, lo, hi, 256)
    w = ops.constant(np.ones((16, 8), dtype=np.float32))
    fq_w = ops.fake_quantize(w, lo, hi, lo, hi, 255)
    counted = flops.count(_model([ops.matmul(fq_x, fq_w, False, True)], [x]))
    assert counted["flops_by_op"] == {"MatMul": 1024}


def test_embedding_table_counts_the_rows_gathered() -> None:
    ids = ops.parameter([2, 5], ov.Type.i64, name="ids")
    table = ops.constant(np.ones((1000, 8), dtype=np.float32))
    gathered = ops.gather(table, ids, ops.constant(np.int64(0)))
    counted = flops.count(_model([ops.add(gathered, gathered)], [ids]))
    table_bytes = 2 * 5 * 8 * 4  # ten rows of 8 f32, not the 1000-row table
    assert counted["weight_bytes"] == table_bytes + 8  # + the axis constant


def test_dynamic_shape_is_refused() -> None:
    x = ops.parameter(ov.PartialShape([-1, 8]), ov.Type.f32, name="x")
    w = ops.constant(np.ones((8, 4), dtype=np.float32))
    with pytest.raises(OvrunError, match="dynamic shape"):
        flops.count(_model([ops.matmul(x, w, False, False)], [x]))
