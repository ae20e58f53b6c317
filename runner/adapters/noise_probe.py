"""One A/A run for the per-host noise floor (`runner/host/noise.py`), in its own process.

The floor is how much the *same* model's figures move between two separately started and
separately compiled runs on one host, which the repeats inside one run cannot show (thread
placement, memory layout and frequency state are decided per process). The model is fixed
and built here from OpenVINO's opset, BERT-shaped (embedding gather, attention, layer norm,
GELU feed-forward), so every host measures the same graph and no hub or file is needed.

`python -m runner.adapters.noise_probe SECONDS REPEATS` prints one JSON line: per hint,
throughput and median latency of each repeat, measured like the ``benchmark`` op
(LATENCY: one request and ``infer()``; THROUGHPUT: an ``AsyncInferQueue``).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

# Small enough to build and compile in well under a second, big enough that an inference
# is a few hundred microseconds of real MatMul work, not call overhead.
VOCAB, HIDDEN, HEADS, LAYERS, FFN = 1000, 128, 4, 2, 512
BATCH, SEQ_LEN = 1, 64
HINTS = ("LATENCY", "THROUGHPUT")


def tiny_bert(seed: int = 0) -> Any:
    """An ov.Model with BERT's structure and random weights (fixed seed: same graph everywhere)."""
    import openvino as ov
    import openvino.opset13 as op

    rng = np.random.default_rng(seed)

    def const(*shape: int) -> Any:
        return op.constant(rng.standard_normal(shape).astype(np.float32) * 0.05)

    ids = op.parameter([BATCH, SEQ_LEN], np.int64, name="input_ids")
    mask = op.parameter([BATCH, SEQ_LEN], np.int64, name="attention_mask")
    x = op.gather(const(VOCAB, HIDDEN), ids, op.constant(np.int64(0)))
    # additive mask [B, 1, 1, S]: 0 where attended, -1e4 elsewhere
    bias = op.multiply(
        op.subtract(op.constant(np.float32(1.0)), op.convert(mask, np.float32)),
        op.constant(np.float32(-1e4)),
    )
    bias = op.unsqueeze(bias, op.constant(np.array([1, 2], dtype=np.int64)))
    head = HIDDEN // HEADS
    split = op.constant(np.array([BATCH, SEQ_LEN, HEADS, head], dtype=np.int64))
    to_heads = op.constant(np.array([0, 2, 1, 3], dtype=np.int64))
    for _ in range(LAYERS):
        q, k, v = (
            op.transpose(
                op.reshape(op.matmul(x, const(HIDDEN, HIDDEN), False, False), split, False),
                to_heads,
            )
            for _ in range(3)
        )
        scores = op.matmul(q, k, False, True)
        scores = op.add(op.multiply(scores, op.constant(np.float32(head**-0.5))), bias)
        ctx = op.matmul(op.softmax(scores, -1), v, False, False)
        ctx = op.reshape(
            op.transpose(ctx, to_heads),
            op.constant(np.array([BATCH, SEQ_LEN, HIDDEN], dtype=np.int64)),
            False,
        )
        x = _norm(op, op.add(x, op.matmul(ctx, const(HIDDEN, HIDDEN), False, False)))
        ffn = op.gelu(op.matmul(x, const(HIDDEN, FFN), False, False), "erf")
        x = _norm(op, op.add(x, op.matmul(ffn, const(FFN, HIDDEN), False, False)))
    return ov.Model([x], [ids, mask], "ovrun_noise_probe")


def _norm(op: Any, x: Any) -> Any:
    return op.mvn(x, op.constant(np.array([-1], dtype=np.int64)), True, 1e-12, "inside_sqrt")


def measure(seconds: float, repeats: int) -> dict[str, Any]:
    """Compile the probe model once per hint in this process and time ``repeats`` loops."""
    import openvino as ov

    core = ov.Core()
    model = tiny_bert()
    rng = np.random.default_rng(0)
    feed = {
        "input_ids": rng.integers(0, VOCAB, (BATCH, SEQ_LEN), dtype=np.int64),
        "attention_mask": np.ones((BATCH, SEQ_LEN), dtype=np.int64),
    }
    out: dict[str, Any] = {}
    for hint in HINTS:
        compiled = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": hint})
        loop = _sync if hint == "LATENCY" else _async
        loop(ov, compiled, feed, 0.05)  # warm-up, untimed
        out[hint] = [loop(ov, compiled, feed, seconds) for _ in range(max(1, repeats))]
    return out


def _sync(ov: Any, compiled: Any, feed: dict[str, np.ndarray], seconds: float) -> dict:
    request = compiled.create_infer_request()
    for name, array in feed.items():  # set once, as the benchmark op does: inputs are not timed
        request.set_tensor(name, ov.Tensor(array))
    latencies: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        request.infer()
        latencies.append(request.latency)
    wall = time.perf_counter() - start
    return {
        "throughput": len(latencies) * BATCH / wall,
        "latency_median": float(np.median(latencies)),
    }


def _async(ov: Any, compiled: Any, feed: dict[str, np.ndarray], seconds: float) -> dict:
    """The benchmark op's async loop: no Python callback (one would take the GIL on inference
    threads and can deadlock when the compiled model is destroyed); each request's latency
    is read before the queue reuses it."""
    nireq = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    queue = ov.AsyncInferQueue(compiled, nireq)
    for request in queue:
        for name, array in feed.items():
            request.set_tensor(name, ov.Tensor(array))
    latencies: list[float] = []
    in_flight = [False] * len(queue)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        handle = queue.get_idle_request_id()
        if in_flight[handle]:
            latencies.append(queue[handle].latency)
        queue.start_async()
        in_flight[handle] = True
    queue.wait_all()
    wall = time.perf_counter() - start
    latencies.extend(queue[h].latency for h, busy in enumerate(in_flight) if busy)
    return {
        "throughput": len(latencies) * BATCH / wall,
        "latency_median": float(np.median(latencies)),
    }


def main(argv: list[str]) -> int:
    seconds, repeats = float(argv[0]), int(argv[1])
    print(json.dumps(measure(seconds, repeats)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
