"""Op ``weight_statistics``: collect NNCF's weight-compression activation statistics once per
(model, dataset, subset_size) and publish them as a cache entry.

Every data-aware ``compress_weights`` task on the same model and dataset then passes the
entry to NNCF as ``AdvancedCompressionParameters(statistics_path=...)`` and skips its own
collection pass. NNCF collects the superset it may need (mixed precision, AWQ, scale
estimation, LoRA correction) in ``cache_weight_compression_statistics``, so one entry
serves every such variant.
"""

from __future__ import annotations

from runner.adapters.ir import read_ir
from runner.plan.context import TaskContext

STATS_DIR = "statistics"


def run(ctx: TaskContext) -> dict:
    import nncf
    from nncf.common.factory import build_graph
    from nncf.quantization.statistics_caching import cache_weight_compression_statistics

    from runner.adapters.dataset import load_samples
    from runner.adapters.feeds import make_feed

    model = read_ir(ctx.model_dir("model"))
    samples = load_samples(ctx.inputs["dataset"])
    inputs = list(model.inputs)
    dataset = nncf.Dataset(samples, lambda sample: make_feed(inputs, sample))
    subset_size = int(ctx.params.get("subset_size", 128))
    target = ctx.out / STATS_DIR
    ctx.log(f"weight_statistics: collecting on {min(subset_size, len(samples))} items")
    graph = build_graph(model)
    cache_weight_compression_statistics(model, graph, dataset, subset_size, target)
    files = sorted(p for p in target.rglob("*") if p.is_file())
    return {
        "items": min(subset_size, len(samples)),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
    }
