"""AUTO, HETERO and MULTI with device lists, benchmarked with real OpenVINO on this host's
CPU (no GPU here: ``AUTO:GPU,CPU`` must run on its CPU and say so, ``HETERO:GPU,CPU`` must
be refused with the reason, never with a raw OpenVINO exception)."""

from __future__ import annotations

from pathlib import Path

import openvino as ov
import pytest

from runner.adapters import benchmark
from runner.adapters.devices import DeviceUnavailable, settable_properties
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext


def _no_gpu() -> None:
    if any(d.startswith("GPU") for d in ov.Core().available_devices):
        pytest.skip("this host has a GPU")


@pytest.fixture(scope="module")
def bert_out(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import optimum.intel

    out = tmp_path_factory.mktemp("bert_ir")
    optimum.intel.OVModelForFeatureExtraction.from_pretrained(
        tiny_bert_dir, export=True, compile=False
    ).save_pretrained(out / "model")
    return out


def _bench(bert_out: Path, tmp_path: Path, device: str, **params) -> dict:
    params = {"hint": "THROUGHPUT", "iterations": 8, "warmup": 1, "seq_len": 16} | params
    ctx = TaskContext("bench", "benchmark", params, {"model": bert_out}, {}, tmp_path, device)
    return benchmark.run(ctx)


@pytest.mark.parametrize(
    "device, compiled_for",
    [
        ("AUTO:CPU", "AUTO:CPU"),
        ("HETERO:CPU", "HETERO:CPU"),
        ("MULTI:CPU", "MULTI:CPU"),
        ("AUTO:GPU,CPU", "AUTO:CPU"),  # GPU absent: AUTO picks among the present members
    ],
)
def test_meta_device_lists_run_on_cpu_and_record_what_ran(
    bert_out: Path, tmp_path: Path, device: str, compiled_for: str
) -> None:
    _no_gpu()
    # INFERENCE_NUM_THREADS is not AUTO's own property: it is forwarded to the member
    result = _bench(bert_out, tmp_path, device, properties={"INFERENCE_NUM_THREADS": 1})
    assert result["device"] == device
    assert result["compiled_for"] == compiled_for
    assert result["execution_devices"] == ["CPU"]
    assert result["iterations"] == 8 and result["throughput"] > 0
    # what the member settled on, read back through the meta-device's DEVICE_PROPERTIES
    assert result["resolved_properties"]["INFERENCE_NUM_THREADS"] == 1


def test_hetero_list_with_an_absent_member_is_refused_with_the_reason(
    bert_out: Path, tmp_path: Path
) -> None:
    _no_gpu()
    with pytest.raises(DeviceUnavailable) as info:
        _bench(bert_out, tmp_path, "HETERO:GPU,CPU")
    assert info.value.message.startswith("device HETERO:GPU,CPU needs GPU, not available")


def test_property_no_member_accepts_is_an_ovrun_error_not_a_runtime_error(
    bert_out: Path, tmp_path: Path
) -> None:
    """AUTO itself compiles a misspelt property silently; the check names it instead."""
    with pytest.raises(OvrunError) as info:
        _bench(bert_out, tmp_path, "AUTO:CPU", properties={"NUM_STREAMZ": 2})
    assert info.value.message == "property NUM_STREAMZ is not supported on device AUTO:CPU"


def test_meta_device_properties_are_its_plugin_and_its_members() -> None:
    """``core.get_property("AUTO:GPU,CPU", "SUPPORTED_PROPERTIES")`` raises; the plugin
    name answers, and the members' settable properties are forwarded."""
    _no_gpu()
    core = ov.Core()
    with pytest.raises(RuntimeError):
        core.get_property("AUTO:GPU,CPU", "SUPPORTED_PROPERTIES")
    accepted = settable_properties(core, "AUTO:GPU,CPU")
    assert accepted["MODEL_PRIORITY"] == "RW"  # AUTO's own
    assert accepted["INFERENCE_NUM_THREADS"] == "RW"  # the CPU's, forwarded
    assert accepted["FULL_DEVICE_NAME"] == "RO"
    hetero = settable_properties(core, "HETERO:CPU")
    assert hetero["MODEL_DISTRIBUTION_POLICY"] == "RW" and hetero["NUM_STREAMS"] == "RW"


def test_an_unexpected_openvino_error_is_shown_by_its_reason_not_its_frame() -> None:
    """A failure no adapter anticipated still reads as OpenVINO's reason, not as the
    'Exception from src/...' frame that made the console show a bare RuntimeError."""
    from runner.executor.task import _summary_line

    with pytest.raises(RuntimeError) as info:
        ov.Core().get_property("AUTO:GPU,CPU", "SUPPORTED_PROPERTIES")
    assert str(info.value).startswith("Exception from ")
    assert _summary_line(info.value).startswith("You can only get_property of the AUTO itself")
    assert _summary_line(ValueError("one\ntwo")) == "one"


def test_generation_cell_on_auto_list_runs_on_the_present_member(
    tmp_path: Path, tiny_causal_lm_dir: Path
) -> None:
    """openvino-genai gets ``AUTO:CPU`` for ``AUTO:GPU,CPU`` here, and the cell says so."""
    from runner.adapters import export, generate

    _no_gpu()
    export_params = {
        "source": {"kind": "path"},
        "task": "text-generation",
        "weight_format": "fp32",
        "trust_remote_code": False,
        "shapes": {},
    }
    model = tmp_path / "export"
    model.mkdir()
    export.run(
        TaskContext("export", "export", export_params, {}, {"model": tiny_causal_lm_dir}, model)
    )
    params = {"duration_s": 0.2, "warmup": 1, "max_new_tokens": 4, "seq_len": 8}
    out = tmp_path / "gen"
    out.mkdir()
    ctx = TaskContext("gen", "generate", params, {"model": model}, {}, out, "AUTO:GPU,CPU")
    result = generate.run(ctx)
    assert result["device"] == "AUTO:GPU,CPU" and result["compiled_for"] == "AUTO:CPU"
    assert result["generated_tokens_mean"] == 4 and result["host"]["cpu_model"]
