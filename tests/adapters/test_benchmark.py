"""The benchmark op on tiny random models, with real OpenVINO inference on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import openvino as ov
import pytest

from runner.adapters import benchmark
from runner.adapters.devices import DeviceUnavailable
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

SEQ_LEN = 16


def _export(hf_dir: Path, out_root: Path, task_class: str) -> Path:
    """An upstream 'out' dir holding model/openvino_model.xml, as the export op writes it."""
    import optimum.intel

    model_class = getattr(optimum.intel, task_class)
    model_class.from_pretrained(hf_dir, export=True, compile=False).save_pretrained(
        out_root / "model"
    )
    return out_root


@pytest.fixture(scope="module")
def bert_out(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(tiny_bert_dir, tmp_path_factory.mktemp("bert_ir"), "OVModelForFeatureExtraction")


@pytest.fixture(scope="module")
def lm_out(tiny_causal_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(tiny_causal_lm_dir, tmp_path_factory.mktemp("lm_ir"), "OVModelForCausalLM")


def _ctx(upstream: Path, out: Path, device: str = "CPU", **params: object) -> TaskContext:
    base = {"duration_s": 0.5, "warmup": 3, "batch": 1, "seq_len": SEQ_LEN, "seed": 0}
    return TaskContext(
        task_id="bench",
        op="benchmark",
        params=base | params,
        inputs={"model": upstream},
        files={},
        out=out,
        device=device,
    )


def _check_timing(result: dict) -> None:
    lat = result["latency_ms"]
    assert result["iterations"] > 0
    assert 0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert lat["min"] <= lat["mean"] <= lat["max"]
    assert result["duration_s"] >= 0.5
    assert result["throughput"] == pytest.approx(
        result["iterations"] * result["batch"] / result["duration_s"]
    )
    # With nireq requests in flight, samples/s cannot beat nireq * batch / mean latency;
    # a latency clock started late (e.g. while waiting for a free request) breaks this.
    ceiling = result["nireq"] * result["batch"] * 1000.0 / lat["mean"]
    assert result["throughput"] <= ceiling * 1.05
    assert result["compile_s"] > 0 and result["first_inference_ms"] > 0
    assert result["peak_rss_mb"] > 0


@pytest.mark.parametrize("hint", ["LATENCY", "THROUGHPUT"])
def test_benchmark_cpu_hints(bert_out: Path, tmp_path: Path, hint: str) -> None:
    result = benchmark.run(_ctx(bert_out, tmp_path, hint=hint))
    _check_timing(result)
    resolved = result["resolved_properties"]
    assert result["device"] == "CPU" and result["hint"] == hint
    assert resolved["PERFORMANCE_HINT"] == hint
    assert resolved["NUM_STREAMS"] >= 1
    assert result["nireq"] == resolved["OPTIMAL_NUMBER_OF_INFER_REQUESTS"] >= 1
    # LATENCY runs benchmark_app's default for -hint latency: one request, sync infer()
    assert result["mode"] == ("sync" if hint == "LATENCY" else "async")
    assert result["stateful"] is False
    assert result["input_shapes"]["input_ids"] == [1, SEQ_LEN]
    assert all(shape == [1, SEQ_LEN] for shape in result["input_shapes"].values())
    model = bert_out / "model"
    size = sum(
        (model / name).stat().st_size for name in ("openvino_model.xml", "openvino_model.bin")
    )
    assert result["size_bytes"] == size
    json.dumps(result)  # the executor stores it as result.json


def test_properties_reach_the_compiled_model(bert_out: Path, tmp_path: Path) -> None:
    properties = {"NUM_STREAMS": 1, "INFERENCE_NUM_THREADS": 1, "INFERENCE_PRECISION_HINT": "f32"}
    result = benchmark.run(
        _ctx(bert_out, tmp_path, hint="THROUGHPUT", batch=2, properties=properties)
    )
    _check_timing(result)
    resolved = result["resolved_properties"]
    assert resolved["NUM_STREAMS"] == 1
    assert resolved["INFERENCE_NUM_THREADS"] == 1
    assert resolved["INFERENCE_PRECISION_HINT"] == "f32"
    assert all(shape == [2, SEQ_LEN] for shape in result["input_shapes"].values())


def test_stateful_lm_benchmarks_prefill(lm_out: Path, tmp_path: Path) -> None:
    result = benchmark.run(_ctx(lm_out, tmp_path, task="text-generation"))
    _check_timing(result)
    assert result["stateful"] is True and result["mode"] == "sync-prefill"
    assert result["nireq"] == 1
    assert result["input_shapes"]["beam_idx"] == [1]


def test_missing_device_is_reported(bert_out: Path, tmp_path: Path) -> None:
    available = ov.Core().available_devices
    if any(device.startswith("GPU") for device in available):
        pytest.skip("this host has a GPU")
    with pytest.raises(DeviceUnavailable) as info:
        benchmark.run(_ctx(bert_out, tmp_path, device="GPU"))
    assert info.value.message == f"device GPU not available (available: {', '.join(available)})"


def test_unknown_property_names_it_and_lists_supported(bert_out: Path, tmp_path: Path) -> None:
    with pytest.raises(OvrunError) as info:
        benchmark.run(_ctx(bert_out, tmp_path, properties={"NUM_STREAMZ": 2}))
    assert "NUM_STREAMZ" in info.value.message
    assert "NUM_STREAMS" in info.value.hint and "INFERENCE_PRECISION_HINT" in info.value.hint


def test_read_only_property_is_rejected(bert_out: Path, tmp_path: Path) -> None:
    with pytest.raises(OvrunError, match="FULL_DEVICE_NAME is read-only"):
        benchmark.run(_ctx(bert_out, tmp_path, properties={"FULL_DEVICE_NAME": "x"}))


def test_bad_property_value_is_a_user_error(bert_out: Path, tmp_path: Path) -> None:
    with pytest.raises(OvrunError) as info:
        benchmark.run(_ctx(bert_out, tmp_path, properties={"INFERENCE_PRECISION_HINT": "int3"}))
    assert "INFERENCE_PRECISION_HINT" in info.value.message and "int3" in info.value.message


def test_seq_len_beyond_position_table_is_rejected(bert_out: Path, tmp_path: Path) -> None:
    config = json.loads((bert_out / "model" / "config.json").read_text())
    limit = config["max_position_embeddings"]
    with pytest.raises(OvrunError, match=f"max_position_embeddings {limit}"):
        benchmark.run(_ctx(bert_out, tmp_path, seq_len=limit + 1))
