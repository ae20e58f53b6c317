"""Accuracy-controlled INT8 quantization: nncf.quantize_with_accuracy_control with a
validation function built from the evaluate op's metric code.

The metric is the recipe's: cosine of mean-pooled embeddings (feature-extraction) or top-1
next-token agreement (text-generation), measured against the *unquantized* model. Its
outputs are computed once, compiled with f32 inference like NNCF compiles the candidates,
so the original model scores exactly 1.0 and ``max_drop`` reads like ``evaluate.max_drop``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from runner.adapters import evaluate
from runner.core.errors import OvrunError

_OUTPUTS = {"feature-extraction": "last_hidden_state", "text-generation": "logits"}


class _Reference:
    """The original model's outputs, memoized by sample identity (NNCF re-feeds the same
    sample objects on every validation pass)."""

    def __init__(self, runner: Any):
        self.runner = runner
        self.memo: dict[int, np.ndarray] = {}

    def output_of(self, sample: dict[str, np.ndarray]) -> np.ndarray:
        key = id(sample)
        if key not in self.memo:
            self.memo[key] = self.runner.output_of(sample)
        return self.memo[key]


def validation_fn(task: str, reference: _Reference):
    """NNCF's contract: (compiled model, iterable of samples) -> (metric, per-sample values)."""
    output = _OUTPUTS[task]

    def validate(compiled: Any, samples: Any) -> tuple[float, list[float]]:
        items = list(samples)
        model = evaluate._Runner.from_compiled(compiled, output)
        if task == "feature-extraction":
            scores = list(evaluate._cosine_scores(model, reference, items))
            return float(np.mean(scores)), scores
        counts = np.array(list(evaluate._top1_scores(model, reference, items)), dtype=np.float64)
        per_sample = (counts[:, 0] / np.maximum(counts[:, 1], 1)).tolist()
        return float(counts[:, 0].sum() / max(counts[:, 1].sum(), 1)), per_sample

    return validate


def quantize_with_accuracy_control(
    model: Any,
    calibration: Any,
    validation: list[dict[str, np.ndarray]],
    kwargs: dict[str, Any],
    params: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    import nncf
    import openvino as ov

    task = params.get("task", "feature-extraction")
    if task not in _OUTPUTS:
        raise OvrunError(f"quantize: accuracy control does not support task {task!r}", hint="")
    if not validation:
        raise OvrunError("quantize: the validation dataset has no samples", hint="add samples")
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    reference = _Reference(evaluate._Runner.from_compiled(compiled, _OUTPUTS[task]))
    validate = validation_fn(task, reference)
    advanced = nncf.AdvancedAccuracyRestorerParameters(
        max_num_iterations=int(params.get("max_num_iterations") or 2**31 - 1)
    )
    extra = {k: v for k, v in kwargs.items() if k != "advanced_parameters"}
    if "advanced_parameters" in kwargs:
        extra["advanced_quantization_parameters"] = kwargs["advanced_parameters"]
    max_drop = float(params["max_drop"])
    quantized = nncf.quantize_with_accuracy_control(
        model,
        calibration,
        nncf.Dataset(validation),
        validate,
        max_drop=max_drop,
        drop_type=nncf.DropType.ABSOLUTE,
        advanced_accuracy_restorer_parameters=advanced,
        **extra,
    )
    # Measure the result with the same function, so the record is what the gate saw.
    final_metric, _ = validate(
        ov.Core().compile_model(quantized, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}), validation
    )
    return quantized, {
        "metric": "cosine" if task == "feature-extraction" else "top1_agreement",
        "max_drop": max_drop,
        "value": final_metric,
        "accuracy_drop": 1.0 - final_metric,
        "validation_samples": len(validation),
    }
