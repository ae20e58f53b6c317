"""Plan pieces for `targets.runtimes: [..., onnxruntime]`: the ONNX graph and one ONNX Runtime
cell per device × hint × shape (runner.recipe.runtimes says which).

* ``onnx`` (op ``onnx_export``): an hf: / path: / package: model exported to ONNX once,
  keyed like ``export`` (source commit or content digest, task, trust_remote_code). An
  ``onnx:`` source needs no task: the cells take the file itself as a content-keyed input.
* ``bench:<reference>@onnxruntime:<cell>`` (op ``ort_benchmark``): also depends on the
  ``export`` task, whose ``config.json`` gives the vocabulary the OpenVINO cells draw their
  synthetic token ids from, so both runtimes are fed the same inputs.

Non-CPU cells are planned and skipped with the reason (`NOT_CPU`). Imports nothing heavy."""

from __future__ import annotations

from typing import Any

from runner.plan.model_tasks import export_params
from runner.plan.ops import OPS
from runner.plan.tasks import EXPORT, Task
from runner.recipe.runtimes import NOT_CPU, ORT_DEVICE, ort_cells, ort_label
from runner.recipe.spec import Recipe

ONNX = "onnx"


def ort_tasks(recipe: Recipe) -> tuple[list[Task], dict[str, str]]:
    """The ONNX export task (HF sources) and the ONNX Runtime cells; task id -> skip reason
    for the cells no ONNX Runtime CPU provider can run."""
    model = recipe.model
    tasks: list[Task] = []
    files: dict[str, Any] = {}
    deps = {"model": EXPORT}
    if model.source.kind == "onnx":
        files = {"onnx": model.source.files["model"]}
        if "weights" in model.source.files:  # external data beside the file
            files["onnx_data"] = model.source.files["weights"]
    else:
        params = export_params(model)
        tasks.append(
            Task(
                ONNX,
                OPS["onnx_export"],
                {k: params[k] for k in ("source", "task", "trust_remote_code")},
                files=dict(model.source.files),
                where=("targets", "runtimes"),
            )
        )
        deps["onnx"] = ONNX
    b = recipe.benchmark
    label = ort_label(recipe)
    skipped: dict[str, str] = {}
    for cell in ort_cells(recipe):
        task_id = f"bench:{label}:{cell.id}"
        tasks.append(
            Task(
                task_id,
                OPS["ort_benchmark"],
                {
                    "hint": cell.hint,
                    "duration_s": b.duration_s,
                    "warmup": b.warmup,
                    "batch": cell.batch,
                    "seq_len": cell.seq_len,
                    "seed": b.seed,
                    "iterations": b.iterations,
                    "repeats": b.repeats,
                },
                deps=dict(deps),
                files=dict(files),
                device=cell.device,
                labels={"variant": label, **cell.labels()},
                where=("targets", "runtimes"),
            )
        )
        if cell.device != ORT_DEVICE:
            skipped[task_id] = NOT_CPU
    return tasks, skipped
