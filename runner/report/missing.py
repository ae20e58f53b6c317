"""How results name what is not there: a cell or an evaluation whose task failed, was
blocked by a failed upstream task, or was pruned, so a verdict says why it has no value."""

from __future__ import annotations

from typing import Any


def not_evaluated(task_id: str, state: str) -> str:
    """``not evaluated (eval:int8 failed)``: a gate or assert on a task that did not finish."""
    return f"not evaluated ({task_id} {state})"


def missing_state(results: dict[str, Any], task_id: str) -> str | None:
    """failed / blocked / skipped / missing when ``task_id`` was an input of the report that
    did not finish, else None."""
    return ((results.get("missing") or {}).get(task_id) or {}).get("state")
