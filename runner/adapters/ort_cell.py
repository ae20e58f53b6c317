"""One ONNX Runtime benchmark cell, measured the way the OpenVINO cell is (README "Benchmark
method", ONNX Runtime cells).

It implements the ``MeasuredCell`` shape of ``runner.adapters.bench_cells`` (``prepare`` /
``round`` / ``close``), so interleaved rounds can drive it beside OpenVINO cells; until they
do, ``runner.adapters.ort_benchmark`` drives it for one cell.

* **Static shapes**: every symbolic dimension of the token inputs is fixed to
  ``[batch, seq_len]`` with ``add_free_dimension_override_by_name`` before the session is
  created (ONNX Runtime's counterpart of OpenVINO's ``reshape``), so no dynamic-shape
  overhead is timed.
* **Inputs**: the same synthetic sample as the OpenVINO cells (``feeds.synthetic_sample``
  with the vocabulary from the exported ``config.json`` and the recipe's seed), built once.
* **LATENCY**: one session with ONNX Runtime's defaults (CPU execution provider, all graph
  optimizations, intra-op threads = physical cores) and a blocking ``run()`` loop, like
  OpenVINO's one request with a blocking ``infer()``.
* **THROUGHPUT / CUMULATIVE_THROUGHPUT**: ONNX Runtime has no throughput hint or streams;
  the closest equivalent is what OpenVINO's CPU plugin does with streams: several
  inferences in flight on one model, each on its own core. So one session with
  ``intra_op_num_threads=1`` runs ``run()`` concurrently from N Python threads (ONNX Runtime
  releases the GIL inside ``run``; concurrent ``run`` on one session is supported), N = the
  CPUs this process may use. Latency is each ``run()``'s own wall time.

``samples`` in a round is inferences × batch, as in the OpenVINO cell.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runner.adapters.feeds import make_feed, synthetic_sample
from runner.core.errors import OvrunError
from runner.recipe.runtimes import EXTRA

try:  # the interleaved-rounds module (branch verdict) defines the shared Round
    from runner.adapters.bench_cells import Round
except ImportError:  # pragma: no cover - until it lands

    @dataclass(frozen=True)
    class Round:  # type: ignore[no-redef]
        """One timed round of one cell."""

        samples: int  # inputs completed: inferences × batch
        wall_s: float
        latencies_ms: list[float] = field(default_factory=list)  # one per inference

        @property
        def throughput(self) -> float:
            return self.samples / self.wall_s if self.wall_s > 0 else 0.0


_TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids")
_PROVIDER = "CPUExecutionProvider"
# ONNX element type -> numpy dtype, for the inputs ovrun fills (token ids and masks)
_DTYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(float)": np.float32}


def import_ort() -> Any:
    """onnxruntime, or exit 2 naming the extra that installs it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise OvrunError(
            "onnxruntime is not installed (targets.runtimes lists onnxruntime)",
            hint=f"install the onnxruntime extra: {EXTRA}",
        ) from exc
    return onnxruntime


class _Port:
    """An ONNX Runtime input seen through the two calls ``feeds.make_feed`` makes on a port."""

    def __init__(self, arg: Any) -> None:
        self._arg = arg

    def get_any_name(self) -> str:
        return self._arg.name

    def get_element_type(self) -> _Port:
        return self

    def to_dtype(self) -> np.dtype:
        dtype = _DTYPES.get(self._arg.type)
        if dtype is None:
            raise TypeError(self._arg.type)
        return np.dtype(dtype)


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class OrtCell:
    task_id: str
    onnx: Path
    hint: str
    batch: int
    seq_len: int
    vocab: int
    seed: int
    warmup: int
    iterations: int | None = None  # a fixed count per round instead of a duration
    _session: Any = None
    _feed: dict[str, np.ndarray] = field(default_factory=dict)
    _workers: int = 1

    def prepare(self) -> dict[str, Any]:
        ort = import_ort()
        throughput = self.hint != "LATENCY"
        self._workers = cpu_count() if throughput else 1
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: its warnings would reach the console
        if throughput:
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
        for name in _symbolic_dims(self.onnx, self.batch, self.seq_len):
            options.add_free_dimension_override_by_name(*name)
        start = time.perf_counter()
        try:
            self._session = ort.InferenceSession(str(self.onnx), options, providers=[_PROVIDER])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise OvrunError(
                f"onnxruntime cannot load {self.onnx.name}: {_last_line(exc)}",
                hint="check the ONNX file (python -m onnx.checker) or remove onnxruntime "
                "from targets.runtimes",
            ) from exc
        session_s = time.perf_counter() - start
        inputs = self._session.get_inputs()
        for arg in inputs:
            if arg.name not in _TOKEN_INPUTS:
                raise OvrunError(
                    f"model input {arg.name} is not a text input this benchmark can feed",
                    hint=f"onnxruntime cells feed {', '.join(_TOKEN_INPUTS)}",
                )
        sample = synthetic_sample(self.batch, self.seq_len, self.vocab, self.seed)
        self._feed = make_feed([_Port(arg) for arg in inputs], sample)
        began = time.perf_counter()
        self._run()
        first_ms = (time.perf_counter() - began) * 1000.0
        for _ in range(self.warmup):
            self._run()
        return {
            "compile_s": session_s,  # session creation: load, optimize, allocate
            "compile_cache_write_s": None,  # ONNX Runtime has no compiled-model cache here
            "compile_warm_s": None,
            "first_inference_ms": first_ms,
            "mode": "parallel" if throughput else "sync",
            "nireq": self._workers,
            "input_shapes": {k: list(v.shape) for k, v in self._feed.items()},
            "runtime_settings": {
                "execution_provider": _PROVIDER,
                "intra_op_num_threads": 1 if throughput else "default",
                "concurrent_runs": self._workers,
                "graph_optimization_level": str(options.graph_optimization_level),
            },
        }

    def round(self, seconds: float) -> Round:
        if self._workers == 1:
            start = time.perf_counter()
            latencies = self._loop(start + seconds, None)
            wall = time.perf_counter() - start
        else:
            counter = iter(range(self.iterations)) if self.iterations else None
            per_thread: list[list[float]] = [[] for _ in range(self._workers)]
            start = time.perf_counter()
            deadline = start + seconds

            def work(out: list[float]) -> None:
                out.extend(self._loop(deadline, counter))

            threads = [threading.Thread(target=work, args=(out,)) for out in per_thread]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - start
            latencies = [lat for out in per_thread for lat in out]
        return Round(len(latencies) * self.batch, wall, latencies)

    def close(self) -> None:
        self._session = None

    def _run(self) -> None:
        self._session.run(None, self._feed)

    def _loop(self, deadline: float, counter: Any) -> list[float]:
        """Blocking runs until the deadline, or until ``iterations`` (shared by the threads
        through ``counter``; next() on a range iterator is atomic under the GIL)."""
        latencies: list[float] = []
        run = self._session.run
        feed = self._feed
        while True:
            if counter is not None and next(counter, None) is None:
                break
            began = time.perf_counter()
            run(None, feed)
            now = time.perf_counter()
            latencies.append((now - began) * 1000.0)
            if counter is None and self.iterations is not None:
                if len(latencies) >= self.iterations:
                    break
            elif counter is None and now >= deadline:
                break
        return latencies


def _symbolic_dims(onnx_path: Path, batch: int, seq_len: int) -> list[tuple[str, int]]:
    """(dimension name, value) for each named dynamic dimension of the token inputs: axis 0
    is the batch, axis 1 the sequence. Read without loading the weights."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    names: dict[str, int] = {}
    initializers = {i.name for i in model.graph.initializer}
    for value in model.graph.input:
        if value.name in initializers or value.name not in _TOKEN_INPUTS:
            continue
        dims = value.type.tensor_type.shape.dim
        for axis, dim in enumerate(dims[:2]):
            want = batch if axis == 0 else seq_len
            if dim.dim_value and dim.dim_value != want:  # a fixed dimension: caught here,
                # not as an ONNX Runtime shape error in the first run
                fixed = [d.dim_value or d.dim_param for d in dims]
                raise OvrunError(
                    f"{onnx_path.name}: input {value.name} has the fixed shape {fixed}, "
                    f"the cell feeds [{batch}, {seq_len}]",
                    hint="set benchmark.batch / seq_len to the model's shape, or export it "
                    "with dynamic batch and sequence dimensions",
                )
            if dim.dim_param and names.setdefault(dim.dim_param, want) != want:
                raise OvrunError(
                    f"{onnx_path.name}: dimension {dim.dim_param} is both batch and sequence",
                    hint="export the model with distinct batch and sequence dimensions",
                )
    return sorted(names.items())


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
