"""Build the exact input tensors a model takes from one tokenized sample.

Only numpy is imported here, so the benchmark and evaluate adapters can share it without
pulling in anything heavy. Ports are ``ov.Model.inputs`` / ``CompiledModel.inputs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from runner.core.errors import OvrunError


def make_feed(model_inputs: Iterable[Any], sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Tensors for every model input, named as the model names them.

    ``sample`` holds ``input_ids`` (shape [batch, length]) and optionally ``attention_mask``
    and ``token_type_ids``. A stateful causal LM also gets ``position_ids`` and ``beam_idx``;
    the caller resets its state (``InferRequest.reset_state()``) before each new sequence.
    A sample without ``input_ids`` is a set of named tensors (a model that does not take
    token ids): each input gets the array of its name.
    """
    if "input_ids" not in sample:
        return tensor_feed(model_inputs, sample)
    input_ids = np.asarray(sample["input_ids"])
    if input_ids.ndim != 2:
        raise OvrunError(
            f"sample input_ids must be [batch, length], got shape {list(input_ids.shape)}",
            hint="load samples with runner.adapters.dataset.load_samples",
        )
    feed = {}
    for port in model_inputs:
        name = port.get_any_name()
        builder = _BUILDERS.get(name)
        if builder is None:
            raise OvrunError(
                f"the model takes an input named {name!r} that ovrun cannot fill",
                hint="ovrun feeds input_ids, attention_mask, token_type_ids, position_ids and "
                "beam_idx; export the model with a supported task",
            )
        feed[name] = builder(sample, input_ids).astype(_dtype(port), copy=False)
    return feed


def tensor_feed(
    model_inputs: Iterable[Any], sample: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Each model input's array from ``sample``, found by any of the input's names (a
    converted TensorFlow model's input answers to several) and cast to the input's dtype."""
    feed = {}
    for port in model_inputs:
        names = sorted(port.get_names()) or [port.get_any_name()]
        found = [name for name in names if name in sample]
        if not found:
            raise OvrunError(
                f"the data has no array for model input {port.get_any_name()!r} "
                f"(it has {', '.join(sorted(sample)) or 'none'})",
                hint="name each npz array (or synthetic.shapes / model.shapes entry) after a "
                f"model input: {port.get_any_name()}",
            )
        feed[port.get_any_name()] = np.asarray(sample[found[0]]).astype(_dtype(port), copy=False)
    return feed


def random_tensors(model_inputs: Iterable[Any], seed: int) -> dict[str, np.ndarray]:
    """Seeded uniform [0, 1) values for every input, shaped and typed as the (static) port."""
    rng = np.random.default_rng(seed)
    feed = {}
    for port in model_inputs:
        shape = [int(dim) for dim in port.get_shape()]
        feed[port.get_any_name()] = rng.uniform(0.0, 1.0, size=shape).astype(_dtype(port))
    return feed


def synthetic_sample(batch: int, seq_len: int, vocab_size: int, seed: int) -> dict[str, np.ndarray]:
    """Random token ids in [0, vocab_size) with a full attention mask, as benchmark_app fills."""
    rng = np.random.default_rng(seed)
    return {
        "input_ids": rng.integers(0, vocab_size, size=(batch, seq_len), dtype=np.int64),
        "attention_mask": np.ones((batch, seq_len), dtype=np.int64),
    }


def _attention_mask(sample: dict[str, np.ndarray], input_ids: np.ndarray) -> np.ndarray:
    mask = sample.get("attention_mask")
    return np.ones_like(input_ids) if mask is None else np.asarray(mask)


def _token_type_ids(sample: dict[str, np.ndarray], input_ids: np.ndarray) -> np.ndarray:
    # Single-segment text: BERT-style models expect all zeros when the tokenizer gave none.
    types = sample.get("token_type_ids")
    return np.zeros_like(input_ids) if types is None else np.asarray(types)


def _position_ids(sample: dict[str, np.ndarray], input_ids: np.ndarray) -> np.ndarray:
    # Same rule as optimum-intel's OVModelForCausalLM: padding positions clip to 0.
    mask = _attention_mask(sample, input_ids).astype(np.int64)
    return np.clip(np.cumsum(mask, axis=-1) - 1, 0, None)


def _beam_idx(sample: dict[str, np.ndarray], input_ids: np.ndarray) -> np.ndarray:
    return np.arange(input_ids.shape[0], dtype=np.int32)


_BUILDERS: dict[str, Callable[[dict[str, np.ndarray], np.ndarray], np.ndarray]] = {
    "input_ids": lambda sample, input_ids: input_ids,
    "attention_mask": _attention_mask,
    "token_type_ids": _token_type_ids,
    "position_ids": _position_ids,
    "beam_idx": _beam_idx,
}


def _dtype(port: Any) -> np.dtype:
    # ov.Type.to_dtype() maps the port's element type without importing openvino here.
    try:
        return np.dtype(port.get_element_type().to_dtype())
    except (AttributeError, TypeError, RuntimeError):
        return np.dtype(np.int64)
