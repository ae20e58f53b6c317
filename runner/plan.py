"""Recipe -> tasks. Each task names its op, its normalized params, its upstream tasks (by
role) and its input files. Keys are computed in `runner.keying`; nothing here imports a
heavy library."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.ops import OPS, Op
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

    def order(self) -> list[Task]:
        return list(self.tasks.values())


def dataset_task_id(name: str) -> str:
    return f"data:{name}"


def compress_params(op: str, settings: dict[str, Any]) -> dict[str, Any]:
    params = {k: v for k, v in settings.items() if k != "dataset"}
    if op == "compress_weights" and params.get("mode", "").startswith("int8"):
        # NNCF ignores ratio and group_size for INT8 modes; they must not split the cache
        params.pop("ratio", None)
        params.pop("group_size", None)
    return params


def build_plan(recipe: Recipe) -> Plan:
    tasks: list[Task] = []
    model = recipe.model
    export_files = {"model": model.source.local_dir} if model.source.local_dir else {}
    tasks.append(
        Task(
            EXPORT,
            OPS["export"],
            {
                "source": model.source.key_params(),
                "task": model.task,
                "weight_format": model.weight_format,
                "trust_remote_code": False,
            },
            files=export_files,
            where=("model",),
        )
    )

    used: list[str] = []

    def use_dataset(name: str) -> str:
        if name not in used:
            used.append(name)
        return dataset_task_id(name)

    model_task: dict[str, str] = {}
    compress: list[Task] = []
    for name, variant in recipe.variants.items():
        compression = variant.compression
        if compression is None:
            model_task[name] = EXPORT
            continue
        op_name, settings = compression
        deps = {"model": EXPORT}
        if settings.get("dataset"):
            deps["dataset"] = use_dataset(settings["dataset"])
        task_id = f"compress:{name}"
        model_task[name] = task_id
        compress.append(
            Task(
                task_id,
                OPS[op_name],
                compress_params(op_name, settings),
                deps=deps,
                labels={"variant": name},
                where=("variants", name, op_name),
            )
        )

    evaluations: list[Task] = []
    ev = recipe.evaluate
    if ev is not None:
        data_id = use_dataset(ev.dataset)
        for name in recipe.variants:
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

    for name in used:
        spec = recipe.data[name]
        tasks.append(
            Task(
                dataset_task_id(name),
                OPS["dataset"],
                spec.key_params(),
                deps={"model": EXPORT},
                files={"source": spec.text},
                labels={"dataset": name},
                where=("data", name),
            )
        )
    tasks.extend(compress)

    b = recipe.benchmark
    for name in recipe.variants:
        for device in recipe.targets.devices:
            for hint in recipe.targets.hints:
                tasks.append(
                    Task(
                        f"bench:{name}:{device}:{hint}",
                        OPS["benchmark"],
                        {
                            "hint": hint,
                            "properties": recipe.targets.properties,
                            "duration_s": b.duration_s,
                            "warmup": b.warmup,
                            "batch": b.batch,
                            "seq_len": b.seq_len,
                            "seed": b.seed,
                            "task": model.task,
                        },
                        deps={"model": model_task[name]},
                        device=device,
                        labels={"variant": name, "device": device, "hint": hint},
                        where=("targets", "devices"),
                    )
                )
    tasks.extend(evaluations)

    upstream = [t for t in tasks if t.op.name in ("benchmark", "evaluate")]
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
    return Plan(recipe, {t.id: t for t in tasks})
