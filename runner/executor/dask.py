"""Dask distributed executor: the plan's tasks become Dask tasks with their dependencies.

Routing: device-dependent tasks require the Dask resource ``device.<NAME>``; each worker
advertises the OpenVINO devices it has (a worker plugin probes ``ov.Core().available_devices``
at start, or `dask worker --resources "device.GPU=1"` says so by hand). Benchmarks also take a
host-wide lock in the task runner, so two cells never share a machine. Workers read and
publish through the same cache root (a shared filesystem path), and publishing stays atomic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from runner.cache import Cache
from runner.executor.local import NullProgress, settle
from runner.executor.task_runner import Outcome, execute_task
from runner.keying import Decision
from runner.plan import Plan, Task

DEVICE_RESOURCE = "device."


class AdvertiseDevices(WorkerPlugin):
    """Worker plugin: turn the OpenVINO devices this worker sees into Dask resources."""

    name = "ovrun-advertise-devices"

    def setup(self, worker):
        import openvino as ov

        found = {f"{DEVICE_RESOURCE}{d.split('.')[0]}": 1 for d in ov.Core().available_devices}
        missing = {k: v for k, v in found.items() if k not in worker.state.total_resources}
        if missing:
            return worker.set_resources(**{**worker.state.total_resources, **missing})
        return None


def device_requirements(device: str | None) -> dict[str, int]:
    """Dask resources a device task needs: every physical device the string names."""
    if not device:
        return {}
    names = device.partition(":")[2].split(",") if ":" in device else [device]
    names = [n.strip().split(".")[0] for n in names if n.strip() and n.strip() != "AUTO"]
    return {f"{DEVICE_RESOURCE}{n}": 1 for n in names}


def _remote_task(
    cache_root: str,
    task: Task,
    dep_keys: dict[str, str],
    forced: bool,
    log_dir: str,
    *upstream: Outcome,
) -> Outcome:
    from distributed import get_worker

    for outcome in upstream:
        if outcome.state in ("failed", "blocked"):
            return Outcome(task.id, "blocked", f"upstream {outcome.task_id} failed")
    outcome = execute_task(
        Cache(Path(cache_root)), task, dep_keys, forced=forced, log_dir=Path(log_dir)
    )
    outcome.worker = get_worker().address
    return outcome


class DaskExecutor:
    def __init__(
        self,
        cache: Cache,
        log_dir: Path,
        progress=None,
        keep_going: bool = False,
        scheduler: str | None = None,
        workers: int | None = None,
        retries: int = 2,
    ):
        self.cache = cache
        self.log_dir = log_dir
        self.progress = progress or NullProgress()
        self.keep_going = keep_going
        self.scheduler = scheduler
        self.workers = workers
        self.retries = retries
        self.client = None
        self._cluster = None

    # -- cluster lifecycle ---------------------------------------------------------
    def __enter__(self) -> DaskExecutor:
        import dask
        from distributed import Client, LocalCluster

        dask.config.set({"distributed.scheduler.allowed-failures": max(3, self.retries + 1)})
        if self.scheduler:
            self.client = Client(self.scheduler, timeout="30s")
        else:
            self._cluster = LocalCluster(
                n_workers=self.workers or 2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            self.client = Client(self._cluster)
        self.client.register_plugin(AdvertiseDevices(), name=AdvertiseDevices.name)
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def available_devices(self) -> list[str]:
        """Devices some worker of the cluster advertises."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        names = {
            name[len(DEVICE_RESOURCE) :]
            for w in workers
            for name, amount in (w.get("resources") or {}).items()
            if name.startswith(DEVICE_RESOURCE) and amount > 0
        }
        return sorted(names)

    def worker_devices(self) -> dict[str, list[str]]:
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        return {
            addr: sorted(
                n[len(DEVICE_RESOURCE) :]
                for n in (w.get("resources") or {})
                if n.startswith(DEVICE_RESOURCE)
            )
            for addr, w in workers.items()
        }

    # -- running -----------------------------------------------------------------
    def run(self, plan: Plan, decisions: dict[str, Decision]) -> dict[str, Outcome]:
        from distributed import as_completed

        outcomes: dict[str, Outcome] = {}
        futures: dict[str, Any] = {}
        by_future: dict[str, str] = {}
        for task in plan.order():
            decision = decisions[task.id]
            settled = settle(task, decision, outcomes, stop=False)
            if settled is not None:
                outcomes[task.id] = settled
                self.progress.finish(task, settled)
                continue
            upstream = [futures[d] for d in task.deps.values() if d in futures]
            future = self.client.submit(
                _remote_task,
                str(self.cache.root),
                task,
                {role: plan.tasks[dep].key for role, dep in task.deps.items()},
                decision.reason == "forced",
                str(self.log_dir),
                *upstream,
                key=f"ovrun-{task.id}-{task.key[:16]}",
                resources=device_requirements(task.device) or None,
                retries=self.retries,
                pure=False,
            )
            futures[task.id] = future
            by_future[future.key] = task.id
        try:
            for future in as_completed(list(futures.values())):
                task = plan.tasks[by_future[future.key]]
                try:
                    outcome = future.result()
                except Exception as exc:  # the worker died more often than retries allow
                    outcome = Outcome(
                        task.id, "failed", f"{type(exc).__name__}: {exc}", exit_code=1
                    )
                outcomes[task.id] = outcome
                self.progress.finish(task, outcome)
                if outcome.state == "failed" and not self.keep_going:
                    self._cancel_rest(plan, futures, outcomes)
                    break
        except KeyboardInterrupt:
            self.client.cancel(list(futures.values()))
            raise
        return {t.id: outcomes[t.id] for t in plan.order() if t.id in outcomes}

    def _cancel_rest(
        self, plan: Plan, futures: dict[str, Any], outcomes: dict[str, Outcome]
    ) -> None:
        pending = [tid for tid in futures if tid not in outcomes]
        self.client.cancel([futures[tid] for tid in pending])
        for tid in pending:
            outcome = Outcome(tid, "blocked", "run stopped after a failure (use --keep-going)")
            outcomes[tid] = outcome
            self.progress.finish(plan.tasks[tid], outcome)
