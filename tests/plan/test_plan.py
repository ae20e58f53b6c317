import pytest
from recipes_util import minimal_recipe

from runner.core.errors import OvrunError
from runner.host.devices import unavailable_reason
from runner.plan.build import build_plan
from runner.plan.graph import to_dot, to_mermaid
from runner.plan.tasks import topological
from runner.recipe.resolve import load_recipe


def _plan(tmp_path):
    return build_plan(load_recipe(minimal_recipe(tmp_path)))


def test_three_variants_share_one_export_and_one_tokenization(tmp_path):
    plan = _plan(tmp_path)
    ops = [t.op.name for t in plan.order()]
    assert ops.count("export") == 1
    assert ops.count("dataset") == 1  # calib is used by int8 and by evaluate: tokenized once
    assert {t.id for t in plan.order() if t.op.name in ("quantize", "compress_weights")} == {
        "compress:int8",
        "compress:w4",
    }
    assert plan.tasks["bench:fp32:CPU:LATENCY"].deps == {"model": "export"}
    assert plan.tasks["bench:int8:GPU:LATENCY"].deps == {"model": "compress:int8"}
    assert plan.tasks["eval:w4"].deps == {
        "model": "compress:w4",
        "reference": "export",
        "dataset": "data:calib",
    }
    assert "eval:fp32" not in plan.tasks


def test_matrix_is_variants_times_devices_times_hints(tmp_path):
    plan = _plan(tmp_path)
    bench = [t for t in plan.order() if t.op.name == "benchmark"]
    assert len(bench) == 3 * 2 * 1
    assert all(t.device in ("CPU", "GPU") for t in bench)


def test_topological_order_puts_dependencies_first(tmp_path):
    plan = _plan(tmp_path)
    order = [t.id for t in topological(plan.order())]
    for task in plan.order():
        for dep in task.deps.values():
            assert order.index(dep) < order.index(task.id)
    assert order[-1] == "report"


def test_absent_device_is_skipped_and_dropped_from_report(tmp_path):
    recipe = load_recipe(minimal_recipe(tmp_path))
    plan = build_plan(recipe, lambda device: unavailable_reason(device, ["CPU"]))
    skipped = plan.skipped
    assert set(skipped) == {
        "bench:fp32:GPU:LATENCY",
        "bench:int8:GPU:LATENCY",
        "bench:w4:GPU:LATENCY",
    }
    assert skipped["bench:int8:GPU:LATENCY"] == "device GPU not available (available: CPU)"
    report = plan.tasks["report"]
    assert not set(report.deps.values()) & set(skipped)
    assert report.params["skipped"] == skipped


def test_int8_weight_modes_refuse_ratio_and_group_size(tmp_path):
    # NNCF would ignore them (every layer per channel in 8 bit): a load error, not a silent drop
    path = minimal_recipe(tmp_path)
    path.write_text(
        path.read_text().replace(
            "mode: int4_sym, ratio: 0.8, group_size: 16",
            "mode: int8_sym, ratio: 0.8, group_size: 16",
        )
    )
    with pytest.raises(OvrunError, match="ratio has no effect with mode int8_sym"):
        load_recipe(path)


def test_graph_outputs(tmp_path):
    plan = _plan(tmp_path)
    dot = to_dot(plan)
    assert dot.startswith('digraph "mini"') and '"export" -> "data:calib"' in dot
    mermaid = to_mermaid(plan)
    assert mermaid.startswith("flowchart LR") and "-->|reference|" in mermaid
