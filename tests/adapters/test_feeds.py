"""make_feed / synthetic_sample against real OpenVINO models built op by op."""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

from runner.adapters.feeds import make_feed, synthetic_sample
from runner.core.errors import OvrunError

BERT_INPUTS = {
    "input_ids": ov.Type.i64,
    "attention_mask": ov.Type.i64,
    "token_type_ids": ov.Type.i64,
}
LM_INPUTS = {
    "input_ids": ov.Type.i64,
    "attention_mask": ov.Type.i64,
    "position_ids": ov.Type.i64,
    "beam_idx": ov.Type.i32,
}


def echo_model(inputs: dict[str, ov.Type]) -> ov.CompiledModel:
    return ov.Core().compile_model(build_echo(inputs), "CPU")


def build_echo(inputs: dict[str, ov.Type]) -> ov.Model:
    """A model that returns each input unchanged (as i64), so a feed can be checked after inference."""
    params, results = [], []
    for name, element_type in inputs.items():
        shape = [-1] if name == "beam_idx" else [-1, -1]
        param = ops.parameter(shape, element_type, name=name)
        param.output(0).set_names({name})
        echo = ops.convert(ops.multiply(param, ops.constant(1, element_type)), ov.Type.i64)
        echo.output(0).set_names({f"echo_{name}"})
        params.append(param)
        results.append(ops.result(echo))
    return ov.Model(results, params, "echo")


def infer(compiled: ov.CompiledModel, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    outputs = compiled(feed)
    return {port.get_any_name().removeprefix("echo_"): outputs[port] for port in compiled.outputs}


def test_bert_feed_adds_zero_token_type_ids() -> None:
    compiled = echo_model(BERT_INPUTS)
    sample = {"input_ids": np.array([[2, 17, 40, 3]]), "attention_mask": np.ones((1, 4), np.int64)}
    feed = make_feed(compiled.inputs, sample)
    assert list(feed) == list(BERT_INPUTS)
    echoed = infer(compiled, feed)
    np.testing.assert_array_equal(echoed["input_ids"], sample["input_ids"])
    np.testing.assert_array_equal(echoed["token_type_ids"], np.zeros((1, 4), np.int64))


def test_sample_token_type_ids_pass_through() -> None:
    compiled = echo_model(BERT_INPUTS)
    types = np.array([[0, 0, 1, 1]])
    sample = {"input_ids": np.array([[2, 5, 3, 9]]), "token_type_ids": types}
    echoed = infer(compiled, make_feed(compiled.inputs, sample))
    np.testing.assert_array_equal(echoed["token_type_ids"], types)
    np.testing.assert_array_equal(echoed["attention_mask"], np.ones((1, 4), np.int64))


def test_causal_lm_feed_builds_positions_and_beam_idx() -> None:
    compiled = echo_model(LM_INPUTS)
    mask = np.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    sample = {"input_ids": np.arange(10).reshape(2, 5), "attention_mask": mask}
    feed = make_feed(compiled.inputs, sample)
    assert feed["beam_idx"].dtype == np.int32
    echoed = infer(compiled, feed)
    np.testing.assert_array_equal(echoed["position_ids"], [[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]])
    np.testing.assert_array_equal(echoed["beam_idx"], [0, 1])


def test_feed_takes_the_port_element_type() -> None:
    compiled = echo_model({"input_ids": ov.Type.i32, "attention_mask": ov.Type.i32})
    feed = make_feed(compiled.inputs, synthetic_sample(1, 6, 100, seed=0))
    assert {name: array.dtype for name, array in feed.items()} == {
        "input_ids": np.int32,
        "attention_mask": np.int32,
    }


def test_feed_from_model_inputs_not_only_compiled() -> None:
    feed = make_feed(build_echo(LM_INPUTS).inputs, synthetic_sample(2, 3, 50, seed=1))
    assert list(feed) == list(LM_INPUTS)
    assert feed["beam_idx"].dtype == np.int32


def test_unknown_input_is_a_user_error() -> None:
    compiled = echo_model({"input_ids": ov.Type.i64, "pixel_values": ov.Type.f32})
    with pytest.raises(OvrunError, match="pixel_values"):
        make_feed(compiled.inputs, synthetic_sample(1, 4, 10, seed=0))


def test_synthetic_sample_is_seeded_and_in_range() -> None:
    first = synthetic_sample(batch=2, seq_len=64, vocab_size=30, seed=7)
    again = synthetic_sample(batch=2, seq_len=64, vocab_size=30, seed=7)
    other = synthetic_sample(batch=2, seq_len=64, vocab_size=30, seed=8)
    assert first["input_ids"].shape == (2, 64)
    assert first["input_ids"].dtype == np.int64
    assert first["input_ids"].min() >= 0
    assert first["input_ids"].max() < 30
    assert (first["attention_mask"] == 1).all()
    np.testing.assert_array_equal(first["input_ids"], again["input_ids"])
    assert not np.array_equal(first["input_ids"], other["input_ids"])
