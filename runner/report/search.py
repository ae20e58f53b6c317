"""After a run: every search candidate's measured result, the Pareto set and the chosen
configuration, read from the cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runner.plan.search import Candidate, Pruner, ResultReader, as_written, pin_snippet
from runner.report.pareto import dominates

if TYPE_CHECKING:
    from runner.plan.tasks import Plan


def summarize(plan: Plan, read_result: ResultReader, outcomes: dict[str, Any]) -> dict[str, Any]:
    """Per search variant: every candidate's measured result, the Pareto set, the choice."""
    prune = plan.prune
    if not isinstance(prune, Pruner):
        return {}
    searched = prune.searched
    report: dict[str, Any] = {}
    for name, cands in searched.by_variant.items():
        search = searched.recipe.variants[name].search
        rows = [_row(plan, read_result, outcomes, cand, search) for cand in cands]
        measured = [r for r in rows if r["status"] == "evaluated"]
        pareto, infeasible_front = mark_pareto(measured)
        feasible = [r for r in measured if r["feasible"]]
        chosen = min(feasible, key=lambda r: (r["size_bytes"], r["accuracy_drop"]), default=None)
        report[name] = {
            "constraint": {k: search.get(k) for k in ("max_drop", "min_speedup", "device")},
            "candidates": rows,
            "pareto": pareto,
            "infeasible_front": infeasible_front,
            "chosen": chosen["candidate"] if chosen else None,
            "pin": pin_snippet(name, as_written(searched.recipe, name, chosen)) if chosen else None,
        }
    return report


def mark_pareto(measured: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Star (``row["pareto"]``) the feasible candidates no other feasible one dominates: a
    candidate that misses the constraint is no option, however small or fast it is. Returns
    the starred names and, apart, the front of the infeasible ones (what tighter settings
    would buy if the constraint were relaxed)."""

    def front(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if not any(_dominates(o, r) for o in rows if o is not r)]

    feasible = [r for r in measured if r["feasible"]]
    starred = front(feasible)
    for row in measured:
        row["pareto"] = any(row is r for r in starred)
    infeasible = front([r for r in measured if not r["feasible"]])
    return [r["candidate"] for r in starred], [r["candidate"] for r in infeasible]


def _row(
    plan: Plan, read_result: ResultReader, outcomes: dict[str, Any], cand: Candidate, search: dict
) -> dict:
    row: dict[str, Any] = {
        "candidate": cand.id,
        "settings": {k: v for k, v in sorted(cand.settings.items())},
        "tasks": [t for t in (cand.compress_id, cand.eval_id, cand.bench_id) if t],
    }
    compressed = _read(read_result, cand.compress_id)
    evaluated = _read(read_result, cand.eval_id)
    if compressed is None or evaluated is None:
        states = [outcomes[t] for t in row["tasks"] if t in outcomes]
        problem = next((o for o in states if o.state not in ("ran", "cached")), None)
        row["status"] = problem.state if problem else "missing"
        row["reason"] = problem.reason if problem else ""
        return row
    row.update(
        status="evaluated",
        size_bytes=compressed.get("size_bytes"),
        weight_bits=compressed.get("weight_bits"),
        accuracy_drop=evaluated.get("accuracy_drop"),
        metric=evaluated.get("value"),
    )
    feasible = row["accuracy_drop"] is not None and row["accuracy_drop"] <= search["max_drop"]
    if cand.bench_id:
        bench = _read(read_result, cand.bench_id)
        ref_id = cand.bench_id.replace(
            f"bench:{cand.name}:", f"bench:{plan.recipe.evaluate.reference}:", 1
        )
        ref = _read(read_result, ref_id)
        speedup = None
        if bench and ref and ref.get("throughput"):
            speedup = bench["throughput"] / ref["throughput"]
        row["speedup"] = speedup
        feasible = feasible and speedup is not None and speedup >= search["min_speedup"]
    row["feasible"] = feasible
    return row


def _dominates(a: dict, b: dict) -> bool:
    """a is no worse than b on size, drop (and speed when both are measured), better on one."""
    costs_a, costs_b = [a["size_bytes"], a["accuracy_drop"]], [b["size_bytes"], b["accuracy_drop"]]
    if a.get("speedup") is not None and b.get("speedup") is not None:
        costs_a.append(-a["speedup"])
        costs_b.append(-b["speedup"])
    return dominates(costs_a, costs_b)


def _read(read_result: ResultReader, task_id: str | None) -> dict[str, Any] | None:
    return read_result(task_id) if task_id else None
