"""The lines printed under the summary table: skipped cells and lowered float precision."""

from __future__ import annotations

from runner.report.table import precision_lines, skip_lines


def _cell(device: str, status: str = "ok", precision=None, resolved=None, reason="") -> dict:
    row = {"device": device, "status": status, "precision": precision, "reason": reason}
    if resolved is not None:
        row["resolved_properties"] = {"INFERENCE_PRECISION_HINT": resolved}
    return row


def test_default_bf16_execution_is_pointed_out_once_per_device():
    results = {
        "benchmarks": [
            _cell("CPU", resolved="bf16"),
            _cell("CPU", resolved="bf16"),
            _cell("CPU", precision="f32", resolved="f32"),  # asked for: nothing to say
            _cell("GPU", status="skipped", reason="device GPU not available"),
        ]
    }
    assert precision_lines(results) == [
        "note: 2 CPU cell(s) ran float layers in bf16, the device default here; "
        "add `precisions: [f32]` under targets to measure FP32 execution as well"
    ]
    assert skip_lines(results) == ["1 cell(s) skipped: device GPU not available"]


def test_f32_default_and_requested_precisions_need_no_note():
    results = {
        "benchmarks": [
            _cell("CPU", resolved="f32"),
            _cell("CPU", precision="bf16", resolved="bf16"),
            _cell("CPU"),  # older results without resolved properties
        ]
    }
    assert precision_lines(results) == []
