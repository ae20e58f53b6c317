"""A KServe v2 REST infer body for a classic OVMS model entry, written beside config.json so
the OVMS README's `curl -d @<name>.request.json .../v2/models/<name>/infer` has a body to send."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLE_TEXT = "OpenVINO Model Server serves this model"
_KSERVE_TYPES = {"i64": "INT64", "i32": "INT32", "f32": "FP32", "f16": "FP16", "u8": "UINT8"}


def kserve_request(xml: Path, model_dir: Path) -> dict[str, Any]:
    """One sample for every model input: the HF tokenizer's encoding of SAMPLE_TEXT when the
    model dir has a tokenizer and the input is one of its outputs, zeros of the input's
    type else; dynamic dims are batch 1 and the sample's length."""
    import numpy as np
    import openvino as ov

    model = ov.Core().read_model(xml)
    encoded: dict[str, Any] = {}
    if (model_dir / "tokenizer_config.json").is_file():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        encoded = dict(tokenizer([SAMPLE_TEXT], return_tensors="np"))
    length = encoded["input_ids"].shape[1] if "input_ids" in encoded else 8
    inputs = []
    for port in model.inputs:
        name, pshape = port.get_any_name(), port.get_partial_shape()
        dims = [d.get_length() if d.is_static else (1 if i == 0 else length)
                for i, d in enumerate(pshape)]  # fmt: skip
        dtype = port.get_element_type().get_type_name()
        data = encoded.get(name)
        if data is None or list(data.shape) != dims:
            data = np.zeros(dims, dtype=np.float32 if dtype.startswith("f") else np.int64)
        inputs.append({
            "name": name,
            "shape": dims,
            "datatype": _KSERVE_TYPES.get(dtype, dtype.upper()),
            "data": data.reshape(-1).tolist(),
        })  # fmt: skip
    return {"inputs": inputs}
