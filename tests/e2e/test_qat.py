"""Quantization-aware training end to end on the tiny BERT: NNCF's quantized torch model,
a few self-distillation steps, the IR export. The artifact is quantized (FakeQuantize nodes,
every MatMul weight behind one), the loss reaches the console, and a forced rerun with the
same seed rebuilds byte-identical IR files and the same loss curve: the batch order is
seeded, dropout is off, torch is seeded and NNCF's torch-native fake-quantize functions are
always used (runner.adapters.qat._native_quantizers), so nothing varies between runs on one
host with one thread count. Keys and recipe errors: tests/plan/test_qat_plan.py."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest
from recipes_util import ovrun

pytestmark = pytest.mark.slow

RECIPE = """
    version: 1
    name: qat
    model: {source: {path: model}}
    data:
      calib: {text: calib.txt, samples: 8, max_length: 16}
    variants:
      fp32: {}
      q: {qat: {dataset: calib, steps: 4, lr: 0.0001, seed: 3, init: {model_type: transformer}}}
    targets: {devices: [CPU], hints: [LATENCY]}
    """


def _entry(cache: Path, task_id: str) -> Path:
    for meta_file in (cache / "objects").glob("*/*/meta.json"):
        if json.loads(meta_file.read_text())["task_id"] == task_id:
            return meta_file.parent / "out"
    raise AssertionError(f"no cache entry for {task_id}")


def _sha(out: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((out / "model" / name).read_bytes()).hexdigest()
        for name in ("openvino_model.xml", "openvino_model.bin")
    }


def test_qat_builds_a_quantized_ir_logs_the_loss_and_reruns_identically(tmp_path, tiny_project):
    import numpy as np
    import openvino as ov

    recipe = tiny_project(RECIPE, {"calib.txt": (8, 5)}, dir=tmp_path).recipe
    cache = tmp_path / "cache"
    args = (str(recipe), "--cache-dir", str(cache), "--only", "compress:q")
    first = ovrun(*args)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    console = first.stdout + first.stderr
    assert "compress:q: qat: step 1/4 loss" in console and "qat: step 4/4 loss" in console

    out = _entry(cache, "compress:q")
    result = json.loads((out / "result.json").read_text())
    assert result["algorithm"] == "qat"
    losses = result["qat"]["losses"]
    assert len(losses) == 4 and all(math.isfinite(x) and x >= 0 for x in losses)

    model = ov.Core().read_model(out / "model" / "openvino_model.xml")
    kinds = [op.get_type_name() for op in model.get_ordered_ops()]
    assert kinds.count("FakeQuantize") > 0
    assert result["fake_quantize_nodes"] == kinds.count("FakeQuantize")
    assert result["float_weight_ops"] == 0 and result["quantized_weight_ops"] > 0
    # the export's interface, so benchmark / evaluate / deploy take it like any variant
    export = ov.Core().read_model(_entry(cache, "export") / "model" / "openvino_model.xml")
    assert [p.get_any_name() for p in model.inputs] == [p.get_any_name() for p in export.inputs]
    assert [p.get_any_name() for p in model.outputs] == [p.get_any_name() for p in export.outputs]
    ids = np.array([[2, 7, 9, 11, 3]], dtype=np.int64)
    feed = {
        p.get_any_name(): (ids if "input_ids" in p.get_any_name() else np.ones_like(ids))
        for p in model.inputs
    }
    feed = {k: (np.zeros_like(ids) if "token_type" in k else v) for k, v in feed.items()}
    hidden = ov.Core().compile_model(model, "CPU")(feed)[0]
    assert hidden.shape[:2] == (1, 5) and np.isfinite(hidden).all()
    before = _sha(out)

    again = ovrun(*args, "--force", "compress:q")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    rerun = _entry(cache, "compress:q")
    assert json.loads((rerun / "result.json").read_text())["qat"]["losses"] == losses
    assert _sha(rerun) == before
