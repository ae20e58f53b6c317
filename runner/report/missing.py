"""How results name what is not there: a cell or an evaluation whose task failed, was
blocked by a failed upstream task, or was pruned, so a verdict says why it has no value."""

from __future__ import annotations

from typing import Any


def not_evaluated(task_id: str, missing: dict[str, dict[str, str]]) -> str:
    """``not evaluated (eval:int8 failed)``: a gate or assert on a task that did not finish."""
    state = (missing.get(task_id) or {}).get("state", "missing")
    return f"not evaluated ({task_id} {state})"


def missing_of(results: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Upstream task id -> {state, reason} of the report's inputs that did not finish."""
    return results.get("missing") or {}
