"""Plan pieces for data and compression: dataset tasks, compress tasks with their data
dependencies, and the shared weight-statistics tasks. Imports nothing heavy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.plan.model_tasks import export_params
from runner.plan.ops import OPS
from runner.plan.tasks import EXPORT, Task
from runner.recipe.compression import ACCURACY_CONTROL_METRIC, DATA_AWARE, DATA_METRICS, EIGHT_BIT
from runner.recipe.data import DatasetSpec
from runner.recipe.spec import Recipe


def dataset_task_id(name: str) -> str:
    return f"data:{name}"


def dataset_task(spec: DatasetSpec) -> Task:
    """Keyed by the options and the source's content digest; depends on the export only when
    it needs the model's tokenizer or vocab size (npz data survives a model change)."""
    return Task(
        dataset_task_id(spec.name),
        OPS["dataset"],
        spec.key_params(),
        deps={"model": EXPORT} if spec.needs_model else {},
        files={"source": spec.source} if spec.source is not None else {},
        labels={"dataset": spec.name},
        where=("data", spec.name),
    )


def compress_params(op: str, settings: dict[str, Any], task: str | None = None) -> dict[str, Any]:
    """The options that change the result, so equal results share one key."""
    params = {k: v for k, v in settings.items() if k not in ("dataset", "validation_dataset")}
    if op == "compress_weights":
        mode = params.get("mode", "int8_asym")
        if mode in EIGHT_BIT:
            # 8-bit modes compress every layer per channel; the mixed-precision options do
            # nothing there (the adapter does not pass them) and must not split the cache
            for option in (
                "ratio",
                "group_size",
                "all_layers",
                "backup_mode",
                "sensitivity_metric",
            ):
                params.pop(option, None)
        if not settings.get("dataset"):
            params.pop("subset_size", None)  # only data-aware compression reads items
        for option in DATA_AWARE:
            if not params.get(option):
                params.pop(option, None)  # False is NNCF's default; older keys stay valid
        if not any((params.get("ignored_scope") or {}).values()):
            params.pop("ignored_scope", None)
    if op == "qat":
        init = {k: v for k, v in (params.get("init") or {}).items() if v is not None}
        if not any((init.get("ignored_scope") or {}).values()):
            init.pop("ignored_scope", None)
        params["init"] = init
    if op == "quantize":
        for option in ("mode", "smooth_quant_alpha", "max_drop", "metric", "max_num_iterations"):
            if params.get(option) is None:
                params.pop(option, None)  # unset: NNCF's default, same key as before
        if params.get("max_drop") is not None and task is not None:
            params["metric"] = params.get("metric") or ACCURACY_CONTROL_METRIC.get(task)
            params["task"] = task
    return params


def qat_source_params(recipe: Recipe) -> dict[str, Any]:
    """What QAT loads its PyTorch model from: the export's source (its digests are the task's
    file inputs) and how to load it."""
    model = export_params(recipe.model)
    return {k: model[k] for k in ("source", "task", "trust_remote_code")}


def statistics_task_id(dataset: str, subset_size: int) -> str:
    return f"wstats:{dataset}:{subset_size}"


def uses_statistics(settings: dict[str, Any]) -> bool:
    """Data-aware sub-8-bit compression: NNCF can load cached statistics for it."""
    if not settings.get("dataset") or settings.get("mode", "int8_asym") in EIGHT_BIT:
        return False
    return (
        any(settings.get(option) for option in DATA_AWARE)
        or settings.get("sensitivity_metric") in DATA_METRICS
        or settings.get("ratio", 1.0) < 1.0
    )


def compress_tasks(
    recipe: Recipe,
    name: str,
    op_name: str,
    settings: dict[str, Any],
    use_dataset: Callable[[str], str],
    task_id: str | None = None,
    labels: dict[str, Any] | None = None,
) -> list[Task]:
    """The compress task of one variant (or search candidate), preceded by the statistics
    task it reads when there is one (the caller drops duplicates by id)."""
    out: list[Task] = []
    deps = {"model": EXPORT}
    if settings.get("dataset"):
        deps["dataset"] = use_dataset(settings["dataset"])
    if op_name == "quantize" and settings.get("max_drop") is not None:
        validation = settings.get("validation_dataset") or (
            recipe.evaluate.dataset if recipe.evaluate else settings["dataset"]
        )
        deps["validation"] = use_dataset(validation)
    if op_name == "compress_weights" and uses_statistics(settings):
        subset = settings.get("subset_size", 128)
        stats_id = statistics_task_id(settings["dataset"], subset)
        out.append(
            Task(
                stats_id,
                OPS["weight_statistics"],
                {"subset_size": subset},
                deps={"model": EXPORT, "dataset": use_dataset(settings["dataset"])},
                labels={"dataset": settings["dataset"]},
                where=("variants", name, op_name, "dataset"),
            )
        )
        deps["statistics"] = stats_id
    params = compress_params(op_name, settings, recipe.model.task)
    files = {}
    if op_name == "qat":  # trains the PyTorch weights the export read, so reads them too
        params.update(qat_source_params(recipe))
        files = dict(recipe.model.source.files)
    out.append(
        Task(
            task_id or f"compress:{name}",
            OPS[op_name],
            params,
            deps=deps,
            files=files,
            labels=labels or {"variant": name},
            where=("variants", name, op_name),
        )
    )
    return out
