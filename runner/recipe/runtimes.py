"""`targets.runtimes`: which inference runtimes are benchmarked, and the ONNX Runtime cells.

ONNX Runtime cells measure the reference variant's model (the uncompressed one) with
ONNX Runtime's CPU execution provider, one per hint × batch × seq_len, so the table shows
OpenVINO's gain over the runtime most users would otherwise pick. Their rows are a
pseudo-variant ``<reference>@onnxruntime`` (task ``bench:fp32@onnxruntime:CPU:LATENCY``):
variant names cannot hold ``@``, so it never collides with a real variant, and every
table, chart, ``assert:`` name and ``--only`` glob that handles variants handles it.

Checked when the recipe loads (exit 2 at the line): onnxruntime installed, a model source
that has or can give an ONNX graph, an uncompressed variant to measure. Imports nothing
heavy: installation is checked with ``importlib.util.find_spec``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING, Any

from runner.core.errors import OvrunError

if TYPE_CHECKING:
    from runner.recipe.spec import Recipe

ORT = "onnxruntime"
OPENVINO = "openvino"
EXTRA = "pip install 'ovrun[onnxruntime]'"
# ONNX Runtime's CPU execution provider is what these cells measure; other devices' cells
# are planned and reported as skipped, like an absent device's
ORT_DEVICE = "CPU"
NOT_CPU = "onnxruntime cells run on CPU only (ONNX Runtime's CPU execution provider)"
# sources an ONNX graph comes from: the file itself, or an export of the HF model
ONNX_EXPORTABLE = ("hf", "path", "package")
_RUNTIMES = ("targets", "runtimes")


@dataclass(frozen=True)
class OrtCell:
    device: str
    hint: str
    batch: int
    seq_len: int
    id: str  # "CPU:LATENCY", plus b8 / l64 segments when the recipe lists several shapes

    def labels(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "hint": self.hint,
            "cell": self.id,
            "batch": self.batch,
            "seq_len": self.seq_len,
            "runtime": ORT,
        }


def uses_ort(recipe: Recipe) -> bool:
    return ORT in recipe.targets.runtimes


def uses_openvino(recipe: Recipe) -> bool:
    return OPENVINO in recipe.targets.runtimes


def ort_variant(recipe: Recipe) -> str:
    """The variant the ONNX Runtime cells stand beside: the evaluate reference when it is
    uncompressed, else the first uncompressed variant (checked to exist at load time)."""
    plain = [
        name for name, v in recipe.variants.items() if v.compression is None and v.search is None
    ]
    ev = recipe.evaluate
    if ev is not None and ev.reference in plain:
        return ev.reference
    return plain[0]


def ort_label(recipe: Recipe) -> str:
    return f"{ort_variant(recipe)}@{ORT}"


def ort_cells(recipe: Recipe) -> list[OrtCell]:
    """One cell per device × hint × batch × seq_len. OpenVINO-only dimensions (precision,
    streams, threads) do not apply: ONNX Runtime runs f32 with its default threads."""
    b = recipe.benchmark
    varying = {"batch": len(b.batches) > 1, "seq_len": len(b.seq_lens) > 1}
    out = []
    for device, hint, batch, seq_len in product(
        recipe.targets.devices, recipe.targets.hints, b.batches, b.seq_lens
    ):
        parts = [device, hint]
        if varying["batch"]:
            parts.append(f"b{batch}")
        if varying["seq_len"]:
            parts.append(f"l{seq_len}")
        out.append(OrtCell(device, hint, batch, seq_len, ":".join(parts)))
    return out


def check_runtimes(recipe: Recipe) -> None:
    """Load-time checks of an onnxruntime request; the first problem is exit 2 at its line."""
    if not uses_ort(recipe):
        return
    where = recipe.location(*_RUNTIMES, recipe.targets.runtimes.index(ORT))
    source = recipe.model.source.kind
    if recipe.model.task == "text-generation":
        raise OvrunError(
            "onnxruntime cells are not supported for text-generation models",
            hint="remove onnxruntime from targets.runtimes (LLM cells run openvino-genai)",
            location=where,
        )
    if source != "onnx" and source not in ONNX_EXPORTABLE:
        raise OvrunError(
            f"onnxruntime cells need an ONNX graph; {_article(source)} {source}: source has none",
            hint="use an onnx:, hf:, path: or package: model source, "
            "or remove onnxruntime from targets.runtimes",
            location=where,
        )
    if not any(v.compression is None and v.search is None for v in recipe.variants.values()):
        raise OvrunError(
            "onnxruntime cells measure the uncompressed model, and no variant is uncompressed",
            hint="add a reference variant without compression, e.g. `fp32: {}`",
            location=where,
        )
    missing = [m for m in _needed_modules(source) if importlib.util.find_spec(m) is None]
    if missing:
        raise OvrunError(
            f"targets.runtimes lists onnxruntime but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed",
            hint=f"install the onnxruntime extra: {EXTRA}",
            location=where,
        )


def _needed_modules(source_kind: str) -> list[str]:
    # an HF model is exported with torch.onnx's dynamo exporter, which needs onnxscript
    return [ORT] if source_kind == "onnx" else [ORT, "onnxscript"]


def _article(word: str) -> str:
    return "an" if word[:1] in "aeio" else "a"
