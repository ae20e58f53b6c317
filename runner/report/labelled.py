"""Task metrics against labels in a results document: what ``assert:``, gates, the table and
the page read from an evaluation's ``task_metrics`` (``runner.adapters.evaluate``).

Every variant has them, the reference included: each evaluation also measures the reference
(under evaluate.properties), so ``fp32.accuracy`` is the reference's own accuracy against
the labels, not the 1.0 of agreeing with itself."""

from __future__ import annotations

from typing import Any

from runner.recipe.labels import KIND_METRICS, TASK_METRIC_NAMES

# assert: name -> (which figures, which metric, whether it is the drop from the reference)
TASK_NAMES: dict[str, tuple[str, str, bool]] = {
    **{name: ("deployed", name, False) for name in TASK_METRIC_NAMES},
    "accuracy_drop": ("deployed", "accuracy", True),
    "compression_accuracy": ("compression", "accuracy", False),
    "compression_accuracy_drop": ("compression", "accuracy", True),
}

TASK_ONLY = tuple(name for name in TASK_METRIC_NAMES if name != "accuracy")  # no agreement twin


def labelled(results: dict[str, Any]) -> dict[str, Any] | None:
    """The task_metrics block of any finished evaluation (they share kind and reference)."""
    for ev in (results.get("evaluations") or {}).values():
        if ev.get("task_metrics"):
            return ev["task_metrics"]
    return None


def reads_labels(results: dict[str, Any], metric: str) -> bool:
    """Whether ``VARIANT.metric`` reads a task metric in this run (``accuracy`` means label
    accuracy only when the evaluation set has class labels)."""
    block = labelled(results)
    return (
        block is not None
        and metric in TASK_NAMES
        and TASK_NAMES[metric][1] in KIND_METRICS[block["kind"]]
    )


def task_value(results: dict[str, Any], variant: str, metric: str) -> float | str:
    """A task figure of ``variant``, or why there is none."""
    on, name, is_drop = TASK_NAMES[metric]
    block = labelled(results)
    assert block is not None
    reference = block["reference"].get(name)
    if variant == results.get("reference"):
        value = 0.0 if is_drop else reference
    else:
        ev = (results.get("evaluations") or {}).get(variant)
        if not ev or not ev.get("task_metrics"):
            return f"variant {variant} has no labelled evaluation in this run"
        figures = ev["task_metrics"]["deployed" if on == "deployed" else "compression"]
        got = figures.get(name)
        value = None if got is None or reference is None else (reference - got if is_drop else got)
    if value is None:
        return f"{variant}.{metric} is undefined here (constant predictions or gold scores)"
    return float(value)


def gate_reading(ev: dict[str, Any], on: str) -> dict[str, Any]:
    """What evaluate.max_drop gates on a labelled set: the kind's first metric (accuracy,
    spearman, f1), its drop from the reference's own figure on the same labels."""
    block = ev["task_metrics"]
    name = block["primary"]
    figures = block["deployed"] if on == "deployed" else block["compression"]
    value, reference = figures.get(name), block["reference"].get(name)
    precision = (
        figures.get("precision")
        if on == "deployed"
        else (ev.get("compression") or {}).get("precision")
    )
    return {
        "metric": name,
        "value": value,
        "reference_value": reference,
        "accuracy_drop": None if value is None or reference is None else reference - value,
        "precision": precision,
    }


def task_columns(results: dict[str, Any]) -> list[str]:
    block = labelled(results)
    return list(KIND_METRICS[block["kind"]]) if block else []


def task_cells(results: dict[str, Any], variant: str) -> list[str]:
    """The row's task figures as text: the variant's at its deployed precision."""
    out = []
    for name in task_columns(results):
        value = task_value(results, variant, name)
        out.append("-" if isinstance(value, str) else f"{value:.4f}")
    return out


def task_lines(results: dict[str, Any]) -> list[str]:
    """One line: the labelled set's figures for the reference and every evaluated variant."""
    block = labelled(results)
    if block is None:
        return []
    reference = results.get("reference")
    parts = []
    for variant in [reference, *sorted(results.get("evaluations") or {})]:
        cells = task_cells(results, variant)
        shown = ", ".join(f"{n} {c}" for n, c in zip(task_columns(results), cells, strict=True))
        parts.append(f"{variant} {shown}" + (" (reference)" if variant == reference else ""))
    return [f"labelled {block['kind']} set, {block['samples']} samples: " + " · ".join(parts)]
