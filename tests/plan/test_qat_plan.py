"""`qat:` variants at load and plan time (no ML import): recipe errors exit 2 at their
position, and every option reaches the compress task's key. The training itself runs in
tests/e2e/test_qat.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from recipes_util import write

from runner.cli.main import main
from runner.session import open_session

_QAT = "{dataset: calib, steps: 4, lr: 0.0001, seed: 0, init: {model_type: transformer}}"


def _recipe(tmp: Path, qat: str = _QAT, source: str = "{path: model}", task: str = "") -> Path:
    (tmp / "model").mkdir(exist_ok=True)
    (tmp / "model" / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    (tmp / "m.onnx").write_bytes(b"onnx-bytes")
    write(tmp / "calib.txt", "one sample\ntwo samples\n")
    write(tmp / "other.txt", "three samples\n")
    return write(
        tmp / "r.yaml",
        f"""
        version: 1
        name: qat
        model:
          source: {source}
          task: {task or "feature-extraction"}
        data:
          calib: {{text: calib.txt, samples: 2}}
          other: {{text: other.txt, samples: 1}}
        variants:
          fp32: {{}}
          q:
            qat: {qat}
        targets:
          devices: [CPU]
          hints: [LATENCY]
        """,
    )


def _key(recipe: Path, cache: Path) -> str:
    task = open_session(recipe, cache, probe_devices=False).plan.tasks["compress:q"]
    return task.key


def test_qat_plans_a_compress_task_on_the_dataset_and_the_source(tmp_path: Path) -> None:
    plan = open_session(_recipe(tmp_path), tmp_path / "cache", probe_devices=False).plan
    task = plan.tasks["compress:q"]
    assert task.op.name == "qat"
    assert task.deps == {"model": "export", "dataset": "data:calib"}
    assert task.files == {"model": tmp_path / "model"}  # the PyTorch weights it trains
    assert task.params["init"] == {
        "model_type": "transformer",
        "preset": "mixed",  # NNCF's rule for transformers, resolved so spelling it keys alike
        "subset_size": 300,
        "target_device": "ANY",
    }
    assert (task.params["steps"], task.params["lr"], task.params["seed"]) == (4, 0.0001, 0)


@pytest.mark.parametrize(
    "changed",
    [
        "{dataset: other, steps: 4, lr: 0.0001, seed: 0, init: {model_type: transformer}}",
        "{dataset: calib, steps: 5, lr: 0.0001, seed: 0, init: {model_type: transformer}}",
        "{dataset: calib, steps: 4, lr: 0.0002, seed: 0, init: {model_type: transformer}}",
        "{dataset: calib, steps: 4, lr: 0.0001, seed: 1, init: {model_type: transformer}}",
        "{dataset: calib, steps: 4, lr: 0.0001, seed: 0, init: {}}",
        "{dataset: calib, steps: 4, lr: 0.0001, seed: 0, "
        "init: {model_type: transformer, preset: performance}}",
        "{dataset: calib, steps: 4, lr: 0.0001, seed: 0, "
        "init: {model_type: transformer, subset_size: 8}}",
        "{dataset: calib, steps: 4, lr: 0.0001, seed: 0, "
        "init: {model_type: transformer, smooth_quant_alpha: -1}}",
    ],
    ids=["dataset", "steps", "lr", "seed", "init", "preset", "subset_size", "smooth_quant"],
)
def test_every_option_changes_the_key(tmp_path: Path, changed: str) -> None:
    base = _key(_recipe(tmp_path), tmp_path / "cache")
    assert _key(_recipe(tmp_path, changed), tmp_path / "cache") != base


def test_spelled_out_defaults_key_alike(tmp_path: Path) -> None:
    base = _key(_recipe(tmp_path), tmp_path / "cache")
    spelled = (
        "{dataset: calib, steps: 4, lr: 0.0001, seed: 0, "
        "init: {model_type: transformer, preset: mixed, subset_size: 300}}"
    )
    assert _key(_recipe(tmp_path, spelled), tmp_path / "cache") == base


def test_source_content_changes_the_key(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    base = _key(recipe, tmp_path / "cache")
    (tmp_path / "model" / "config.json").write_text('{"model_type": "bert", "x": 1}')
    assert _key(recipe, tmp_path / "cache") != base


@pytest.mark.parametrize(
    ("qat", "source", "task", "where", "message"),
    [
        ("{dataset: calib, step: 4}", "", "", "12:27", "step"),
        ("{dataset: calib, steps: 0}", "", "", "12:34", "steps"),
        ("{dataset: calib, lr: 0}", "", "", "12:31", "lr"),
        ("{dataset: calib, lr: -0.1}", "", "", "12:31", "lr"),
        ("{dataset: nope}", "", "", "12:20", "unknown dataset 'nope'"),
        ("{dataset: calib, init: {mode: fp8_e4m3}}", "", "", "12:34", "mode"),
        ("{dataset: calib, init: {target_device: CPU_SPR}}", "", "", "12:49", "CPU_SPR"),
        ("{dataset: calib}", "{onnx: m.onnx}", "", "12:5", "onnx source"),
        ("{dataset: calib}", "", "fill-mask", "12:5", "not fill-mask"),
    ],
    ids=[
        "unknown-key",
        "steps-0",
        "lr-0",
        "lr-negative",
        "undeclared-dataset",
        "init-fp8",
        "init-cpu-spr",
        "onnx-source",
        "task",
    ],
)
def test_recipe_errors_exit_2_at_their_position(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    qat: str,
    source: str,
    task: str,
    where: str,
    message: str,
) -> None:
    recipe = _recipe(tmp_path, qat, source or "{path: model}", task)
    code = main(["validate", str(recipe)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{recipe}:{where}:" in err and message in err, err
    assert "Traceback" not in err


def test_qat_beside_another_compression_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    recipe = _recipe(tmp_path, _QAT + "\n            quantize: {dataset: calib}")
    code = main(["validate", str(recipe)])
    err = capsys.readouterr().err
    assert code == 2 and f"{recipe}:12:5:" in err and "qat cannot stand beside" in err, err
