"""Recipe -> Plan: the export, datasets, compressions, benchmark cells, evaluations, the
report and deploy tasks, with their params normalized so that keys depend on meaning only."""

from __future__ import annotations

from collections.abc import Callable

from runner.plan.compress import compress_params, compress_tasks, dataset_task, dataset_task_id
from runner.plan.evaluation import evaluation_params
from runner.plan.model_tasks import cell_params, export_params, generate_params, uses_generate
from runner.plan.ops import OPS
from runner.plan.runtime_tasks import ort_tasks
from runner.plan.search import search_tasks
from runner.plan.tasks import EXPORT, REPORT, Plan, Task, topological
from runner.plan.test_tasks import test_tasks
from runner.recipe.matrix import cells as matrix_cells
from runner.recipe.runtimes import uses_openvino, uses_ort
from runner.recipe.spec import Recipe


def build_plan(recipe: Recipe, unavailable: Callable[[str], str | None] | None = None) -> Plan:
    """``unavailable(device)`` says why a device cannot run here (None: it can). Cells on such
    devices are planned but skipped, and the report covers only what runs; without it (a plan
    made before devices are known) nothing is skipped."""
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
    # search variants expand into candidate tasks (runner.plan.search), not into one model
    plain = [name for name, v in recipe.variants.items() if v.search is None]
    plain_set = set(plain)
    for name in plain:
        compression = recipe.variants[name].compression
        if compression is None:
            model_task[name] = EXPORT
            continue
        op_name, settings = compression
        model_task[name] = f"compress:{name}"
        for task in compress_tasks(recipe, name, op_name, settings, use_dataset):
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
                    evaluation_params(recipe),
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
    searched = search_tasks(recipe, model_task, use_dataset)  # may add datasets
    tasks.extend(dataset_task(recipe.data[name]) for name in used)
    tasks.extend(compress.values())

    b = recipe.benchmark
    for name in plain if uses_openvino(recipe) else ():
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
    ort_skipped: dict[str, str] = {}
    if uses_ort(recipe):  # ONNX Runtime cells beside the OpenVINO ones (runner.plan.runtime_tasks)
        ort, ort_skipped = ort_tasks(recipe)
        tasks.extend(ort)
    tasks.extend(evaluations)
    tasks.extend(searched.chains(tasks))  # candidate chains, after the reference's benchmarks

    skipped = _skipped(tasks, unavailable) | ort_skipped
    measured = ("benchmark", "generate", "ort_benchmark", "evaluate")
    upstream = [t for t in tasks if t.op.name in measured]
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
                "gate": ev.gate if ev else None,
                "cells": {t.id: {"op": t.op.name, **t.labels} for t in upstream},
                "skipped": dict(sorted(skipped.items())),
            },
            deps={t.id: t.id for t in upstream if t.id not in skipped},
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
                        # only text-generation serves through OVMS's LLM graph
                        **({"llm": d.llm} if model.task == "text-generation" else {}),
                    },
                    deps={"model": model_task[name]},
                    labels={"variant": name},
                    where=("deploy",),
                )
            )
    if recipe.test_ops is not None:  # only with OVRUN_TEST_OPS=1 (runner.recipe.test_ops)
        tasks.extend(test_tasks(recipe.test_ops))
    ordered = topological(tasks)
    return Plan(recipe, {t.id: t for t in ordered}, prune=searched.pruner(), skipped=skipped)


def _skipped(tasks: list[Task], unavailable: Callable[[str], str | None] | None) -> dict[str, str]:
    if unavailable is None:
        return {}
    reasons = {t.id: unavailable(t.device) for t in tasks if t.device is not None}
    return {tid: reason for tid, reason in reasons.items() if reason}
