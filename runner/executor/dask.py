"""Dask distributed executor: the plan's tasks become Dask tasks with their dependencies.

Routing: device-dependent tasks require the Dask resource ``device.<NAME>``; each worker
advertises the OpenVINO devices it has (a worker plugin probes ``ov.Core().available_devices``
at start, or `dask worker --resources "device.GPU=1"` says so by hand). Measuring tasks
(benchmarks) also require ``machine.<TAG>``, the tag of the hardware fingerprint their key
holds: each worker advertises the tags of its devices' fingerprints, so a figure is measured
on the hardware it is keyed and reported on, never on another worker's. Benchmarks have their
host to themselves (:mod:`.host_lock`): nothing else runs on that machine while they measure. Workers read and
publish through the same cache root (a shared filesystem path), and publishing stays atomic.

Speed: workers import the plan's heavy libraries as the run starts (:mod:`.warmup`), tasks
that are not exclusive share the cores of their host (:mod:`.threads`), and the task the most
work waits on starts first (:mod:`.priority`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any

from distributed.diagnostics.plugin import WorkerPlugin

from runner.cache.store import Cache
from runner.core import testhooks
from runner.executor import warmup
from runner.executor.base import STOPPED, Outcome, RunOptions, pruned
from runner.executor.completions import Completions
from runner.executor.interrupts import DeferredInterrupt
from runner.executor.lookahead import Lookahead
from runner.executor.priority import priorities
from runner.executor.ready import ReadyQueue
from runner.executor.task import execute_task
from runner.executor.threads import budget_for, host_cores, slots_per_host, thread_budget
from runner.host.devices import present_members
from runner.host.fingerprint import device_fingerprint, machine_tag, member_tags
from runner.recipe.devices import base, parse

if TYPE_CHECKING:
    from runner.cache.decision import Decision
    from runner.plan.tasks import Plan, Task

DEVICE_RESOURCE = "device."
MACHINE_RESOURCE = "machine."
STARTED_TOPIC = "ovrun-task-started"  # worker -> client event: a task began on a worker
CAPACITY_REFRESH_S = 1.0  # how stale the count of worker threads may be


class AdvertiseDevices(WorkerPlugin):
    """Worker plugin: turn the OpenVINO devices this worker sees into Dask resources."""

    name = "ovrun-advertise-devices"

    def setup(self, worker):
        from runner.adapters.devices import device_names

        found = {f"{DEVICE_RESOURCE}{name}": 1 for name in device_names()}
        probe = worker_probe(worker.name)
        for name in device_names():
            fingerprint = device_fingerprint(name, probe)
            if fingerprint is not None:
                found[f"{MACHINE_RESOURCE}{machine_tag(fingerprint)}"] = 1
        missing = {k: v for k, v in found.items() if k not in worker.state.total_resources}
        if missing:
            return worker.set_resources(**{**worker.state.total_resources, **missing})
        return None


def worker_probe(name: Any) -> dict[str, Any]:
    """This worker's device probe (runs on the worker)."""
    from runner.adapters.devices import probe

    return testhooks.simulated_machine(str(name), probe())


def _probe_on_worker(dask_worker) -> dict[str, Any]:
    return worker_probe(dask_worker.name)


def worker_machines(probes: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Address -> device -> hardware tag: which worker has the hardware a cell is keyed on."""
    found: dict[str, dict[str, str]] = {}
    for address, probe in probes.items():
        names = sorted({d.split(".")[0] for d in probe.get("available_devices") or []})
        prints = {name: device_fingerprint(name, probe) for name in names}
        found[address] = {n: machine_tag(f) for n, f in prints.items() if f is not None}
    return found


def machine_requirements(task: Task) -> dict[str, int]:
    """A measuring task runs only where the hardware its key holds is."""
    machine = (task.preimage or {}).get("machine") if task.op.measures else None
    if not isinstance(machine, dict):
        return {}
    return {f"{MACHINE_RESOURCE}{tag}": 1 for tag in member_tags(machine)}


def device_requirements(device: str | None, available: list[str] | None = None) -> dict[str, int]:
    """Dask resources a device task needs: every physical device it will use.

    ``AUTO:GPU,CPU`` compiles on its members the cluster has (`compile_name`), so only those
    are required: asking for an absent GPU would leave the task waiting for a worker forever."""
    if not device:
        return {}
    name = parse(device)
    if name.meta is None:
        names = [device]
    elif name.meta == "AUTO" and available is not None:
        names = present_members(device, available) if name.members else []
    else:
        names = list(name.members)
    return {f"{DEVICE_RESOURCE}{base(n)}": 1 for n in names}


def _remote_task(
    cache_root: str,
    task: Task,
    dep_keys: dict[str, str],
    forced: bool,
    log_dir: str,
    slots: dict[str, int],
    stream_output: bool = False,
) -> Outcome:
    """Runs on a worker; the client submits a task only after its upstream tasks succeeded."""
    from distributed import get_worker

    worker = get_worker()
    warmup.wait()
    worker.log_event(STARTED_TOPIC, {"key": worker.get_current_task()})
    # exclusive tasks (benchmarks) have the host to themselves: they keep every core; an op
    # keyed on no library (the test ops) starts no thread pool, and limiting pools costs a
    # scan of the process's loaded libraries (threadpoolctl) per task
    threads = (
        None
        if task.op.exclusive or not task.op.libs
        else budget_for(host_cores(), slots.get(worker.ip, worker.state.nthreads))
    )
    with thread_budget(threads):
        outcome = execute_task(
            Cache(Path(cache_root)),
            task,
            dep_keys,
            forced=forced,
            log_dir=Path(log_dir),
            stream_output=stream_output,
        )
    outcome.worker = worker.address
    return outcome


class DaskExecutor:
    def __init__(
        self,
        cache: Cache,
        scheduler: str | None = None,
        workers: int | None = None,
        retries: int = 2,
    ):
        self.cache = cache
        self.options = RunOptions(Path("."))  # the current run's, set by run()
        self.scheduler = scheduler
        self.workers = workers
        self.retries = retries
        self.client = None
        self._cluster = None
        self._devices: list[str] | None = None  # what the cluster's workers advertise
        self._completions: Completions | None = None  # the current run's finished futures
        self._capacity = (0.0, 0)  # (when asked, worker threads)
        self._lookahead = Lookahead()  # the current run's task durations per op
        self.interrupt = DeferredInterrupt()

    # -- cluster lifecycle ---------------------------------------------------------
    def __enter__(self) -> DaskExecutor:
        import dask
        from distributed import Client, LocalCluster

        dask.config.set({"distributed.scheduler.allowed-failures": max(3, self.retries + 1)})
        self.interrupt.ignore()
        try:
            if self.scheduler:
                self.client = Client(self.scheduler, timeout="30s")
            else:
                self._cluster = LocalCluster(
                    n_workers=self.workers or 2,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # workers' own log (a cancelled task, a slow event loop, a heartbeat that
                    # finds the scheduler gone while the cluster shuts down after a Ctrl-C) is
                    # Dask's bookkeeping, not the user's: a task's failure reaches the client
                    # through its future and is written to the task's log file
                    silence_logs=logging.CRITICAL,
                )
                self.client = Client(self._cluster)
        except BaseException:
            self.interrupt.restore()
            raise
        self.interrupt.defer()
        self.client.register_plugin(AdvertiseDevices(), name=AdvertiseDevices.name)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.client is not None:
                self.client.close()
            if self._cluster is not None:
                self._cluster.close()
                # a worker stopped mid-task (Ctrl-C) leaves its staging dir; its process is gone
                self.cache.clean_stale_tmp()
        finally:
            self.interrupt.restore()

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

    def worker_probes(self) -> dict[str, dict[str, Any]]:
        """Each worker's device probe (address -> probe): what measuring tasks are keyed on."""
        return self.client.run(_probe_on_worker)

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

    @property
    def progress(self):
        return self.options.progress

    # -- running -----------------------------------------------------------------
    def run(
        self, plan: Plan, decisions: dict[str, Decision], options: RunOptions
    ) -> dict[str, Outcome]:
        self.options = options
        self._completions = Completions()
        self._lookahead = Lookahead()
        self._capacity = (0.0, 0)
        self._devices = self.available_devices()

        to_run = [t for t in plan.order() if decisions[t.id].state not in ("cached", "skipped")]
        self.client.register_plugin(
            warmup.WarmUp(warmup.modules_for([t.op for t in to_run])), name=warmup.WarmUp.name
        )
        slots = slots_per_host(self.client.scheduler_info(n_workers=-1)["workers"])
        queue = ReadyQueue(
            plan,
            decisions,
            priorities(plan),
            self.progress.finish,
            # search candidates are pruned on what has finished when they become ready
            lambda task, outcomes: pruned(plan, task, outcomes, self.cache),
        )
        running: dict[str, Any] = {}  # future key -> future
        tasks: dict[str, Task] = {}  # future key -> task
        # start events arrive on the client's event-loop thread; the progress view is fed
        # from this thread only, so they wait in a queue until the loop below drains them
        started: SimpleQueue[str] = SimpleQueue()
        shown: set[str] = set()
        self.client.subscribe_topic(STARTED_TOPIC, lambda event: started.put(event[1]["key"]))
        try:
            self.interrupt.check()  # a Ctrl-C while the cluster started or the plan was made
            self._submit_ready(queue, plan, decisions, slots, running, tasks)
            while running:
                finished = self._completions.wait(timeout=0.25)
                self.interrupt.check()
                self._show_started(started, tasks, shown, decisions)
                for future, result in finished:
                    if future.key in running:  # not one cancelled by a stop meanwhile
                        self._finish(future, result, queue, running, tasks, shown, decisions)
                self._submit_ready(queue, plan, decisions, slots, running, tasks)
        except KeyboardInterrupt:
            self.client.cancel(list(running.values()))
            raise
        finally:
            self.client.unsubscribe_topic(STARTED_TOPIC)
        return {t.id: queue.outcomes[t.id] for t in plan.order() if t.id in queue.outcomes}

    def _show_started(self, started, tasks, shown: set[str], decisions) -> None:
        while not started.empty():
            key = started.get()
            if key in tasks and key not in shown:  # a late event of a finished task: ignore
                shown.add(key)
                self.progress.start(tasks[key], decisions[tasks[key].id])

    def _finish(self, future, result, queue: ReadyQueue, running, tasks, shown, decisions) -> None:
        del running[future.key]
        task = tasks.pop(future.key)
        if future.key not in shown:  # finished before its start event came: start first
            self.progress.start(task, decisions[task.id])
        shown.discard(future.key)
        outcome = result
        if isinstance(result, BaseException):  # the worker died more often than retries allow
            outcome = Outcome(task.id, "failed", f"{type(result).__name__}: {result}", exit_code=1)
        if outcome.state == "ran":
            self._lookahead.record(task.op.name, outcome.seconds)
        queue.record(task, outcome)
        if outcome.state == "failed" and not self.options.keep_going and not queue.stopped:
            self._stop(queue, running, tasks)

    def _submit_ready(self, queue, plan, decisions, slots, running, tasks) -> None:
        """Hand ready tasks to Dask while a worker thread is free for them (short tasks: while
        each thread has at most one waiting, :mod:`.lookahead`)."""
        if queue.stopped:
            return
        threads = self._threads()
        while (task := queue.peek()) is not None:
            if len(running) >= self._lookahead.limit(task.op.name, task.op.exclusive, threads):
                break
            queue.pop()
            future = self.client.submit(
                _remote_task,
                str(self.cache.root),
                task,
                {role: plan.tasks[dep].key for role, dep in task.deps.items()},
                decisions[task.id].reason == "forced",
                str(self.options.log_dir),
                slots,
                self.options.stream_output,
                key=f"ovrun-{task.id}-{task.key[:16]}",
                resources=(
                    device_requirements(task.device, self._devices) | machine_requirements(task)
                )
                or None,
                retries=self.retries,
                pure=False,
            )
            running[future.key] = future
            tasks[future.key] = task
            self._completions.add(future)

    def _threads(self) -> int:
        """Worker threads of the cluster: asked of the scheduler at most once a second (a
        round trip per scheduling step held a 16-worker cluster back), so workers that join
        a running cluster are still used."""
        asked, threads = self._capacity
        if time.monotonic() - asked >= CAPACITY_REFRESH_S:
            threads = max(1, sum(self.client.nthreads().values()))
            self._capacity = (time.monotonic(), threads)
        return threads

    def _stop(self, queue: ReadyQueue, running, tasks) -> None:
        """A failure without --keep-going: cancel what runs, block what has not started."""
        self.client.cancel(list(running.values()))
        for key in list(running):
            task = tasks.pop(key)
            queue.record(task, Outcome(task.id, "blocked", STOPPED))
        running.clear()
        queue.stop()
