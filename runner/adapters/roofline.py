"""Distance to the limit: a benchmark cell's achieved GFLOP/s against this host's measured roofs.

``roofline_fields`` is the one call the benchmark op makes. It counts the FLOPs and bytes of
one inference of the reshaped model (`adapters/flops.py`, memoized per IR and shape), reads
the precision the compiled model's compute layers ran at, and holds the cell against the
peak measured on this host for that precision (`adapters/peak.py`, memoized per device
fingerprint): compute-bound when the cell's arithmetic intensity is past the ridge point
(peak GFLOP/s ÷ bandwidth), memory-bound below it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from runner.adapters import flops as flop_counter
from runner.adapters.peak import host_peak, runtime_precision
from runner.core.atomic import write_text_atomic
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

# What the README's "Benchmark method" and the roofline chart read (branch `charts`).
FIELDS = (
    "flops_per_inference",
    "bytes_per_inference",
    "intensity",
    "gflops",
    "peak_gflops",
    "peak_precision",
    "peak_share",
    "bandwidth_gbps",
    "bound",
)


def roofline_fields(
    ctx: TaskContext, compiled: Any, model: Any, throughput: float
) -> dict[str, Any]:
    """The roofline figures of one cell; ``throughput`` in samples/s, ``model`` reshaped to
    the benchmark's static shape (one inference processes ``batch`` samples)."""
    try:
        counted = _count(ctx, model)
    except OvrunError as exc:
        # a shape left dynamic after the reshape (a stateful LM's KV cache grows per
        # inference): no count rather than a guessed one, and the cell keeps its figures
        ctx.log(f"roofline: {exc}")
        return dict.fromkeys(FIELDS)
    batch = int(ctx.params.get("batch") or 1)
    gflops = counted["flops"] * throughput / batch / 1e9
    precision = runtime_precision(compiled) or _hint_precision(compiled)
    peak = _peak(ctx, compiled)
    return figures(counted, gflops, precision, peak)


def figures(
    counted: dict[str, Any], gflops: float, precision: str, peak: dict[str, Any] | None
) -> dict[str, Any]:
    """The row's fields from a FLOP count, the achieved GFLOP/s and the host's peak (None:
    not measured, so no share and no class rather than one from elsewhere)."""
    intensity = counted["intensity"]
    peak_gflops = (peak or {}).get("gflops", {}).get(precision)
    bandwidth = (peak or {}).get("bandwidth_gbps")
    bound = None
    if peak_gflops and bandwidth and intensity is not None:
        ridge = peak_gflops / bandwidth  # flop/byte where the two roofs meet
        bound = "compute" if intensity >= ridge else "memory"
    return {
        "flops_per_inference": counted["flops"],
        "bytes_per_inference": counted["bytes"],
        "intensity": intensity,
        "gflops": gflops,
        "peak_gflops": peak_gflops,
        "peak_precision": precision,
        "peak_share": gflops / peak_gflops if peak_gflops else None,
        "bandwidth_gbps": bandwidth,
        "bound": bound,
    }


def _hint_precision(compiled: Any) -> str:
    try:
        value = compiled.get_property("INFERENCE_PRECISION_HINT")
    except RuntimeError:
        return "f32"
    return value.to_string() if hasattr(value, "to_string") else str(value)


def _peak(ctx: TaskContext, compiled: Any) -> dict[str, Any] | None:
    """The peak of the one device the cell executed on (AUTO:CPU runs on CPU); None without
    a cache (no memo to keep it in) or when it ran on several devices."""
    if ctx.cache_root is None:
        return None
    try:
        executed = [str(d) for d in compiled.get_property("EXECUTION_DEVICES")]
    except RuntimeError:
        executed = [ctx.device or "CPU"]
    if len(executed) != 1:
        return None
    return host_peak(ctx.cache_root, executed[0])


def _count(ctx: TaskContext, model: Any) -> dict[str, Any]:
    """The FLOP count of the IR at this shape, memoized beside the cache's other memos under
    the IR entry's key (entries are immutable, so key + shape + counting format decide it)."""
    memo = _memo_path(ctx, model)
    if memo is not None:
        try:
            found = json.loads(memo.read_text(encoding="utf-8"))
            if found.get("format") == flop_counter.FORMAT:
                return found
        except (OSError, ValueError):
            pass
    counted = flop_counter.count(model)
    if memo is not None:
        memo.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(memo, json.dumps(counted, sort_keys=True))
    return counted


def _memo_path(ctx: TaskContext, model: Any) -> Path | None:
    upstream = ctx.inputs.get("model")
    if ctx.cache_root is None or upstream is None:
        return None
    ir_key = Path(upstream).parent.name  # objects/<k[:2]>/<key>/out
    shapes = {port.get_any_name(): str(port.get_partial_shape()) for port in model.inputs}
    text = json.dumps({"ir": ir_key, "shapes": shapes, "format": flop_counter.FORMAT})
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return ctx.cache_root / "memo" / "flops" / f"{digest}.json"
