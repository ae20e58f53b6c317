"""One OpenVINO benchmark cell behind the `MeasuredCell` protocol (benchmark_app's method).

``prepare`` reads the IR, reshapes every token input to the static ``[batch, seq_len]``
shape, compiles cold with ``{"PERFORMANCE_HINT": hint, **properties}`` (timed), times the
cached compile, one first inference and runs ``warmup`` untimed ones. ``round`` is one timed
loop: LATENCY one request and blocking ``infer()``; other hints an ``AsyncInferQueue`` sized
by ``OPTIMAL_NUMBER_OF_INFER_REQUESTS`` (the round's wall time includes the queue drain);
stateful causal LMs the prefill (``reset_state()`` before every inference)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from runner.adapters.bench_cells import Round
from runner.adapters.feeds import make_feed, random_tensors, synthetic_sample
from runner.adapters.ov_compile import (
    DEFAULT_VOCAB,
    cached_compile_times,
    compile_model,
    execution_devices,
    first_inference_ms,
    optimal_nireq,
    read_config,
    reshape,
    resolved_properties,
    size_of,
    static_shapes,
    takes_tokens,
)


class OpenVINOCell:
    def __init__(
        self,
        task_id: str,
        core: Any,
        model_dir: Path,
        target: str,
        config: dict[str, Any],
        params: dict[str, Any],
        log=lambda message: None,
    ):
        self.task_id = task_id
        self._core, self._dir, self._target, self._config = core, model_dir, target, config
        self._batch, self._seq_len = int(params["batch"]), int(params["seq_len"])
        self._warmup, self._seed = int(params["warmup"]), int(params["seed"])
        self._iterations = int(params["iterations"]) if params.get("iterations") else None
        self._log = log
        self._compiled: Any = None
        self._model: Any = None  # reshaped to the static shape: what the roofline counts
        self._request: Any = None
        self._queue: Any = None
        self.mode = ""

    def prepare(self) -> dict[str, Any]:
        import openvino as ov

        xml = self._dir / "openvino_model.xml"
        config_json = read_config(self._dir)
        model = self._core.read_model(xml)
        stateful = len(model.get_sinks()) > 0
        shapes = static_shapes(model, self._batch, self._seq_len)
        reshape(model, shapes)
        self._model = model
        self._log(f"{self.task_id}: compiling for {self._target} with {self._config}")
        start = time.perf_counter()
        self._compiled = compile_model(self._core, model, self._target, self._config)
        compile_s = time.perf_counter() - start
        cache_times = cached_compile_times(self._core, model, self._target, self._config)
        if takes_tokens(model):
            vocab = int(config_json.get("vocab_size") or DEFAULT_VOCAB)
            sample = synthetic_sample(self._batch, self._seq_len, vocab, self._seed)
            feed = make_feed(self._compiled.inputs, sample)
        else:  # float tensors (images, converted TF / TFLite / Paddle / ONNX models)
            feed = random_tensors(self._compiled.inputs, self._seed)
        if stateful:
            self.mode, nireq = "sync-prefill", 1
            first_ms = self._prepare_prefill(feed)
        elif self._config["PERFORMANCE_HINT"] == "LATENCY":
            # benchmark_app's default for -hint latency: one request, synchronous infer()
            self.mode, nireq = "sync", 1
            first_ms = self._prepare_sync(ov, feed)
        else:
            self.mode, nireq = "async", optimal_nireq(self._compiled)
            first_ms = self._prepare_async(ov, feed, nireq)
        return {
            "compiled_for": self._target,
            "execution_devices": execution_devices(self._compiled),
            "mode": self.mode,
            "stateful": stateful,
            "input_shapes": shapes,
            "compile_s": compile_s,
            **cache_times,
            "first_inference_ms": first_ms,
            "warmup": self._warmup,
            "nireq": nireq,
            "properties_requested": self._config,
            "resolved_properties": resolved_properties(self._compiled),
            "size_bytes": xml.stat().st_size + size_of(xml.with_suffix(".bin")),
        }

    def _prepare_sync(self, ov: Any, feed: dict[str, np.ndarray]) -> float:
        self._request = self._compiled.create_infer_request()
        for name, array in feed.items():
            self._request.set_tensor(name, ov.Tensor(array))
        first_ms = first_inference_ms(self._request, None)
        for _ in range(self._warmup):
            self._request.infer()
        return first_ms

    def _prepare_async(self, ov: Any, feed: dict[str, np.ndarray], nireq: int) -> float:
        first_ms = first_inference_ms(self._compiled.create_infer_request(), feed)
        self._queue = ov.AsyncInferQueue(self._compiled, nireq)
        for request in self._queue:
            for name, array in feed.items():
                request.set_tensor(name, ov.Tensor(array))
        # No Python callback: the queue's built-in one stamps each request's end time in C++
        # (``InferRequest.latency``). A Python callback would take the GIL on inference
        # threads, adding contention and risking a deadlock when the model is destroyed.
        for _ in range(self._warmup):
            self._queue.start_async()
        self._queue.wait_all()
        return first_ms

    def _prepare_prefill(self, feed: dict[str, np.ndarray]) -> float:
        self._feed = feed
        self._request = self._compiled.create_infer_request()
        self._request.reset_state()
        first_ms = first_inference_ms(self._request, feed)
        for _ in range(self._warmup):
            self._request.reset_state()
            self._request.infer(feed)
        return first_ms

    def _done(self, count: int, elapsed_s: float, seconds: float) -> bool:
        if self._iterations is not None:
            return count >= self._iterations
        return elapsed_s >= seconds

    def round(self, seconds: float) -> Round:
        if self.mode == "async":
            return self._round_async(seconds)
        if self.mode == "sync-prefill":
            return self._round_prefill(seconds)
        return self._round_sync(seconds)

    def _round_sync(self, seconds: float) -> Round:
        latencies: list[float] = []
        start = time.perf_counter()
        while True:
            self._request.infer()
            latencies.append(self._request.latency)  # OpenVINO's own clock
            if self._done(len(latencies), time.perf_counter() - start, seconds):
                break
        wall = time.perf_counter() - start
        return Round(len(latencies) * self._batch, wall, latencies)

    def _round_async(self, seconds: float) -> Round:
        queue = self._queue
        latencies: list[float] = []
        in_flight = [False] * len(queue)
        started = 0
        start = time.perf_counter()
        while True:
            # start_async reuses the request this returns (the head of the idle queue, and
            # only this thread takes from it), so its latency is read before the reuse.
            handle = queue.get_idle_request_id()
            if in_flight[handle]:
                latencies.append(queue[handle].latency)
            queue.start_async()
            in_flight[handle] = True
            started += 1
            if self._done(started, time.perf_counter() - start, seconds):
                break
        queue.wait_all()
        wall = time.perf_counter() - start
        latencies.extend(queue[h].latency for h, busy in enumerate(in_flight) if busy)
        return Round(len(latencies) * self._batch, wall, latencies)

    def _round_prefill(self, seconds: float) -> Round:
        latencies: list[float] = []
        start = time.perf_counter()
        while True:
            self._request.reset_state()  # every inference is a fresh prompt
            began = time.perf_counter()
            self._request.infer(self._feed)
            latencies.append((time.perf_counter() - began) * 1000.0)
            if self._done(len(latencies), time.perf_counter() - start, seconds):
                break
        wall = time.perf_counter() - start
        return Round(len(latencies) * self._batch, wall, latencies)

    def roofline(self, ctx: Any, throughput: float) -> dict[str, Any]:
        """The cell's roofline figures at ``throughput`` (samples/s); before ``close``."""
        from runner.adapters.roofline import roofline_fields

        return roofline_fields(ctx, self._compiled, self._model, throughput)

    def close(self) -> None:
        # the queue and requests go before the compiled model that owns them
        self._queue = None
        self._request = None
        self._compiled = None
        self._model = None
