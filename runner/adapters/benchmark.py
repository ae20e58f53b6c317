"""The ``benchmark`` op: latency and throughput of one IR on one device in one matrix cell.

The method follows ``benchmark_app`` so figures are comparable with it
(``benchmarks/fidelity.py`` checks that; the README's "Benchmark method" is the contract):

1. read the IR and reshape every token input to the static shape ``[batch, seq_len]``
   (like ``benchmark_app -shape``), so no dynamic-shape overhead is timed;
2. compile cold with ``{"PERFORMANCE_HINT": hint, **properties}`` and time it; compile twice
   more with a fresh ``CACHE_DIR`` to time the warm (cached) compile;
3. time one first inference (it includes lazy initialisation), run ``warmup`` untimed ones;
4. run ``repeats`` timed loops of ``duration_s`` seconds (or ``iterations`` inferences):
   LATENCY uses one request and blocking ``infer()`` (benchmark_app's default for
   ``-hint latency``); the other hints an ``AsyncInferQueue`` sized by the device's
   ``OPTIMAL_NUMBER_OF_INFER_REQUESTS``, throughput being completed samples over the loop's
   wall time including the queue drain. Latency is OpenVINO's ``InferRequest.latency``.
   Throughput is the median repeat; the repeats' min / max are the spread the report
   uses to call differences significant or within noise.

Stateful causal LMs (KV cache held in model state) cannot share one input across
pipelined requests without the cache growing, so for them the op measures the *prefill*:
a synchronous loop on a single request that calls ``reset_state()`` before each
inference (the reset is outside the per-inference latency, inside the wall time).

Input data is synthetic (random ids like ``benchmark_app``), built once and set on each
request before timing, so input preparation is never measured. A model none of whose inputs
is a token input (float tensors, images: converted TensorFlow / TFLite / Paddle / ONNX models)
runs at the IR's own static input shapes (``model.shapes``; a dynamic first dimension takes
``batch``) with seeded uniform [0, 1) values of each input's dtype.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runner.adapters.devices import require_device, settable_properties
from runner.adapters.feeds import make_feed, random_tensors, synthetic_sample
from runner.adapters.roofline import roofline_fields
from runner.core.errors import OvrunError
from runner.host.devices import compile_name
from runner.plan.context import TaskContext

# Inputs shaped [batch, seq_len]; beam_idx (stateful LMs) is shaped [batch].
_TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids")
_BATCH_INPUTS = ("beam_idx",)
# What the compiled model actually decided; read back so the result records the truth.
RESOLVED_PROPERTIES = (
    "PERFORMANCE_HINT",
    "NUM_STREAMS",
    "INFERENCE_NUM_THREADS",
    "INFERENCE_PRECISION_HINT",
    "OPTIMAL_NUMBER_OF_INFER_REQUESTS",
)
_DEFAULT_VOCAB = 1000

DEFAULTS: dict[str, Any] = {
    "hint": "LATENCY",
    "properties": {},
    "duration_s": 10.0,
    "iterations": None,
    "repeats": 1,
    "warmup": 10,
    "batch": 1,
    "seq_len": 128,
    "seed": 0,
    "task": "feature-extraction",
}


def run(ctx: TaskContext) -> dict[str, Any]:
    """Benchmark ``ctx.model_dir("model")`` on ``ctx.device``; return the summary dict."""
    import openvino as ov

    from runner.host.cpu import fingerprint_without_openvino

    params = DEFAULTS | ctx.params
    device = ctx.device or "CPU"
    batch, seq_len = int(params["batch"]), int(params["seq_len"])
    model_dir = ctx.model_dir("model")
    xml = model_dir / "openvino_model.xml"
    if not xml.is_file():
        raise OvrunError(f"no OpenVINO IR at {xml}", hint="the upstream task must write out/model/")
    config_json = _read_config(model_dir)
    _check_seq_len(seq_len, config_json)

    core = ov.Core()
    require_device(core, device)
    config = _compile_config(core, device, params["hint"], params["properties"])
    target = compile_name(device, list(core.available_devices))  # AUTO:GPU,CPU -> AUTO:CPU

    model = core.read_model(xml)
    stateful = len(model.get_sinks()) > 0
    shapes = _static_shapes(model, batch, seq_len)
    _reshape(model, shapes)

    ctx.log(f"compiling {xml.name} for {target} with {config}")
    start = time.perf_counter()
    compiled = _compile(core, model, target, config)
    compile_s = time.perf_counter() - start
    cache_times = _cached_compile_times(core, model, target, config)

    if _takes_tokens(model):
        vocab = int(config_json.get("vocab_size") or _DEFAULT_VOCAB)
        sample = synthetic_sample(batch, seq_len, vocab, int(params["seed"]))
        feed = make_feed(compiled.inputs, sample)
    else:
        feed = random_tensors(compiled.inputs, int(params["seed"]))
    loop = Loop(
        warmup=int(params["warmup"]),
        duration_s=float(params["duration_s"]),
        iterations=int(params["iterations"]) if params.get("iterations") else None,
        repeats=max(1, int(params["repeats"])),
    )

    if stateful:
        mode, timing = "sync-prefill", _measure_prefill(compiled, feed, loop)
    elif params["hint"] == "LATENCY":
        # benchmark_app's default for -hint latency: one request, synchronous infer()
        mode, timing = "sync", _measure_sync(ov, compiled, feed, loop)
    else:
        nireq = _optimal_nireq(compiled)
        mode, timing = "async", _measure_async(ov, compiled, feed, nireq, loop)

    runs = [_summarize(r, batch) for r in timing["runs"]]
    latencies = [lat for r in timing["runs"] for lat in r["latencies"]]
    wall_s = sum(r["wall_s"] for r in timing["runs"])
    ctx.log(
        f"{len(latencies)} inferences in {wall_s:.2f} s over {len(runs)} repeat(s) "
        f"on {timing['nireq']} request(s)"
    )
    result = {
        "device": device,
        # what ran: the name OpenVINO compiled for and the devices it executed on
        "compiled_for": target,
        "execution_devices": execution_devices(compiled),
        "hint": params["hint"],
        "batch": batch,
        "seq_len": seq_len,
        "mode": mode,
        "stateful": stateful,
        "input_shapes": shapes,
        "compile_s": compile_s,
        **cache_times,
        "first_inference_ms": timing["first_ms"],
        "warmup": loop.warmup,
        "latency_ms": latency_stats(latencies),
        # the median repeat, so one lucky (or unlucky) loop cannot set the figure
        "throughput": float(np.median([r["throughput"] for r in runs])),
        "iterations": len(latencies),
        "duration_s": wall_s,
        "repeats": runs,
        "spread": spread(runs),
        "nireq": timing["nireq"],
        "properties_requested": config,
        "resolved_properties": resolved_properties(compiled),
        "size_bytes": xml.stat().st_size + _size(xml.with_suffix(".bin")),
        "peak_rss_mb": peak_rss_mb(),
        "host": fingerprint_without_openvino(),
    }
    result.update(roofline_fields(ctx, compiled, model, result["throughput"]))
    return result


@dataclass(frozen=True)
class Loop:
    warmup: int
    duration_s: float
    iterations: int | None  # a fixed count per repeat instead of duration_s
    repeats: int

    def done(self, count: int, elapsed_s: float) -> bool:
        if self.iterations is not None:
            return count >= self.iterations
        return elapsed_s >= self.duration_s


def _summarize(run: dict[str, Any], batch: int) -> dict[str, Any]:
    stats = latency_stats(run["latencies"])
    return {
        "throughput": len(run["latencies"]) * batch / run["wall_s"],
        "latency_ms": {k: stats[k] for k in ("median", "p90", "p99", "min", "max", "mean")},
        "iterations": len(run["latencies"]),
        "duration_s": run["wall_s"],
    }


def spread(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Min, max and (max - min) / median over repeats of throughput and median latency."""
    series = {
        "throughput": [r["throughput"] for r in runs],
        "latency_median": [r["latency_ms"]["median"] for r in runs],
    }
    out = {}
    for name, values in series.items():
        mid = float(np.median(values))
        lo, hi = float(min(values)), float(max(values))
        out[name] = {"min": lo, "max": hi, "relative": (hi - lo) / mid if mid else 0.0}
    return out


def _cached_compile_times(core: Any, model: Any, device: str, config: dict) -> dict[str, Any]:
    """Compile twice with a fresh CACHE_DIR: the first writes the blob, the second is the
    warm start a deployment with a model cache sees. None where the device cannot cache."""
    import shutil
    import tempfile

    tmp = tempfile.mkdtemp(prefix="ovrun-cache-")
    try:
        cached = {**config, "CACHE_DIR": tmp}
        start = time.perf_counter()
        first = core.compile_model(model, device, cached)
        write_s = time.perf_counter() - start
        del first
        start = time.perf_counter()
        second = core.compile_model(model, device, cached)
        warm_s = time.perf_counter() - start
        del second
        blob = any(Path(tmp).rglob("*.blob"))
    except RuntimeError:
        return {"compile_cache_write_s": None, "compile_warm_s": None}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"compile_cache_write_s": write_s, "compile_warm_s": warm_s if blob else None}


def _read_config(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "config.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise OvrunError(f"{path}: invalid JSON ({exc.msg})", hint="re-run the export") from exc


def _check_seq_len(seq_len: int, config_json: dict[str, Any]) -> None:
    # Beyond the position table, BERT-like models index out of range and time garbage.
    limit = config_json.get("max_position_embeddings")
    if isinstance(limit, int) and seq_len > limit:
        raise OvrunError(
            f"benchmark seq_len {seq_len} exceeds the model's max_position_embeddings {limit}",
            hint=f"set benchmark.seq_len to at most {limit}",
        )


def _compile_config(core: Any, device: str, hint: str, properties: dict[str, Any]) -> dict:
    """``{"PERFORMANCE_HINT": hint, **properties}`` after checking every name on the device."""
    supported = settable_properties(core, device)
    writable = sorted(name for name, mode in supported.items() if mode != "RO")
    for name in properties:
        if supported.get(name) in (None, "RO"):
            problem = "is read-only" if name in supported else "is not supported"
            raise OvrunError(
                f"property {name} {problem} on device {device}",
                hint=f"settable {device} properties: {', '.join(writable)}",
            )
    extra_hint = properties.get("PERFORMANCE_HINT")
    if extra_hint is not None and str(extra_hint) != hint:
        raise OvrunError(
            f"PERFORMANCE_HINT {extra_hint} in properties contradicts hint {hint}",
            hint="choose hints with targets.hints, not targets.properties",
        )
    return {"PERFORMANCE_HINT": hint, **properties}


def _takes_tokens(model: Any) -> bool:
    return any(port.get_any_name() in _TOKEN_INPUTS + _BATCH_INPUTS for port in model.inputs)


def _tensor_shapes(model: Any, batch: int) -> dict[str, list[int]]:
    """A non-token model's own input shapes; only a dynamic first (batch) dim is filled."""
    shapes: dict[str, list[int]] = {}
    for port in model.inputs:
        name, dims = port.get_any_name(), port.get_partial_shape()
        if dims.rank.is_dynamic:
            shape = None
        else:
            shape = [
                batch
                if i == 0 and dim.is_dynamic
                else (dim.get_length() if dim.is_static else None)
                for i, dim in enumerate(dims)
            ]
        if shape is None or None in shape:
            raise OvrunError(
                f"model input {name} has the dynamic shape {dims}; the benchmark needs it static",
                hint=f"set model.shapes: {{{name}: [...]}} (every dimension, batch first)",
            )
        shapes[name] = shape
    return shapes


def _static_shapes(model: Any, batch: int, seq_len: int) -> dict[str, list[int]]:
    if not _takes_tokens(model):
        return _tensor_shapes(model, batch)
    shapes: dict[str, list[int]] = {}
    for port in model.inputs:
        name = port.get_any_name()  # the name make_feed keys on
        if name in _TOKEN_INPUTS:
            shapes[name] = [batch, seq_len]
        elif name in _BATCH_INPUTS:
            shapes[name] = [batch]
        else:
            # Caught here, before a compile that would be wasted.
            raise OvrunError(
                f"model input {name} is not a text input this benchmark can feed",
                hint=f"benchmark supports models whose inputs are among "
                f"{', '.join(_TOKEN_INPUTS + _BATCH_INPUTS)}; export a stateful model for LLMs",
            )
    return shapes


def _reshape(model: Any, shapes: dict[str, list[int]]) -> None:
    try:
        model.reshape(shapes)
    except RuntimeError as exc:
        raise OvrunError(
            f"cannot reshape the model to {shapes}: {_last_line(exc)}",
            hint="pick benchmark.batch / seq_len the model accepts",
        ) from exc


def _compile(core: Any, model: Any, device: str, config: dict[str, Any]) -> Any:
    try:
        return core.compile_model(model, device, config)
    except RuntimeError as exc:
        # OpenVINO's message is a stack of "Exception from file:line" frames: the cell
        # fails with its last line, never with the raw exception
        message = _last_line(exc)
        if any(name in str(exc) for name in config):
            raise OvrunError(
                f"compile on {device} rejected the config: {message}",
                hint="fix targets.properties",
            ) from exc
        raise OvrunError(
            f"compile on {device} failed: {message}",
            hint="check the device's driver and plugin (`ovrun plan` lists what this host has)",
        ) from exc


def _last_line(exc: BaseException) -> str:
    """OpenVINO errors nest 'Exception from file:line' frames; the last line says why."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _measure_sync(ov: Any, compiled: Any, feed: dict[str, np.ndarray], loop: Loop) -> dict:
    """One request, blocking ``infer()``: what benchmark_app does for ``-hint latency``."""
    request = compiled.create_infer_request()
    for name, array in feed.items():
        request.set_tensor(name, ov.Tensor(array))
    first_ms = _first_inference_ms(request, None)
    for _ in range(loop.warmup):
        request.infer()
    runs = []
    for _ in range(loop.repeats):
        latencies: list[float] = []
        start = time.perf_counter()
        while True:
            request.infer()
            latencies.append(request.latency)  # OpenVINO's own clock around the inference
            if loop.done(len(latencies), time.perf_counter() - start):
                break
        runs.append({"latencies": latencies, "wall_s": time.perf_counter() - start})
    return {"first_ms": first_ms, "runs": runs, "nireq": 1}


def _measure_async(
    ov: Any, compiled: Any, feed: dict[str, np.ndarray], nireq: int, loop: Loop
) -> dict[str, Any]:
    first_ms = _first_inference_ms(compiled.create_infer_request(), feed)

    queue = ov.AsyncInferQueue(compiled, nireq)
    for request in queue:
        for name, array in feed.items():
            request.set_tensor(name, ov.Tensor(array))

    # No Python callback: the queue's built-in one stamps each request's end time in C++
    # (``InferRequest.latency`` = start_async to completion). A Python callback would take
    # the GIL on inference threads, adding contention to the figures and risking a
    # deadlock when the compiled model is destroyed.
    for _ in range(loop.warmup):
        queue.start_async()
    queue.wait_all()

    runs = []
    for _ in range(loop.repeats):
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
            if loop.done(started, time.perf_counter() - start):
                break
        queue.wait_all()
        wall_s = time.perf_counter() - start
        latencies.extend(queue[h].latency for h, busy in enumerate(in_flight) if busy)
        runs.append({"latencies": latencies, "wall_s": wall_s})
    return {"first_ms": first_ms, "runs": runs, "nireq": nireq}


def _measure_prefill(compiled: Any, feed: dict[str, np.ndarray], loop: Loop) -> dict[str, Any]:
    request = compiled.create_infer_request()
    request.reset_state()
    first_ms = _first_inference_ms(request, feed)
    for _ in range(loop.warmup):
        request.reset_state()
        request.infer(feed)

    runs = []
    for _ in range(loop.repeats):
        latencies: list[float] = []
        start = time.perf_counter()
        while True:
            request.reset_state()  # every inference is a fresh prompt, not a continuation
            began = time.perf_counter()
            request.infer(feed)
            latencies.append((time.perf_counter() - began) * 1000.0)
            if loop.done(len(latencies), time.perf_counter() - start):
                break
        runs.append({"latencies": latencies, "wall_s": time.perf_counter() - start})
    return {"first_ms": first_ms, "runs": runs, "nireq": 1}


def _optimal_nireq(compiled: Any) -> int:
    try:
        return max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
    except RuntimeError:  # a plugin that does not report it: run one request at a time
        return 1


def _first_inference_ms(request: Any, feed: dict[str, np.ndarray] | None) -> float:
    began = time.perf_counter()
    request.infer(feed) if feed is not None else request.infer()
    return (time.perf_counter() - began) * 1000.0


def latency_stats(latencies_ms: list[float]) -> dict[str, float]:
    """Median, p90, p99, min, max and mean of per-inference latencies (ms)."""
    values = np.asarray(latencies_ms, dtype=np.float64)
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {
        "median": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean()),
    }


def resolved_properties(compiled: Any) -> dict[str, Any]:
    """The values the compiled model settled on, for those the device reports.

    A meta-device (AUTO, HETERO, MULTI) reports few of its own; what its one executing
    device settled on (streams, threads, precision) is read from DEVICE_PROPERTIES."""
    supported = compiled.get_property("SUPPORTED_PROPERTIES")
    member = _single_member_properties(compiled, supported)
    resolved: dict[str, Any] = {}
    for name in RESOLVED_PROPERTIES:
        if name in supported:
            resolved[name] = _jsonable(compiled.get_property(name))
        elif name in member:
            resolved[name] = _jsonable(member[name])
    return resolved


def _single_member_properties(compiled: Any, supported: Any) -> dict[str, Any]:
    if "DEVICE_PROPERTIES" not in supported:
        return {}
    try:
        members = dict(compiled.get_property("DEVICE_PROPERTIES"))
    except RuntimeError:
        return {}
    return dict(next(iter(members.values()))) if len(members) == 1 else {}


def execution_devices(compiled: Any) -> list[str] | None:
    """The devices the compiled model runs on (AUTO:GPU,CPU may settle on CPU)."""
    try:
        return [str(d) for d in compiled.get_property("EXECUTION_DEVICES")]
    except RuntimeError:
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "to_string"):  # ov.Type: "bf16" rather than "<Type: 'bfloat16'>"
        return value.to_string()
    return str(value)


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (includes everything before the op)."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024
