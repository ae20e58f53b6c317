"""Scheduling pieces of the Dask executor that need no cluster: ready queue, priorities,
thread budget."""

from __future__ import annotations

from runner.cache.decision import Decision
from runner.executor.priority import priorities
from runner.executor.ready import ReadyQueue
from runner.executor.task import Outcome
from runner.executor.threads import budget_for, slots_per_host
from runner.plan.ops import OPS
from runner.plan.tasks import Plan, Task


def _plan() -> Plan:
    tasks = [
        Task("export", OPS["export"], {}),
        Task("data", OPS["dataset"], {}, deps={"model": "export"}),
        Task("bench:fp32", OPS["benchmark"], {}, deps={"model": "export"}),
        Task("w8", OPS["compress_weights"], {}, deps={"model": "export"}),
        Task("int8", OPS["quantize"], {}, deps={"model": "export", "dataset": "data"}),
        Task("bench:int8", OPS["benchmark"], {}, deps={"model": "int8"}),
        Task("bench:w8", OPS["benchmark"], {}, deps={"model": "w8"}),
    ]
    return Plan(recipe=None, tasks={t.id: t for t in tasks})


def _queue(plan: Plan, decisions: dict[str, Decision] | None = None):
    seen: list[tuple[str, str]] = []
    decisions = decisions or {tid: Decision("run", "") for tid in plan.tasks}
    queue = ReadyQueue(plan, decisions, priorities(plan), lambda t, o: seen.append((t.id, o.state)))
    return queue, seen


def _drain(queue: ReadyQueue) -> list[str]:
    ready = []
    while (task := queue.pop()) is not None:
        ready.append(task.id)
    return ready


def test_ready_tasks_come_critical_path_first():
    plan = _plan()
    queue, _ = _queue(plan)
    assert _drain(queue) == ["export"]
    queue.record(plan.tasks["export"], Outcome("export", "ran"))
    # data heads the longest chain (data -> int8 -> bench:int8); a benchmark ends its chain
    assert _drain(queue) == ["data", "w8", "bench:fp32"]


def test_cached_tasks_settle_and_failures_block_dependents():
    plan = _plan()
    decisions = {tid: Decision("run", "") for tid in plan.tasks}
    decisions["export"] = Decision("cached", "")
    queue, seen = _queue(plan, decisions)
    assert ("export", "cached") in seen
    assert set(_drain(queue)) == {"bench:fp32", "data", "w8"}
    queue.record(plan.tasks["w8"], Outcome("w8", "failed", "boom"))
    assert ("bench:w8", "blocked") in seen
    queue.stop()
    queue.record(plan.tasks["data"], Outcome("data", "ran"))
    assert queue.outcomes["int8"].state == "blocked" and queue.pop() is None


def test_thread_budget_splits_a_hosts_cores_between_its_worker_threads():
    workers = {
        "tcp://a:1": {"host": "a", "nthreads": 1},
        "tcp://a:2": {"host": "a", "nthreads": 1},
        "tcp://b:1": {"host": "b", "nthreads": 1},
    }
    assert slots_per_host(workers) == {"a": 2, "b": 1}
    assert budget_for(2, 2) == 1
    assert budget_for(8, 3) == 2
    assert budget_for(8, 1) is None  # alone on its host: library defaults
