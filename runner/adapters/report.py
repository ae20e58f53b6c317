"""The `report` op: gathers benchmark and evaluation results into one results document.

Pure Python and cheap; it is still a keyed task so a fully cached run re-uses it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.plan.context import TaskContext
from runner.report.load import SCHEMA

RESULTS_SCHEMA = SCHEMA  # schemas/results.schema.json


def _read(path: Path) -> dict[str, Any]:
    return json.loads((path / "result.json").read_text(encoding="utf-8"))


def build_results(params: dict[str, Any], inputs: dict[str, Path]) -> dict[str, Any]:
    cells = params["cells"]
    skipped = params.get("skipped", {})
    # upstream tasks that did not finish (failed, blocked, pruned): rows and verdicts say so
    missing: dict[str, dict[str, str]] = params.get("missing", {})
    benchmarks: list[dict[str, Any]] = []
    evaluations: dict[str, dict[str, Any]] = {}
    compressions: dict[str, dict[str, Any]] = {}  # variant -> what the compression applied
    for task_id, labels in cells.items():
        # generate: LLM cells; ort_benchmark: ONNX Runtime cells (targets.runtimes)
        if labels["op"] in ("benchmark", "generate", "ort_benchmark"):
            row = {
                "task": task_id,
                **{k: v for k, v in labels.items() if k != "op"},
            }
            row.setdefault("cell", f"{labels['device']}:{labels['hint']}")
            if task_id in skipped:
                row.update(status="skipped", reason=skipped[task_id])
            elif task_id in inputs:
                row.update(status="ok", **_read(inputs[task_id]))
            elif task_id in missing:
                row.update(status=missing[task_id]["state"], reason=missing[task_id]["reason"])
            else:
                row.update(status="missing", reason="task did not produce a result")
            benchmarks.append(row)
        elif labels["op"] in ("quantize", "compress_weights", "qat") and task_id in inputs:
            from runner.report.applied import applied

            compressions[labels["variant"]] = applied(_read(inputs[task_id]))
        elif labels["op"] == "evaluate" and task_id in inputs:
            evaluations[labels["variant"]] = {
                "task": task_id,
                "reference": labels["reference"],
                **_read(inputs[task_id]),
            }

    reference = params.get("reference")
    _add_speedups(benchmarks, reference)
    gates = _gates(
        cells,
        evaluations,
        missing,
        params,
        params.get("max_drop"),
        params.get("gate") or "deployed",
    )
    return {
        "schema": RESULTS_SCHEMA,
        "recipe": params["recipe"],
        "reference": reference,
        "metric": params.get("metric"),
        "variants": {
            name: {**v, **({"applied": compressions[name]} if name in compressions else {})}
            for name, v in params["variants"].items()
        },
        "benchmarks": benchmarks,
        "evaluations": evaluations,
        "gates": gates,
        **({"missing": missing} if missing else {}),
    }


def _evaluated(cells: dict[str, dict[str, Any]]) -> dict[str, str]:
    """variant -> its evaluation task id."""
    return {c["variant"]: tid for tid, c in cells.items() if c["op"] == "evaluate"}


def _not_evaluated(
    variant: str,
    task_id: str,
    missing: dict[str, dict[str, str]],
    params: dict[str, Any],
    max_drop: float,
) -> dict[str, Any]:
    from runner.report.missing import not_evaluated

    return {
        "variant": variant,
        "metric": params.get("metric"),
        "value": None,
        "accuracy_drop": None,
        "max_drop": max_drop,
        "passed": None,
        "reason": not_evaluated(task_id, (missing.get(task_id) or {}).get("state", "missing")),
    }


def _gates(
    cells: dict[str, dict[str, Any]],
    evaluations: dict[str, Any],
    missing: dict[str, dict[str, str]],
    params: dict[str, Any],
    max_drop: float | None,
    on: str,
) -> list[dict[str, Any]]:
    """One gate per evaluated variant; a variant whose evaluation did not finish gets a gate
    that says so (passed: null) instead of none."""
    from runner.report.accuracy import gate_figures

    if max_drop is None:
        return []
    gates = []
    for variant, task_id in sorted(_evaluated(cells).items()):
        ev = evaluations.get(variant)
        if ev is None:
            gates.append(_not_evaluated(variant, task_id, missing, params, max_drop))
            continue
        if ev.get("task_metrics"):  # a labelled set: the task metric's drop is the gate
            from runner.report.labelled import gate_reading

            reading = gate_reading(ev, on)
        else:
            figures = gate_figures(ev, on)
            reading = {
                "metric": ev.get("metric"),
                "value": figures.get("value"),
                "accuracy_drop": figures.get("accuracy_drop"),
                "precision": figures.get("precision"),
            }
        drop = reading["accuracy_drop"]
        gates.append(
            {
                "variant": variant,
                **reading,
                "max_drop": max_drop,
                "on": on,
                "passed": drop is not None and drop <= max_drop,
            }
        )
    return gates


def _add_speedups(benchmarks: list[dict[str, Any]], reference: str | None) -> None:
    """Throughput of each cell relative to the reference variant in the same matrix cell,
    with the range the repeats allow and whether the difference exceeds that noise."""
    from runner.report.stats import speedup, speedup_verdict

    _add_ort_speedups(benchmarks)
    if reference is None:
        return
    doc = {"reference": reference, "benchmarks": benchmarks}
    for b in benchmarks:
        if b["status"] != "ok":
            continue
        found = speedup(doc, b)
        if isinstance(found, str):
            continue
        b["speedup_vs_reference"] = found[0]
        if b["variant"] != reference:
            b["speedup_range"] = [found[1], found[2]]
            b["speedup_verdict"] = speedup_verdict(doc, b)


def _add_ort_speedups(benchmarks: list[dict[str, Any]]) -> None:
    """Each OpenVINO cell's throughput over the ONNX Runtime cell of the same device, hint
    and shape (targets.runtimes), with its range and verdict."""
    from runner.report.stats import ort_speedup

    doc = {"benchmarks": benchmarks}
    for b in benchmarks:
        found = ort_speedup(doc, b)
        if found is None:
            continue
        (value, lo, hi, _), verdict = found
        b["speedup_vs_onnxruntime"] = value
        b["speedup_vs_onnxruntime_range"] = [lo, hi]
        b["speedup_vs_onnxruntime_verdict"] = verdict


def run(ctx: TaskContext) -> dict[str, Any]:
    results = build_results(ctx.params, ctx.inputs)
    (ctx.out / "results.json").write_text(
        json.dumps(results, indent=1, sort_keys=True), encoding="utf-8"
    )
    passed = all(g["passed"] is True for g in results["gates"])
    return {"cells": len(results["benchmarks"]), "gates_passed": passed}
