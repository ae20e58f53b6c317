"""The ``onnx_export`` op: a Hugging Face model (hf: / path: / package:) to ``out/model.onnx``
for the ONNX Runtime cells (`targets.runtimes`).

The exporter is ``torch.onnx.export(dynamo=True)`` (torch.export + onnxscript): the legacy
TorchScript exporter fails on transformers 5's attention-mask utilities, and optimum 2 no
longer ships an ONNX exporter. Weights stay FP32 (the reference model); batch and sequence
are dynamic dimensions named ``batch`` and ``sequence``, fixed per cell by the ONNX Runtime
session (``runner.adapters.ort_cell``). Outputs are the model's tensor outputs in order
(``last_hidden_state`` first for feature-extraction). One file, no external data (the
exporter inlines weights up to ONNX's 2 GB protobuf limit)."""

from __future__ import annotations

import inspect
import logging
import warnings
from pathlib import Path
from typing import Any

from runner.adapters.export import _resolve_source
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext
from runner.recipe.runtimes import EXTRA

_AUTO_CLASSES = {
    "feature-extraction": "AutoModel",
    "text-classification": "AutoModelForSequenceClassification",
    "fill-mask": "AutoModelForMaskedLM",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
}
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_EXAMPLE = (2, 8)  # batch, sequence of the trace input; both become dynamic


def run(ctx: TaskContext) -> dict[str, Any]:
    import torch
    import transformers

    task = ctx.params.get("task", "feature-extraction")
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter needs it; say which extra)
    except ImportError as exc:
        raise OvrunError(
            "onnxscript is not installed (torch.onnx's exporter needs it)",
            hint=f"install the onnxruntime extra: {EXTRA}",
        ) from exc
    if task not in _AUTO_CLASSES:
        raise OvrunError(
            f"onnxruntime cells do not support task {task!r}",
            hint=f"tasks with an ONNX export: {', '.join(_AUTO_CLASSES)}",
        )
    source, local_only = _resolve_source(ctx)
    spec = ctx.params["source"]
    auto = getattr(transformers, _AUTO_CLASSES[task])
    model = auto.from_pretrained(
        source,
        revision=None if local_only else (spec.get("commit") or spec.get("revision")),
        trust_remote_code=bool(ctx.params.get("trust_remote_code")),
        local_files_only=local_only,
        dtype=torch.float32,
    ).eval()
    names = [n for n in _INPUTS if n in inspect.signature(model.forward).parameters]
    wrapper = _Outputs(model, names)
    # one tensor per input: torch.export treats one tensor passed twice as one input, and
    # the graph would read input_ids as the attention mask
    example = {
        n: (torch.zeros if n == "token_type_ids" else torch.ones)(*_EXAMPLE, dtype=torch.long)
        for n in names
    }
    limit = int(getattr(model.config, "max_position_embeddings", 0) or 0)
    batch = torch.export.Dim("batch")
    sequence = torch.export.Dim("sequence", max=limit) if limit > _EXAMPLE[1] else None
    dims = {0: batch, **({1: sequence} if sequence is not None else {})}
    out = ctx.out / "model.onnx"
    ctx.log(f"exporting {type(model).__name__} ({task}) to ONNX with torch {torch.__version__}")
    # torch.onnx logs a warning per torchvision op it cannot register and warns about axis
    # names it merges: noise on the console for a model that exports fine
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        torch.onnx.export(
            wrapper,
            (),
            str(out),
            kwargs=example,
            input_names=names,
            dynamic_shapes={n: dims for n in names},
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    _check(out)
    diff = _agreement(wrapper, out, names, int(getattr(model.config, "vocab_size", 0) or 2), limit)
    ctx.log(f"ONNX Runtime matches torch within {diff:.2e} (max abs) on a random input")
    return {
        "max_abs_diff_vs_torch": diff,
        "onnx": out.name,
        "size_bytes": out.stat().st_size,
        "inputs": names,
        "architecture": type(model).__name__,
        "exporter": f"torch.onnx (dynamo) {torch.__version__}",
        "source": {k: v for k, v in spec.items() if k != "config"},
    }


class _Outputs:
    """A plain-tensor forward: the exporter takes tensors in, a tuple of tensors out."""

    def __new__(cls, model: Any, names: list[str]) -> Any:
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask=None, token_type_ids=None) -> tuple:
                given = {
                    "input_ids": input_ids,
                    "attention_mask": attention_mask,
                    "token_type_ids": token_type_ids,
                }
                out = self.model(**{n: given[n] for n in names})
                return tuple(v for v in out.values() if isinstance(v, torch.Tensor))

        return Wrapped().eval()


def _agreement(wrapper: Any, path: Path, names: list[str], vocab: int, limit: int) -> float:
    """The export is the model: ONNX Runtime and torch agree on random ids at a shape other
    than the trace example's (a graph that specialised on the example, or read one input as
    another, fails here instead of being benchmarked)."""
    import numpy as np
    import torch

    from runner.adapters.ort_cell import import_ort

    ort = import_ort()
    length = min(_EXAMPLE[1] + 5, limit) if limit else _EXAMPLE[1] + 5
    rng = np.random.default_rng(0)
    ids = rng.integers(0, max(vocab, 2), (_EXAMPLE[0] + 1, length), dtype=np.int64)
    feed = {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
        "token_type_ids": np.zeros_like(ids),
    }
    feed = {n: feed[n] for n in names}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, feed)
    with torch.no_grad():
        want = [t.numpy() for t in wrapper(**{n: torch.from_numpy(v) for n, v in feed.items()})]
    diff = max(float(np.abs(g - w).max()) for g, w in zip(got, want, strict=True))
    if not all(np.allclose(g, w, rtol=1e-3, atol=1e-3) for g, w in zip(got, want, strict=True)):
        raise OvrunError(
            f"the ONNX export disagrees with the torch model (max abs difference {diff:.3g})",
            hint="this architecture does not export faithfully with this torch version; "
            "export it yourself and use an onnx: source",
        )
    return diff


def _check(path: Path) -> None:
    import onnx

    try:
        onnx.checker.check_model(str(path))
    except onnx.checker.ValidationError as exc:
        raise OvrunError(
            f"the exported ONNX model does not validate: {str(exc).splitlines()[0]}",
            hint="this model's architecture may not export to ONNX with this torch version",
        ) from exc
