"""Recipe -> tasks. Each task names its op, its normalized params, its upstream tasks (by
role) and its input files. Keys are computed in `runner.keying`; nothing here imports a
heavy library."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.matrix import cells as matrix_cells
from runner.ops import OPS, Op
from runner.plan_compress import compress_params, compress_tasks, dataset_task, dataset_task_id
from runner.plan_model import cell_params, export_params, generate_params, uses_generate
from runner.recipe.model import Recipe

REPORT = "report"
EXPORT = "export"


@dataclass
class Task:
    id: str
    op: Op
    params: dict[str, Any]
    deps: dict[str, str] = field(default_factory=dict)  # role -> upstream task id
    files: dict[str, Path] = field(default_factory=dict)  # role -> input file/dir
    device: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)  # variant/device/hint for reports
    where: tuple = ()  # recipe path that defines this task, for messages
    key: str = ""
    preimage: dict[str, Any] | None = None


@dataclass
class Plan:
    recipe: Recipe
    tasks: dict[str, Task]  # in topological order
    # (task, outcomes so far) -> reason to skip it, or None; search uses it to prune candidates
    prune: Any = None

    def order(self) -> list[Task]:
        return list(self.tasks.values())


def build_plan(recipe: Recipe) -> Plan:
    tasks: list[Task] = []
    model = recipe.model
    tasks.append(
        Task(
            EXPORT,
            OPS["export"],
            export_params(model),
            files=dict(model.source.files),
            where=("model",),
        )
    )

    used: list[str] = []

    def use_dataset(name: str) -> str:
        if name not in used:
            used.append(name)
        return dataset_task_id(name)

    model_task: dict[str, str] = {}
    compress: dict[str, Task] = {}  # by id: statistics tasks are shared between variants
    # search variants expand into candidate tasks (runner.search), not into one model
    plain = [name for name, v in recipe.variants.items() if v.search is None]
    plain_set = set(plain)
    for name in plain:
        compression = recipe.variants[name].compression
        if compression is None:
            model_task[name] = EXPORT
            continue
        op_name, settings = compression
        model_task[name] = f"compress:{name}"
        for task in compress_tasks(recipe, name, op_name, settings, use_dataset, Task):
            compress.setdefault(task.id, task)

    evaluations: list[Task] = []
    ev = recipe.evaluate
    if ev is not None:
        data_id = use_dataset(ev.dataset)
        for name in plain:
            if name == ev.reference:
                continue
            evaluations.append(
                Task(
                    f"eval:{name}",
                    OPS["evaluate"],
                    {
                        "metric": ev.metric,
                        "device": ev.device,
                        "properties": ev.properties,
                        "task": model.task,
                    },
                    deps={
                        "model": model_task[name],
                        "reference": model_task[ev.reference],
                        "dataset": data_id,
                    },
                    labels={"variant": name, "reference": ev.reference},
                    where=("evaluate",),
                )
            )

    prompts = recipe.benchmark.prompts if uses_generate(recipe) else None
    if prompts:
        use_dataset(prompts)
    from runner.search import search_tasks

    searched = search_tasks(recipe, model_task, use_dataset, Task)  # may add datasets
    tasks.extend(dataset_task(recipe.data[name], Task) for name in used)
    tasks.extend(compress.values())

    b = recipe.benchmark
    for name in plain:
        for cell in matrix_cells(recipe):
            if uses_generate(recipe):
                deps = {"model": model_task[name]}
                if prompts:
                    deps["dataset"] = dataset_task_id(prompts)
                tasks.append(
                    Task(
                        f"bench:{name}:{cell.id}",
                        OPS["generate"],
                        generate_params(recipe, cell),
                        deps=deps,
                        device=cell.device,
                        labels={"variant": name, **cell.labels()},
                        where=("targets", "devices"),
                    )
                )
                continue
            tasks.append(
                Task(
                    f"bench:{name}:{cell.id}",
                    OPS["benchmark"],
                    {
                        **cell_params(recipe, cell),
                        "iterations": b.iterations,
                        "repeats": b.repeats,
                        "task": model.task,
                    },
                    deps={"model": model_task[name]},
                    device=cell.device,
                    labels={"variant": name, **cell.labels()},
                    where=("targets", "devices"),
                )
            )
    tasks.extend(evaluations)
    tasks.extend(searched.finish(tasks))  # candidate chains, after the reference's benchmarks

    upstream = [t for t in tasks if t.op.name in ("benchmark", "generate", "evaluate")]
    upstream = [t for t in upstream if "candidate" not in t.labels]
    upstream += [t for t in compress.values() if t.id.startswith("compress:")]  # what was applied
    tasks.append(
        Task(
            REPORT,
            OPS["report"],
            {
                "recipe": recipe.name,
                "variants": {
                    name: {
                        "description": v.description,
                        "compression": (
                            {"op": v.compression[0], **compress_params(*v.compression)}
                            if v.compression
                            else None
                        ),
                    }
                    for name, v in recipe.variants.items()
                    if name in plain_set
                },
                "reference": ev.reference if ev else None,
                "metric": ev.metric if ev else None,
                "max_drop": ev.max_drop if ev else None,
                "cells": {t.id: {"op": t.op.name, **t.labels} for t in upstream},
                "skipped": {},
            },
            deps={t.id: t.id for t in upstream},
        )
    )
    if recipe.deploy is not None:
        # Deploy tasks hang off the model tasks only: deploying never waits for benchmarks.
        d = recipe.deploy
        for name in d.variants:
            tasks.append(
                Task(
                    f"deploy:{name}",
                    OPS["deploy"],
                    {
                        "variant": name,
                        "formats": d.formats,
                        "device": d.device,
                        "plugin_config": d.plugin_config,
                        "model_name": d.served_name(name),
                        "task": model.task,
                    },
                    deps={"model": model_task[name]},
                    labels={"variant": name},
                    where=("deploy",),
                )
            )
    return Plan(recipe, {t.id: t for t in tasks}, prune=searched.pruner())
