"""Op ``evaluate``: how closely a model follows a reference model, by real OpenVINO inference.

The reference always runs under ``properties`` (f32 by default), and so does the variant once:
that figure is the compression alone. The variant then runs under each property set its
benchmark cells and deploy use (``runtime_properties``); the precision each really gets is read
back from the compiled model (on CPUs with AMX/AVX-512 the default is bf16), and every distinct
precision is evaluated once. The top-level figures are the deployed precision's: what users
get. When the deployed precision is the reference precision (an AVX2 CPU runs f32 by default)
one evaluation serves both and the result says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from runner.core.errors import OvrunError
from runner.host.cpu import fingerprint_without_openvino
from runner.host.devices import compile_name
from runner.plan.context import TaskContext
from runner.recipe.spec import TASK_METRIC

# task -> the metric it measures (as the recipe resolves it), and the output it reads
_METRICS = TASK_METRIC
_OUTPUTS = {
    "feature-extraction": "last_hidden_state",
    "text-generation": "logits",
    "text-classification": "logits",
    "fill-mask": "logits",
    "token-classification": "logits",
    "question-answering": "start_logits",
}
_DEFAULT_PROPERTIES = {"INFERENCE_PRECISION_HINT": "f32"}


class _Runner:
    """One compiled model with one infer request, fed sample by sample."""

    def __init__(
        self, core: Any, model_dir: Path, device: str, properties: dict[str, Any], output: str
    ):
        from runner.adapters.ir import read_ir

        model = read_ir(model_dir)
        try:
            self.compiled = core.compile_model(model, device, properties)
        except RuntimeError as error:
            raise OvrunError(
                f"evaluate: cannot compile {model_dir} on {device}: {_reason(error)}",
                hint="check the device name and the properties under evaluate",
            ) from error
        self._bind(output)

    @classmethod
    def from_compiled(cls, compiled: Any, output: str) -> _Runner:
        """Wrap a model compiled elsewhere (NNCF's accuracy control compiles its own)."""
        runner = cls.__new__(cls)
        runner.compiled = compiled
        runner._bind(output)
        return runner

    def _bind(self, output: str) -> None:
        self.request = self.compiled.create_infer_request()
        self.stateful = bool(self.request.query_state())
        named = [port for port in self.compiled.outputs if output in port.get_names()]
        self.output = named[0] if named else self.compiled.outputs[0]

    def output_of(self, sample: dict[str, np.ndarray]) -> np.ndarray:
        from runner.adapters.feeds import make_feed

        if self.stateful:
            # A causal LM keeps its KV cache between calls; each sample starts fresh.
            self.request.reset_state()
        result = self.request.infer(make_feed(self.compiled.inputs, sample))
        return np.array(result[self.output], dtype=np.float64)

    def named_output(self, name: str) -> np.ndarray:
        """An output of the last inference by name (e.g. end_logits beside start_logits)."""
        for port in self.compiled.outputs:
            if name in port.get_names():
                return np.array(self.request.get_tensor(port).data, dtype=np.float64)
        raise OvrunError(
            f"evaluate: the model has no output named {name!r}",
            hint="export it with the recipe's task so the outputs carry the standard names",
        )

    def precision(self) -> str | None:
        """The precision the plugin really runs at, whatever the properties asked for."""
        try:
            return self.compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        except (RuntimeError, AttributeError):
            return None  # a device without the property


def _reason(error: BaseException) -> str:
    # OpenVINO prefixes the cause with one "Exception from <file>" line per layer.
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    causes = [line for line in lines if not line.startswith("Exception from")]
    return (causes or lines or [type(error).__name__])[-1]


def _masked_mean(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sentence embedding: mean of the token vectors the attention mask keeps."""
    weights = mask.astype(np.float64)[..., None]
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    return float(np.dot(a.ravel(), b.ravel()) / denominator) if denominator else 0.0


def _cosine_scores(
    model: _Runner, reference: _Runner, samples: list[dict[str, np.ndarray]]
) -> Iterator[float]:
    for sample in samples:
        got, want = model.output_of(sample), reference.output_of(sample)
        _check_shapes(got, want)
        if "attention_mask" in sample:
            mask = sample["attention_mask"]
            got, want = _masked_mean(got, mask), _masked_mean(want, mask)
        else:  # named tensors (no tokens): each row's whole output, flattened
            got, want = got.reshape(got.shape[0], -1), want.reshape(want.shape[0], -1)
        # one score per sample, also when the dataset batches several samples per item
        for got_row, want_row in zip(got, want, strict=True):
            yield _cosine(got_row, want_row)


def _check_shapes(got: np.ndarray, want: np.ndarray) -> None:
    if got.shape != want.shape:
        raise OvrunError(
            f"evaluate: model output {list(got.shape)} differs from reference {list(want.shape)}",
            hint="evaluate a variant against a reference of the same architecture",
        )


def _feature_extraction(model: _Runner, reference: _Runner, samples: list) -> dict[str, Any]:
    scores = np.array(list(_cosine_scores(model, reference, samples)))
    mean = float(scores.mean())
    return {
        "metric": "cosine",
        "value": mean,
        "min": float(scores.min()),
        "p05": float(np.percentile(scores, 5)),
        "accuracy_drop": 1.0 - mean,
    }


def _log_perplexity(logits: np.ndarray, sample: dict[str, np.ndarray]) -> tuple[float, int]:
    """Summed next-token negative log-likelihood and the number of predicted tokens."""
    ids = sample["input_ids"][0]
    keep = sample["attention_mask"][0].astype(bool)
    shifted = logits[0, :-1]
    shifted = shifted - shifted.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    nll = -log_probs[np.arange(len(ids) - 1), ids[1:]]
    mask = keep[1:] & keep[:-1]
    return float(nll[mask].sum()), int(mask.sum())


def _argmax_agreement(model: _Runner, reference: _Runner, samples: list) -> dict[str, Any]:
    """Classification: one class per sample; fill-mask / token-classification: one per
    attended token. Either way the share of argmax decisions equal to the reference's."""
    counts = []
    for sample in samples:
        got, want = model.output_of(sample), reference.output_of(sample)
        _check_shapes(got, want)
        agree = got.argmax(axis=-1) == want.argmax(axis=-1)
        if agree.ndim == 2 and "attention_mask" in sample:  # [1, tokens]: masked tokens
            agree = agree[sample["attention_mask"].astype(bool)]
        counts.append((int(agree.sum()), int(agree.size)))
    return _agreement(np.array(counts))


def _span_agreement(model: _Runner, reference: _Runner, samples: list) -> dict[str, Any]:
    """Question answering: a sample agrees when the answer span's start and end both do."""
    hits = np.zeros((len(samples), 2), dtype=bool)
    for row, sample in enumerate(samples):
        got, want = model.output_of(sample), reference.output_of(sample)
        _check_shapes(got, want)
        ends = model.named_output("end_logits"), reference.named_output("end_logits")
        hits[row] = (got.argmax() == want.argmax(), ends[0].argmax() == ends[1].argmax())
    both = hits.all(axis=1).astype(np.float64)
    value = float(both.mean())
    return {
        "metric": "span_agreement",
        "value": value,
        "start_agreement": float(hits[:, 0].mean()),
        "end_agreement": float(hits[:, 1].mean()),
        "min": float(both.min()),
        "p05": float(np.percentile(both, 5)),
        "accuracy_drop": 1.0 - value,
    }


def _top1_scores(model: Any, reference: Any, samples: list) -> Iterator[tuple[int, int]]:
    """Per sample: (attended tokens whose next-token argmax equals the reference's, attended
    tokens). NNCF's accuracy control validates text generation with it, per sample."""
    for sample in samples:
        got, want = model.output_of(sample), reference.output_of(sample)
        _check_shapes(got, want)
        keep = sample["attention_mask"].astype(bool)
        agree = got.argmax(axis=-1) == want.argmax(axis=-1)
        yield int(agree[keep].sum()), int(keep.sum())


def _text_generation(model: _Runner, reference: _Runner, samples: list) -> dict[str, Any]:
    """Top-1 next-token agreement with the reference, and both models' perplexity."""
    counts, nll = [], np.zeros((2, 2))
    for sample in samples:
        got, want = model.output_of(sample), reference.output_of(sample)
        _check_shapes(got, want)
        keep = sample["attention_mask"].astype(bool)
        agree = got.argmax(axis=-1) == want.argmax(axis=-1)
        counts.append((int(agree[keep].sum()), int(keep.sum())))
        for row, logits in enumerate((got, want)):
            total, tokens = _log_perplexity(logits, sample)
            nll[row] += (total, tokens)
    result = _agreement(np.array(counts))
    ppl = [float(np.exp(total / tokens)) if tokens else None for total, tokens in nll]
    return {**result, "perplexity": ppl[0], "reference_perplexity": ppl[1]}


def _agreement(counts: np.ndarray) -> dict[str, Any]:
    per_sample = counts[:, 0] / np.maximum(counts[:, 1], 1)
    agreement = float(counts[:, 0].sum() / max(int(counts[:, 1].sum()), 1))
    return {
        "metric": "top1_agreement",
        "value": agreement,
        "min": float(per_sample.min()),
        "p05": float(np.percentile(per_sample, 5)),
        "accuracy_drop": 1.0 - agreement,
        "positions": int(counts[:, 1].sum()),
    }


_EVALUATORS: dict[str, Callable[[_Runner, _Runner, list], dict[str, Any]]] = {
    "feature-extraction": _feature_extraction,
    "text-generation": _text_generation,
    "text-classification": _argmax_agreement,
    "fill-mask": _argmax_agreement,
    "token-classification": _argmax_agreement,
    "question-answering": _span_agreement,
}


def _check_task(params: dict[str, Any]) -> str:
    task = params.get("task", "feature-extraction")
    metric = params.get("metric", _METRICS.get(task))
    if task not in _METRICS:
        raise OvrunError(
            f"evaluate: unsupported task {task!r}", hint=f"use one of {', '.join(_METRICS)}"
        )
    if metric != _METRICS[task]:
        pairs = ", ".join(f"{m} for {t}" for t, m in _METRICS.items())
        raise OvrunError(
            f"evaluate: metric {metric!r} is not available for task {task!r}", hint=f"use {pairs}"
        )
    return task


_FIGURES = ("value", "min", "p05", "accuracy_drop", "task_metrics")
PREDICTIONS_FILE = "predictions.json"


class _Labelled:
    """A labelled evaluation set: each model's predictions and task figures, by role
    ("reference", "compression" or a precision)."""

    def __init__(self, gold: dict[str, Any], samples: list, pair: list | None):
        self.gold, self.samples, self.pair = gold, samples, pair
        self.predictions: dict[str, list] = {}
        self.figures: dict[str, dict[str, Any]] = {}

    @classmethod
    def of(cls, dataset_dir: Path, samples: list) -> _Labelled | None:
        from runner.adapters.dataset import load_samples
        from runner.adapters.labelled import PAIR_DIR, read_labels

        gold = read_labels(dataset_dir)
        if gold is None:
            return None
        pair = load_samples(Path(dataset_dir) / PAIR_DIR) if gold["kind"] == "pairs" else None
        return cls(gold, samples, pair)

    def measure(self, role: str, model: _Runner) -> dict[str, Any]:
        from runner.adapters.task_metrics import predict, score

        self.predictions[role] = predict(model, self.samples, self.gold, self.pair)
        self.figures[role] = score(self.gold, self.predictions[role])
        return self.figures[role]

    def summary(self, deployed: dict[str, Any], precision: str) -> dict[str, Any]:
        """The variant's figures at the deployed precision and under evaluate.properties,
        the reference's (under evaluate.properties), and the drops from the reference."""
        from runner.recipe.labels import KIND_METRICS

        kind = self.gold["kind"]
        reference = self.figures["reference"]
        drop = {
            name: None
            if deployed[name] is None or reference[name] is None
            else reference[name] - deployed[name]
            for name in KIND_METRICS[kind]
        }
        return {
            "kind": kind,
            "primary": KIND_METRICS[kind][0],
            "samples": len(self.predictions["reference"]),
            "reference": reference,
            "deployed": {**deployed, "precision": precision},
            "compression": self.figures["compression"],
            "drop": drop,
        }

    def save(self, out: Path, deployed_precision: str) -> None:
        """Per-sample predictions (reference, compression alone, deployed), so a reader can
        recompute every figure from them and the gold side in the dataset's labels.json."""
        import json

        saved = {
            "kind": self.gold["kind"],
            "reference": self.predictions["reference"],
            "compression": self.predictions["compression"],
            "deployed": self.predictions.get(deployed_precision, self.predictions["compression"]),
        }
        (out / PREDICTIONS_FILE).write_text(json.dumps(saved), encoding="utf-8")


def run(ctx: TaskContext) -> dict:
    import openvino as ov

    from runner.adapters.dataset import load_samples

    task = _check_task(ctx.params)
    device = ctx.params.get("device") or ctx.device or "CPU"
    properties = ctx.params.get("properties")
    properties = dict(_DEFAULT_PROPERTIES if properties is None else properties)
    samples = load_samples(ctx.inputs["dataset"])
    if not samples:
        raise OvrunError(
            "evaluate: the evaluation dataset has no samples",
            hint="give the eval data at least one non-empty text line",
        )
    core = ov.Core()
    target = compile_name(device, list(core.available_devices))  # AUTO:GPU,CPU -> AUTO:CPU
    output = _OUTPUTS[task]
    reference = _Runner(core, ctx.model_dir("reference"), target, properties, output)
    alone = _Runner(core, ctx.model_dir("model"), target, properties, output)
    ctx.log(f"evaluate: {task} on {len(samples)} samples, {device} {properties}")
    compression = _EVALUATORS[task](alone, reference, samples)
    reference_precision = str(alone.precision() or "unknown")
    labelled = _Labelled.of(ctx.inputs["dataset"], samples)
    if labelled is not None:
        labelled.measure("reference", reference)
        compression["task_metrics"] = labelled.measure("compression", alone)

    deployed = dict(ctx.params.get("deployed_properties") or {})
    runtimes = [deployed, *(p for p in ctx.params.get("runtime_properties") or [] if p != deployed)]
    by_precision: dict[str, dict[str, Any]] = {
        reference_precision: {**compression, "properties": [properties]}
    }
    resolved: list[dict[str, Any]] = []
    for props in runtimes:
        runner = _Runner(core, ctx.model_dir("model"), target, props, output)
        precision = str(runner.precision() or "unknown")
        resolved.append({"properties": props, "precision": precision})
        if precision in by_precision:  # the same arithmetic: its figures are already measured
            by_precision[precision]["properties"].append(props)
            continue
        ctx.log(f"evaluate: again at {precision} ({device} {props or 'defaults'})")
        by_precision[precision] = {
            **_EVALUATORS[task](runner, reference, samples),
            "properties": [props],
        }
        if labelled is not None:
            by_precision[precision]["task_metrics"] = labelled.measure(precision, runner)
    deployed_precision = resolved[0]["precision"]
    task_metrics = {}
    if labelled is not None:
        deployed_figures = by_precision[deployed_precision]["task_metrics"]
        task_metrics = {"task_metrics": labelled.summary(deployed_figures, deployed_precision)}
        labelled.save(ctx.out, deployed_precision)
    # the deployed figures lead: gates and assert: read them unless told otherwise
    return {
        **{k: v for k, v in by_precision[deployed_precision].items() if k != "properties"},
        "samples": len(samples),
        "device": device,
        "properties": properties,
        "inference_precision": deployed_precision,
        "deployed": {"precision": deployed_precision, "properties": deployed},
        "compression": {"precision": reference_precision, **_figures(compression)},
        **task_metrics,
        "same_precision": deployed_precision == reference_precision,
        "runtime_precisions": resolved,
        "by_precision": by_precision,
        # where it ran: the deployed precision follows the CPU (bf16 on AMX, f32 on AVX2)
        "host": {**fingerprint_without_openvino(), "device_name": _full_name(core, target)},
    }


def _full_name(core: Any, device: str) -> str | None:
    try:
        return str(core.get_property(device, "FULL_DEVICE_NAME"))
    except RuntimeError:  # a meta-device with a list answers only for its plugin name
        return None


def _figures(result: dict[str, Any]) -> dict[str, Any]:
    """Mean and worst case (min, 5th percentile) of one evaluation, plus its drop."""
    return {k: result[k] for k in _FIGURES if k in result}
