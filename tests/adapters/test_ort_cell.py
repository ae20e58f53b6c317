"""The ONNX Runtime cell (runner.adapters.ort_cell) on a tiny real ONNX model: the
MeasuredCell shape (prepare / round / close), static shapes, the same synthetic inputs as
the OpenVINO cell, and a fixed inference count shared by the THROUGHPUT threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tiny_models import tiny_encoder

from runner.adapters.feeds import synthetic_sample
from runner.adapters.ort_cell import OrtCell, cpu_count

VOCAB = 50


@pytest.fixture(scope="module")
def encoder_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    path = tmp_path_factory.mktemp("ort") / "enc.onnx"
    ids = torch.ones(1, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        tiny_encoder(VOCAB),
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(path),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names},
        dynamo=False,
    )
    return path


def _cell(path: Path, hint: str, iterations: int | None = None) -> OrtCell:
    return OrtCell("bench:x@onnxruntime:CPU:" + hint, path, hint, 2, 12, VOCAB, 7, 1, iterations)


def test_latency_cell_feeds_the_openvino_inputs_at_a_static_shape(encoder_onnx: Path) -> None:
    cell = _cell(encoder_onnx, "LATENCY", iterations=5)
    facts = cell.prepare()
    try:
        assert facts["mode"] == "sync" and facts["nireq"] == 1
        assert facts["input_shapes"] == {n: [2, 12] for n in cell._feed}
        sample = synthetic_sample(2, 12, VOCAB, 7)  # what the OpenVINO cell draws
        np.testing.assert_array_equal(cell._feed["input_ids"], sample["input_ids"])
        # the free dimensions are fixed: the session's outputs have the cell's shape
        session = cell._session
        out = session.run(None, cell._feed)[0]
        assert out.shape == (2, 12, 32)
        r = cell.round(60.0)  # a fixed count ends the round long before the duration
        assert len(r.latencies_ms) == 5 and r.samples == 10
        assert all(lat > 0 for lat in r.latencies_ms) and r.wall_s >= sum(r.latencies_ms) / 1e3
    finally:
        cell.close()


def test_throughput_cell_runs_concurrently_and_counts_every_inference(encoder_onnx: Path) -> None:
    cell = _cell(encoder_onnx, "THROUGHPUT", iterations=9)
    facts = cell.prepare()
    try:
        assert facts["mode"] == "parallel" and facts["nireq"] == cpu_count()
        assert facts["runtime_settings"]["intra_op_num_threads"] == 1
        r = cell.round(60.0)
        assert len(r.latencies_ms) == 9 and r.samples == 18  # shared count, not per thread
    finally:
        cell.close()
    timed = _cell(encoder_onnx, "THROUGHPUT")
    timed.prepare()
    try:
        r = timed.round(0.05)  # every thread stops at the deadline
        assert 0.05 <= r.wall_s < 5 and r.throughput == len(r.latencies_ms) * 2 / r.wall_s
    finally:
        timed.close()


def test_a_fixed_onnx_shape_other_than_the_cells_is_a_clear_error(tmp_path: Path) -> None:
    import torch

    from runner.core.errors import OvrunError

    path = tmp_path / "fixed.onnx"
    ids = torch.ones(1, 8, dtype=torch.long)
    torch.onnx.export(
        tiny_encoder(VOCAB),
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(path),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        dynamo=False,
    )
    with pytest.raises(OvrunError) as info:
        _cell(path, "LATENCY").prepare()  # the cell feeds [2, 12]
    assert "has the fixed shape [1, 8], the cell feeds [2, 12]" in info.value.message
