"""The typed recipe: what `runner.recipe.resolve` builds from a validated document, with
defaults filled and references and paths resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.core.errors import Location

if TYPE_CHECKING:  # annotations only: a recipe without assert: never loads the assert parser
    from runner.recipe.asserts import Assertion
    from runner.recipe.data import DatasetSpec
    from runner.recipe.deploy import DeploySpec
    from runner.recipe.load import RecipeDoc
    from runner.recipe.model_sources import Source
    from runner.recipe.test_ops import TestOpsSpec

TASK_METRIC = {
    "feature-extraction": "cosine",
    "text-generation": "top1_agreement",
    "text-classification": "top1_agreement",
    "fill-mask": "top1_agreement",
    "token-classification": "top1_agreement",
    "question-answering": "span_agreement",
}


@dataclass(frozen=True)
class ModelSpec:
    """The model: section, its source resolved."""

    source: Source
    task: str
    weight_format: str
    trust_remote_code: bool = False
    shapes: dict[str, list[int]] = field(default_factory=dict)  # static input shapes


@dataclass(frozen=True)
class VariantSpec:
    """One variant: how it is derived from the exported model."""

    name: str
    description: str
    quantize: dict[str, Any] | None = None
    compress_weights: dict[str, Any] | None = None
    search: dict[str, Any] | None = None  # candidate values + constraints (runner.plan.search)
    qat: dict[str, Any] | None = None  # quantization-aware training (runner.adapters.qat)

    @property
    def compression(self) -> tuple[str, dict[str, Any]] | None:
        if self.quantize is not None:
            return "quantize", self.quantize
        if self.qat is not None:
            return "qat", self.qat
        if self.compress_weights is not None:
            return "compress_weights", self.compress_weights
        return None


@dataclass(frozen=True)
class Targets:
    """The targets: section: devices, hints and the matrix dimensions."""

    devices: list[str]
    hints: list[str]
    properties: dict[str, Any]
    # Matrix dimensions; [None] means "not set: the device decides" (runner.recipe.matrix expands them).
    precisions: list[str | None] = field(default_factory=lambda: [None])
    streams: list[int | str | None] = field(default_factory=lambda: [None])
    threads: list[int | None] = field(default_factory=lambda: [None])
    # inference runtimes benchmarked (runner.recipe.runtimes): openvino, onnxruntime
    runtimes: list[str] = field(default_factory=lambda: ["openvino"])


@dataclass(frozen=True)
class BenchmarkSpec:
    """The benchmark: section with its defaults filled."""

    duration_s: float
    warmup: int
    batch: int  # the first of batches
    seq_len: int  # the first of seq_lens
    seed: int
    batches: list[int] = field(default_factory=lambda: [1])
    seq_lens: list[int] = field(default_factory=lambda: [128])
    repeats: int = 1
    iterations: int | None = None
    max_new_tokens: int = 32  # text-generation (openvino-genai) cells
    prompts: str | None = None  # text-generation: data: entry of the prompt set


@dataclass(frozen=True)
class EvaluateSpec:
    """The evaluate: section: metric, dataset, reference and gate."""

    dataset: str
    reference: str
    metric: str
    max_drop: float | None
    device: str
    properties: dict[str, Any]
    # which accuracy evaluate.max_drop gates: "deployed" (the precision the variant runs at
    # in its benchmark cells and deploy) or "compression" (under properties: f32, compression alone)
    gate: str = "deployed"


@dataclass
class Recipe:
    """A validated recipe, typed, with the document it came from for positions."""

    name: str
    description: str
    file: Path
    doc: RecipeDoc
    model: ModelSpec
    data: dict[str, DatasetSpec]
    variants: dict[str, VariantSpec]
    targets: Targets
    benchmark: BenchmarkSpec
    evaluate: EvaluateSpec | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    asserts: list[Assertion] = field(default_factory=list)  # checked after a run
    deploy: DeploySpec | None = None  # when the recipe has deploy:
    test_ops: TestOpsSpec | None = None  # the test-only section (OVRUN_TEST_OPS=1)

    def location(self, *path: Any, key: bool = False) -> Location:
        return self.doc.location(tuple(path), key=key)
