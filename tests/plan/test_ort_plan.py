"""`targets.runtimes: [..., onnxruntime]` at load and plan time (no ML import): task ids,
the ONNX export task, CPU-only skips, keys, assert names and the missing-package error.
The cells measured end to end: tests/e2e/test_ort_cells.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from recipes_util import write

from runner.cli.main import main
from runner.core.errors import OvrunError
from runner.recipe.resolve import load_recipe
from runner.recipe.runtimes import NOT_CPU
from runner.session import open_session


def _recipe(tmp: Path, source: str = "{path: model}", extra: str = "", runtimes: str = "") -> Path:
    (tmp / "model").mkdir(exist_ok=True)
    (tmp / "model" / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    (tmp / "m.onnx").write_bytes(b"onnx-bytes")
    return write(
        tmp / "r.yaml",
        f"""
        version: 1
        name: ort
        model:
          source: {source}
          task: feature-extraction
        variants:
          fp32: {{}}
          w8:
            compress_weights: {{mode: int8_asym}}
        targets:
          devices: [CPU, GPU]
          hints: [LATENCY, THROUGHPUT]
          threads: [1, 2]
          runtimes: {runtimes or "[openvino, onnxruntime]"}
        benchmark: {{seq_len: [16, 32]}}
        {extra}
        """,
    )


def _plan(recipe: Path, cache: Path):
    return open_session(recipe, cache, probe_devices=False).plan


def test_hf_source_plans_one_onnx_export_and_a_cell_per_device_hint_shape(tmp_path: Path) -> None:
    plan = _plan(_recipe(tmp_path), tmp_path / "cache")
    ort = sorted(t for t in plan.tasks if "@onnxruntime" in t)
    # threads are an OpenVINO dimension: not in the ONNX Runtime cells' ids
    assert ort == sorted(
        f"bench:fp32@onnxruntime:{d}:{h}:l{n}"
        for d in ("CPU", "GPU")
        for h in ("LATENCY", "THROUGHPUT")
        for n in (16, 32)
    )
    cell = plan.tasks["bench:fp32@onnxruntime:CPU:THROUGHPUT:l32"]
    assert cell.op.name == "ort_benchmark" and cell.device == "CPU"
    assert cell.deps == {"model": "export", "onnx": "onnx"}
    assert cell.labels["runtime"] == "onnxruntime" and cell.labels["seq_len"] == 32
    assert plan.tasks["onnx"].op.name == "onnx_export"
    assert "bench:fp32:CPU:LATENCY:t1:l16" in plan.tasks  # the OpenVINO cells stay
    # non-CPU cells: planned, skipped with the reason, left out of the report's inputs
    gpu = [t for t in ort if ":GPU:" in t]
    assert all(plan.skipped[t] == NOT_CPU for t in gpu)
    assert not any(t in plan.tasks["report"].deps for t in gpu)
    assert all(t in plan.tasks["report"].params["cells"] for t in ort)


def test_onnx_source_cells_take_the_file_itself_keyed_by_content(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, source="{onnx: m.onnx}")
    plan = _plan(recipe, tmp_path / "cache")
    assert "onnx" not in plan.tasks  # no export: the file is the model
    cell = plan.tasks["bench:fp32@onnxruntime:CPU:LATENCY:l16"]
    assert cell.deps == {"model": "export"} and cell.files["onnx"] == tmp_path / "m.onnx"
    before = cell.key
    (tmp_path / "m.onnx").write_bytes(b"other-onnx-bytes")
    assert _plan(recipe, tmp_path / "cache").tasks[cell.id].key != before


def test_openvino_only_by_default_and_onnxruntime_alone(tmp_path: Path) -> None:
    default = _plan(_recipe(tmp_path, runtimes="[openvino]"), tmp_path / "cache")
    assert not any("onnxruntime" in t for t in default.tasks) and "onnx" not in default.tasks
    alone = _plan(_recipe(tmp_path, runtimes="[onnxruntime]"), tmp_path / "cache")
    benches = [t for t in alone.tasks if t.startswith("bench:")]
    assert benches and all("@onnxruntime:" in t for t in benches)


def test_assert_names_reach_onnxruntime_cells(tmp_path: Path) -> None:
    line = '"fp32.CPU.LATENCY.t1.l16.throughput > fp32@onnxruntime.CPU.LATENCY.l16.throughput"'
    recipe = load_recipe(_recipe(tmp_path, extra=f"assert: [{line}]"))
    refs = recipe.asserts[0].refs
    assert [(r.variant, r.cell) for r in refs] == [
        ("fp32", "CPU:LATENCY:t1:l16"),
        ("fp32@onnxruntime", "CPU:LATENCY:l16"),
    ]
    with pytest.raises(OvrunError) as info:
        load_recipe(
            _recipe(tmp_path, extra='assert: ["w8@onnxruntime.CPU.LATENCY.l16.throughput > 0"]')
        )
    assert "unknown variant 'w8@onnxruntime'" in info.value.message
    assert "fp32@onnxruntime" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{ir: m.xml}", "an ir: source has none"),
        ("{random: {config: model/config.json, tokenizer: model}}", "a random: source has none"),
    ],
)
def test_sources_without_an_onnx_graph_are_recipe_errors(
    tmp_path: Path, source: str, message: str
) -> None:
    (tmp_path / "m.xml").write_text("<net/>")
    (tmp_path / "m.bin").write_bytes(b"\0")
    with pytest.raises(OvrunError) as info:
        load_recipe(_recipe(tmp_path, source=source))
    assert message in info.value.message
    where = info.value.location  # the onnxruntime item of targets.runtimes
    assert where and (where.line, where.col) == (14, 24)


def test_missing_onnxruntime_hidden_module_is_exit_2_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # Simulated: a None entry in sys.modules makes find_spec and import both fail, as an
    # environment without the package does.
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    recipe = _recipe(tmp_path, source="{onnx: m.onnx}")
    code = main(["validate", str(recipe)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{recipe}:14:24:" in err and "onnxruntime is not installed" in err
    assert "pip install 'ovrun[onnxruntime]'" in err
    assert "Traceback" not in err


def test_missing_onnxruntime_at_run_time_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker without the package (the recipe was checked elsewhere): the adapter says so too.
    from runner.adapters.ort_cell import import_ort

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(OvrunError) as info:
        import_ort()
    assert info.value.exit_code == 2 and "ovrun[onnxruntime]" in (info.value.hint or "")
