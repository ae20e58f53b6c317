"""The device's measured peak, with OpenVINO itself: the roofs a benchmark cell is held against.

* compute: one large MatMul (a FullyConnected layer, as in a transformer) at f32, at bf16 /
  f16 where OPTIMIZATION_CAPABILITIES lists them, and at int8 through FakeQuantize on both
  inputs, which the CPU plugin runs as an int8 kernel (checked on the runtime model: a peak
  whose layer did not run at the intended precision is not recorded). The better of the
  THROUGHPUT hint with all its requests in flight and the fastest single LATENCY inference:
  the best this device does on dense math at that precision, as little lowered as can be by
  other work on the host while it measures.
* memory bandwidth: one large elementwise Multiply (f32, several times the last-level cache),
  counted as its input read plus its output written (write-allocate traffic not counted, so
  the figure is, if anything, low), through OpenVINO and through numpy on one thread (the
  stated fallback); the higher is the roof.

Measured in a child process (`python -m runner.adapters.peak CACHE_ROOT DEVICE`), so the
benchmark process's peak RSS and thread pools do not carry the measurement; once per device
fingerprint (`runner.host.peak` memo). Figures measured while other work runs on the host
are low; the memo records when and how it measured."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from runner.core.errors import OvrunError
from runner.host import peak as memo
from runner.host.fingerprint import device_fingerprint

# (matrix side, bandwidth elements, seconds per figure) per size
_SIZES: dict[str, tuple[int, int, float]] = {
    "full": (1024, 1 << 25, 1.0),  # 2.1 GFLOP per MatMul; 256 MB moved per Multiply
    "tiny": (64, 1 << 14, 0.02),
}
# precision name -> the OPTIMIZATION_CAPABILITIES entry that says the device runs it
_FLOAT_PRECISIONS = (("f32", "FP32"), ("bf16", "BF16"), ("f16", "FP16"))
_COMPUTE_LAYERS = ("FullyConnected", "MatMul", "Convolution", "GroupConvolution")
_INT8_RUNTIME = ("u8", "i8")


def measure(device: str = "CPU", size: str = "full") -> dict[str, Any]:
    """``{"gflops": {precision: GFLOP/s}, "bandwidth_gbps": GB/s, ...}`` for ``device``."""
    import openvino as ov

    side, elements, seconds = _SIZES[size]
    core = ov.Core()
    capabilities = {str(c) for c in core.get_property(device, "OPTIMIZATION_CAPABILITIES")}
    gflops: dict[str, float] = {}
    skipped: dict[str, str] = {}
    for precision, capability in _FLOAT_PRECISIONS:
        if capability not in capabilities and precision != "f32":
            continue  # the device does not run this precision: no roof to draw
        model = _matmul_model(side, quantized=False)
        config = {"INFERENCE_PRECISION_HINT": precision}
        _record(core, model, device, config, precision, side, seconds, gflops, skipped)
    if "INT8" in capabilities:
        model = _matmul_model(side, quantized=True)
        _record(core, model, device, {}, "int8", side, seconds, gflops, skipped)
    return {
        "device": device,
        "gflops": gflops,
        "skipped": skipped,
        **_bandwidth(core, device, elements, seconds),
        "matmul_side": side,
        "bandwidth_bytes": 2 * 4 * elements,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "size": size,
    }


def _record(
    core: Any,
    model: Any,
    device: str,
    config: dict[str, Any],
    precision: str,
    side: int,
    seconds: float,
    gflops: dict[str, float],
    skipped: dict[str, str],
) -> None:
    """The better of two ways to keep the device busy, each given half of ``seconds``: all
    requests of the THROUGHPUT hint in flight (their mean rate), and one LATENCY request
    (its fastest inference, so a burst of other work on the host does not lower the roof)."""
    rates = []
    for hint in ("THROUGHPUT", "LATENCY"):
        try:
            compiled = core.compile_model(model, device, {**config, "PERFORMANCE_HINT": hint})
        except RuntimeError as exc:
            skipped[precision] = f"compile failed: {str(exc).strip().splitlines()[-1]}"
            return
        ran = runtime_precision(compiled)
        if ran is not None and ran != precision:
            skipped[precision] = f"the MatMul ran at {ran}, not {precision}"
            return
        measure_rate = _queue_rate if hint == "THROUGHPUT" else _best_single_rate
        rates.append(measure_rate(compiled, seconds / 2))
    gflops[precision] = 2.0 * side**3 * max(rates) / 1e9


def runtime_precision(compiled: Any) -> str | None:
    """The precision the compiled model's compute layers (MatMul / FullyConnected /
    Convolution) ran at, by majority of their activation inputs' types: ``int8``, ``bf16``, ``f16`` or ``f32``; None when the
    runtime model does not say (a device whose runtime graph has no such layers)."""
    votes: dict[str, int] = {}
    try:
        nodes = compiled.get_runtime_model().get_ordered_ops()
    except RuntimeError:
        return None
    for node in nodes:
        info = node.get_rt_info()
        if "layerType" not in info:
            continue
        if info["layerType"].astype(str) not in _COMPUTE_LAYERS or node.get_input_size() == 0:
            continue
        # the activations' type is the arithmetic's: runtimePrecision follows the weights,
        # which an int8 / f16 weight-compressed layer decompresses to f32 / bf16 to compute
        ran = node.input(0).get_element_type().to_string()
        name = "int8" if ran in _INT8_RUNTIME else ran
        votes[name] = votes.get(name, 0) + 1
    return max(sorted(votes), key=votes.__getitem__) if votes else None


def _matmul_model(side: int, quantized: bool) -> Any:
    """x[side, side] · Wᵀ: a FullyConnected layer; with FakeQuantize on x and W for int8."""
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    x = ops.parameter([side, side], ov.Type.f32, name="x")
    w = ops.constant((rng.random((side, side), dtype=np.float32) - 0.5).astype(np.float32))
    left, right = x.output(0), w.output(0)
    if quantized:
        left = _fake_quantize(ops, np, left, 1.0, 256)
        right = _fake_quantize(ops, np, right, 0.5, 255)
    product = ops.matmul(left, right, transpose_a=False, transpose_b=True)
    return ov.Model([product.output(0)], [x], "peak_matmul")


def _fake_quantize(ops: Any, np: Any, node: Any, bound: float, levels: int) -> Any:
    lo, hi = ops.constant(np.float32(-bound)), ops.constant(np.float32(bound))
    return ops.fake_quantize(node, lo, hi, lo, hi, levels).output(0)


def _input(compiled: Any) -> Any:
    import numpy as np
    import openvino as ov

    port = compiled.inputs[0]
    data = np.random.default_rng(1).random(list(port.shape), dtype=np.float32) - 0.5
    return port, ov.Tensor(data)


def _queue_rate(compiled: Any, seconds: float) -> float:
    """Inferences per second with every request of the THROUGHPUT hint in flight."""
    import openvino as ov

    nireq = max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
    queue = ov.AsyncInferQueue(compiled, nireq)
    port, tensor = _input(compiled)
    for request in queue:
        request.set_tensor(port, tensor)
    for _ in range(nireq):  # warm-up: lazy initialisation is not the peak
        queue.start_async()
    queue.wait_all()
    done, start = 0, time.perf_counter()
    while done < nireq or time.perf_counter() - start < seconds:
        queue.start_async()
        done += 1
    queue.wait_all()
    return done / (time.perf_counter() - start)


def _best_single_rate(compiled: Any, seconds: float) -> float:
    """1 / the fastest of a single request's inferences (at least three)."""
    request = compiled.create_infer_request()
    port, tensor = _input(compiled)
    request.set_tensor(port, tensor)
    request.infer()  # warm-up
    best, count, start = float("inf"), 0, time.perf_counter()
    while count < 3 or time.perf_counter() - start < seconds:
        began = time.perf_counter()
        request.infer()
        best = min(best, time.perf_counter() - began)
        count += 1
    return 1.0 / best


def _bandwidth(core: Any, device: str, elements: int, seconds: float) -> dict[str, float]:
    """The memory roof: the higher of OpenVINO's and numpy's (one thread) streaming rate.

    A roof is an upper bound: OpenVINO's elementwise kernel may copy its input or output
    once more than counted (measured well below numpy's single thread on a 2-core VM), so
    the higher of the two is the figure closer to what the memory can do."""
    openvino = _openvino_gbps(core, device, elements, seconds)
    numpy = _numpy_gbps(elements, seconds)
    return {
        "bandwidth_gbps": max(openvino, numpy),
        "bandwidth_openvino_gbps": openvino,
        "bandwidth_numpy_gbps": numpy,
    }


def _numpy_gbps(elements: int, seconds: float) -> float:
    import numpy as np

    x = np.ones(elements, dtype=np.float32)
    y = np.zeros_like(x)
    np.multiply(x, 1.5, out=y)
    done, start = 0, time.perf_counter()
    while True:
        np.multiply(x, 1.5, out=y)
        done += 1
        if done >= 3 and time.perf_counter() - start >= seconds:
            break
    return 2 * 4 * elements * done / (time.perf_counter() - start) / 1e9


def _openvino_gbps(core: Any, device: str, elements: int, seconds: float) -> float:
    """GB/s of ``y = 1.5 * x`` over ``elements`` f32 values: read x, write y."""
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops

    x = ops.parameter([elements], ov.Type.f32, name="x")
    y = ops.multiply(x, ops.constant(np.float32(1.5)))
    model = ov.Model([y.output(0)], [x], "peak_bandwidth")
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    compiled = core.compile_model(model, device, config)
    request = compiled.create_infer_request()
    request.set_tensor(compiled.inputs[0], ov.Tensor(np.ones(elements, dtype=np.float32)))
    # the output in a tensor of ours, touched once: otherwise each pass may page-fault a
    # fresh buffer and the figure measures the kernel's page allocator, not the memory
    request.set_tensor(compiled.outputs[0], ov.Tensor(np.zeros(elements, dtype=np.float32)))
    request.infer()
    done, start = 0, time.perf_counter()
    while True:  # at least three passes: one slow pass must not set the figure
        request.infer()
        done += 1
        if done >= 3 and time.perf_counter() - start >= seconds:
            break
    return 2 * 4 * elements * done / (time.perf_counter() - start) / 1e9


def host_peak(
    cache_root: Path, device: str, size: str | None = None, in_child: bool | None = None
) -> dict[str, Any] | None:
    """This host's peak for ``device``: the memo for its fingerprint, else measured once in a
    child process and memoized. None when the device has no fingerprint (not probed) or the
    measurement failed (the cell then shows no share rather than a wrong one).

    The tiny (test) size measures in this process unless ``in_child``: its few-KB tensors
    do not move the caller's peak RSS, and the suite's many fresh caches then do not each
    pay a child's openvino import."""
    from runner.adapters.devices import probe_memoized

    chosen = size or memo.size()
    fingerprint = device_fingerprint(device, probe_memoized(cache_root))
    if fingerprint is None:
        return None
    found = memo.memoized(cache_root, fingerprint, chosen)
    if found is not None:
        return found
    if in_child if in_child is not None else chosen == "full":
        _measure_in_child(cache_root, device, chosen)
        return memo.memoized(cache_root, fingerprint, chosen)
    found = measure(device, chosen)
    memo.remember(cache_root, fingerprint, chosen, found)
    return found


def _measure_in_child(cache_root: Path, device: str, size: str) -> None:
    import subprocess

    command = [sys.executable, "-m", "runner.adapters.peak", str(cache_root), device, size]
    try:
        subprocess.run(
            command, check=True, capture_output=True, timeout=300, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return  # no memo: the cell records no peak


def measure_and_remember(cache_root: Path, device: str, size: str) -> dict[str, Any]:
    from runner.adapters.devices import probe_memoized

    fingerprint = device_fingerprint(device, probe_memoized(cache_root))
    if fingerprint is None:
        raise OvrunError(f"device {device} is not present on this host")
    found = measure(device, size)
    memo.remember(cache_root, fingerprint, size, found)
    return found


if __name__ == "__main__":  # python -m runner.adapters.peak CACHE_ROOT [DEVICE [SIZE]]
    args = sys.argv[1:]
    result = measure_and_remember(
        Path(args[0]), args[1] if len(args) > 1 else "CPU", args[2] if len(args) > 2 else "full"
    )
    print(json.dumps(result, indent=1))
