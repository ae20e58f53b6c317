"""Which deploy variants did not pass, and why: a variant is deployed only when its
accuracy gate (evaluate.max_drop) passed and no `assert:` naming it failed.

A gate that could not be evaluated (its evaluation failed, or was not part of the run) is
not a pass either. An assert whose value does not exist in this run (a skipped device's
cell) names nothing that was measured and holds nothing back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.recipe.spec import Recipe


def failures(recipe: Recipe, doc: dict[str, Any]) -> dict[str, list[str]]:
    """variant -> the reasons it did not pass, for the variants ``recipe.deploy`` names."""
    deploy = recipe.deploy
    if deploy is None:
        return {}
    reasons: dict[str, list[str]] = {}
    for variant in deploy.variants:
        found = _gate(recipe, doc, variant) + _asserts(recipe, doc, variant)
        if found:
            reasons[variant] = found
    return reasons


def _gate(recipe: Recipe, doc: dict[str, Any], variant: str) -> list[str]:
    ev = recipe.evaluate
    if ev is None or ev.max_drop is None or variant == ev.reference:
        return []
    gate = next((g for g in doc.get("gates") or [] if g.get("variant") == variant), None)
    if gate is None:
        return [f"accuracy gate not evaluated ({_why_missing(doc, variant)})"]
    if gate.get("passed"):
        return []
    drop = gate.get("accuracy_drop")
    measured = (
        f"{gate.get('metric')} {gate['value']:.4f}, drop {drop:.4f} > max_drop {gate['max_drop']}"
        if drop is not None and gate.get("value") is not None
        else "no accuracy value"
    )
    return [f"accuracy gate failed: {measured}"]


def _why_missing(doc: dict[str, Any], variant: str) -> str:
    tasks = (doc.get("run") or {}).get("tasks") or {}
    for task_id in (f"eval:{variant}", "report"):
        state = (tasks.get(task_id) or {}).get("state")
        if state is None:
            return f"{task_id} was not part of this run"
        if state not in ("ran", "cached"):
            return f"{task_id} {state}"
    return "no gate in the results"


def _asserts(recipe: Recipe, doc: dict[str, Any], variant: str) -> list[str]:
    records = doc.get("asserts")
    found = []
    for i, assertion in enumerate(recipe.asserts):
        if variant not in {ref.variant for ref in assertion.refs}:
            continue
        record = records[i] if records is not None and i < len(records) else None
        if record is None:
            found.append(f"assert not evaluated (no results): {assertion.text}")
        elif record.get("passed") is False:
            found.append(f"assert failed at {assertion.location}: {assertion.text}")
    return found
