"""The op table: what each task kind runs, its implementation version and the libraries
whose versions go into its cache key. Importing this module imports no heavy library."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Op:
    """One operation: its adapter, its version and what its cache key covers."""

    name: str
    target: str  # "module:function" of the adapter, imported only when the op runs
    version: int  # bump when the implementation changes what it produces
    libs: tuple[str, ...]  # distributions whose versions key the result
    device_dependent: bool = False  # device goes into the key (compile, benchmark)
    # the output is a measurement of the host: the device's hardware fingerprint goes into
    # the key, so another machine re-measures instead of taking these figures
    measures: bool = False
    # the output depends on the arithmetic the device picks by default (bf16 on an AMX CPU,
    # f32 on an AVX2 one): the device's precision capabilities go into the key
    precision_dependent: bool = False
    exclusive: bool = False  # never runs beside another exclusive task on one host
    # heavy modules the adapter imports when it runs: Dask workers import them as they start,
    # while the client still plans, instead of inside the first task of each worker
    imports: tuple[str, ...] = ()

    def load(self) -> Callable[[Any], dict]:
        module, _, func = self.target.partition(":")
        return getattr(importlib.import_module(module), func)


_MODEL_LIBS = ("openvino", "optimum-intel", "optimum", "transformers", "torch")
_NNCF_IMPORTS = ("openvino", "nncf")

OPS: dict[str, Op] = {
    op.name: op
    for op in (
        Op(
            "export",
            "runner.adapters.export:run",
            3,  # 3: IR node names independent of the process that saved them (stable_ir)
            (*_MODEL_LIBS, "openvino-tokenizers"),
            # and what main_export imports lazily on its way (quantization config, the
            # TorchScript decoder, the tokenizer converter); missing ones are skipped
            imports=(
                "openvino",
                "optimum.exporters.openvino",
                "optimum.intel.openvino.quantization",
                "openvino.frontend.pytorch.ts_decoder",
                "openvino_tokenizers",
                "openvino_tokenizers.hf_parser",
            ),
        ),
        # dataset 2: formats, padding/batch layout file; dataset 3: streamed readers, shuffle
        # by reservoir sampling (a different sample than 2's full shuffle); quantize 2: fp8,
        # SmoothQuant, accuracy control, effective summary; compress_weights 2: all modes,
        # data-aware, statistics reuse
        # quantize / compress_weights 3: stable IR node names, no cache path in rt_info
        Op(
            "dataset",
            "runner.adapters.dataset:run",
            3,
            ("transformers", "tokenizers", "numpy", "pyarrow"),
            imports=("transformers.models.auto.tokenization_auto",),
        ),
        Op(
            "quantize",
            "runner.adapters.quantize:run",
            3,
            ("openvino", "nncf", "numpy"),
            imports=_NNCF_IMPORTS,
        ),
        # qat: NNCF's quantized torch model, self-distilled, exported by optimum-intel
        Op(
            "qat",
            "runner.adapters.qat:run",
            1,
            ("openvino", "nncf", "numpy", "torch", "transformers", "optimum-intel", "optimum"),
            imports=(*_NNCF_IMPORTS, "torch", "transformers", "optimum.exporters.openvino"),
        ),
        Op(
            "compress_weights",
            "runner.adapters.compress_weights:run",
            3,
            ("openvino", "nncf", "numpy"),
            imports=_NNCF_IMPORTS,
        ),
        Op(
            "weight_statistics",
            "runner.adapters.weight_statistics:run",
            1,
            ("openvino", "nncf", "numpy"),
            imports=_NNCF_IMPORTS,
        ),
        Op(
            "benchmark",
            "runner.adapters.benchmark:run",
            2,  # 2: repeats, sync loop for LATENCY, cached-compile times, host fingerprint
            ("openvino", "numpy"),
            device_dependent=True,
            measures=True,
            exclusive=True,
            imports=("openvino",),
        ),
        Op(
            "generate",
            "runner.adapters.generate:run",
            2,  # 2: benchmark.repeats, median repeat, spread
            ("openvino", "openvino-genai", "openvino-tokenizers", "numpy"),
            device_dependent=True,
            measures=True,
            exclusive=True,
            imports=("openvino", "openvino_genai", "openvino_tokenizers"),
        ),
        # ONNX Runtime cells (targets.runtimes): the HF model exported to ONNX once, and a
        # cell measured like the benchmark op (runner.adapters.ort_benchmark)
        Op(
            "onnx_export",
            "runner.adapters.onnx_export:run",
            1,
            ("torch", "transformers", "onnx", "onnxscript"),
            imports=("torch", "transformers"),
        ),
        Op(
            "ort_benchmark",
            "runner.adapters.ort_benchmark:run",
            1,
            ("onnxruntime", "numpy"),
            device_dependent=True,
            measures=True,
            exclusive=True,
            imports=("onnxruntime",),
        ),
        Op(
            "evaluate",
            "runner.adapters.evaluate:run",
            2,  # 2: also under the deployed precision, worst-case figures
            ("openvino", "numpy"),
            precision_dependent=True,
            imports=("openvino",),
        ),
        Op(
            "report", "runner.adapters.report:run", 4, ()
        ),  # 4: failed/blocked rows, gates name their precision
        Op(
            "deploy",
            "runner.adapters.deploy:run",
            # 2: stable names in a tokenizer IR converted at deploy time; 3: text-generation
            # as OVMS's LLM servable (graph.pbtxt + tokenizer IRs), KServe request samples
            3,
            ("openvino", "openvino-tokenizers", "optimum-intel", "transformers"),
        ),
    )
}

# Test/benchmark ops (runner.recipe.test_ops): never in OPS, so only a plan built from a
# `test_ops:` section, which needs OVRUN_TEST_OPS=1, can hold them. They do nothing (noop) or
# sleep, so a run of them measures the engine's own cost per task.
TEST_OPS: dict[str, Op] = {
    "noop": Op("noop", "runner.adapters.test_ops:noop", 1, ()),
    "sleep": Op("sleep", "runner.adapters.test_ops:sleep", 1, ()),
}
