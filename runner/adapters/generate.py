"""The ``generate`` op: a text-generation model benchmarked the way a generation pipeline
runs it, through ``openvino_genai.LLMPipeline`` on one device under one hint.

Method:

1. build the pipeline from the model dir with ``{"PERFORMANCE_HINT": hint, **properties}``
   (the load time is recorded apart);
2. the prompt set is fixed before timing: the token ids of a ``data:`` entry
   (``benchmark.prompts``) or one seeded random-token prompt of ``[batch, seq_len]``; token
   ids go in directly, so tokenization is never timed and every variant sees the same ids;
3. greedy decoding of exactly ``max_new_tokens`` (``ignore_eos``), ``warmup`` untimed
   generations, then ``repeats`` timed loops, each passing over the prompt set until
   ``duration_s`` has elapsed (at least one full pass);
4. the figures are openvino-genai's own ``PerfMetrics`` accumulated over the timed
   generations: TTFT (time to first token), TPOT (time per output token after the first)
   and throughput in generated tokens/s, plus the wall time of each ``generate`` call.
   Like the benchmark op, ``throughput`` is the median repeat's tokens/s and the repeats'
   min / max are the spread the report's noise verdicts use.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from runner.adapters.benchmark import latency_stats, peak_rss_mb, spread
from runner.adapters.devices import require_device
from runner.adapters.feeds import synthetic_sample
from runner.core.errors import OvrunError
from runner.host.cpu import fingerprint_without_openvino
from runner.host.devices import compile_name
from runner.plan.context import TaskContext

DEFAULTS: dict[str, Any] = {
    "hint": "LATENCY",
    "properties": {},
    "duration_s": 10.0,
    "warmup": 1,
    "batch": 1,
    "seq_len": 32,
    "seed": 0,
    "max_new_tokens": 32,
    "prompts": "synthetic",
    "repeats": 1,
}
_DEFAULT_VOCAB = 1000


def run(ctx: TaskContext) -> dict[str, Any]:
    import openvino as ov
    import openvino_genai as genai

    params = DEFAULTS | ctx.params
    device = ctx.device or "CPU"
    model_dir = ctx.model_dir("model")
    if not (model_dir / "openvino_model.xml").is_file():
        raise OvrunError(f"no OpenVINO IR in {model_dir}", hint="re-run the export")
    core = ov.Core()
    require_device(core, device)
    target = compile_name(device, list(core.available_devices))  # AUTO:GPU,CPU -> AUTO:CPU
    config = {"PERFORMANCE_HINT": params["hint"], **params["properties"]}

    prompts = _prompts(ctx, params, model_dir)
    ctx.log(f"loading LLMPipeline on {target} with {config}")
    started = time.perf_counter()
    try:
        pipe = genai.LLMPipeline(str(model_dir), target, **config)
    except RuntimeError as err:
        raise OvrunError(
            f"openvino-genai cannot load {model_dir.name} on {device}: {_last_line(err)}",
            hint="text-generation needs a stateful causal LM export and valid properties",
        ) from err
    load_s = time.perf_counter() - started

    gen = genai.GenerationConfig()
    gen.max_new_tokens = int(params["max_new_tokens"])
    gen.ignore_eos = True  # every generation produces exactly max_new_tokens
    gen.do_sample = False

    tensors = [ov.Tensor(np.ascontiguousarray(p)) for p in prompts]
    for i in range(int(params["warmup"])):
        pipe.generate(tensors[i % len(tensors)], gen)

    metrics, walls, generated, runs = None, [], [], []
    for _ in range(max(1, int(params["repeats"]))):
        run_metrics, run_walls = None, []
        deadline = time.perf_counter() + float(params["duration_s"])
        index = 0
        while index < len(tensors) or time.perf_counter() < deadline:
            began = time.perf_counter()
            result = pipe.generate(tensors[index % len(tensors)], gen)
            run_walls.append((time.perf_counter() - began) * 1000.0)
            m = result.perf_metrics
            generated.append(int(m.get_num_generated_tokens()))
            run_metrics = m if run_metrics is None else run_metrics + m
            index += 1
        assert run_metrics is not None  # the loop runs at least once per prompt
        runs.append(_summarize(run_metrics, run_walls))
        walls += run_walls
        metrics = run_metrics if metrics is None else metrics + run_metrics
    assert metrics is not None
    index = len(walls)

    ttft, tpot, tput = metrics.get_ttft(), metrics.get_tpot(), metrics.get_throughput()
    ctx.log(f"{index} generations: TTFT {ttft.mean:.2f} ms, TPOT {tpot.mean:.2f} ms")
    return {
        "mode": "generate",
        "device": device,
        "compiled_for": target,
        "host": fingerprint_without_openvino(),
        "hint": params["hint"],
        "batch": int(params["batch"]),
        "seq_len": int(params["seq_len"]),
        "prompts": params["prompts"],
        "prompt_count": len(prompts),
        "prompt_tokens_mean": float(np.mean([p.shape[1] for p in prompts])),
        "max_new_tokens": gen.max_new_tokens,
        "generated_tokens_mean": float(np.mean(generated)),
        "iterations": index,
        "warmup": int(params["warmup"]),
        "load_s": load_s,
        "ttft_ms": {"mean": float(ttft.mean), "std": float(ttft.std)},
        "tpot_ms": {"mean": float(tpot.mean), "std": float(tpot.std)},
        "tokens_per_s": {"mean": float(tput.mean), "std": float(tput.std)},
        # Shared names with the benchmark op, so the report can rank variants alike:
        # latency is one whole generate call, throughput is generated tokens per second.
        "latency_ms": latency_stats(walls),
        # the median repeat, so one lucky (or unlucky) loop cannot set the figure
        "throughput": float(np.median([r["throughput"] for r in runs])),
        "repeats": runs,
        "spread": spread(runs),
        "duration_s": float(sum(walls) / 1000.0),
        "size_bytes": _ir_size(model_dir),
        "peak_rss_mb": peak_rss_mb(),
    }


def _summarize(metrics: Any, walls: list[float]) -> dict[str, Any]:
    """One timed loop: tokens/s, TTFT and TPOT as openvino-genai measured them, and the
    wall time of each generate call."""
    stats = latency_stats(walls)
    return {
        "throughput": float(metrics.get_throughput().mean),
        "ttft_ms": float(metrics.get_ttft().mean),
        "tpot_ms": float(metrics.get_tpot().mean),
        "latency_ms": {k: stats[k] for k in ("median", "p90", "p99", "min", "max", "mean")},
        "iterations": len(walls),
    }


def _prompts(ctx: TaskContext, params: dict[str, Any], model_dir) -> list[np.ndarray]:
    batch, seq_len = int(params["batch"]), int(params["seq_len"])
    if params["prompts"] == "dataset":
        from runner.adapters.dataset import load_samples

        if batch != 1:
            raise OvrunError(
                "benchmark.prompts feeds one prompt per generation; batch must be 1",
                hint="leave benchmark.batch at 1 for text-generation with prompts",
            )
        samples = load_samples(ctx.inputs["dataset"])
        if not samples:
            raise OvrunError("the prompt dataset is empty", hint="give it non-empty lines")
        return [s["input_ids"].astype(np.int64) for s in samples]
    vocab = _vocab_size(model_dir)
    return [synthetic_sample(batch, seq_len, vocab, int(params["seed"]))["input_ids"]]


def _vocab_size(model_dir) -> int:
    import json

    path = model_dir / "config.json"
    if path.is_file():
        value = json.loads(path.read_text(encoding="utf-8")).get("vocab_size")
        if isinstance(value, int) and value > 0:
            return value
    return _DEFAULT_VOCAB


def _ir_size(model_dir) -> int:
    return sum(
        (model_dir / name).stat().st_size for name in ("openvino_model.xml", "openvino_model.bin")
    )


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
