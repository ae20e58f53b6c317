"""Auto-search over compress_weights options, built on the ordinary engine.

Each candidate of a variant's ``search:`` block is one chain of ordinary tasks —
``compress:<v>@<id>`` -> ``eval:<v>@<id>`` (-> ``bench:<v>@<id>:<cell>`` with ``min_speedup``)
— keyed like any other task, so a rerun or a wider search reuses every candidate already
built. Chains are placed in the plan cheapest first (data-free before data-aware), and,
within that, least aggressive first (fewer 4-bit weights, smaller groups, more bits), so
that when a candidate misses ``max_drop`` the executor can skip every candidate that is at
least as aggressive on every axis (``prune``; it assumes accuracy falls monotonically along
those axes, and says so in the reason). After the run :func:`summarize` reads the candidates'
results from the cache and derives the Pareto set and the chosen configuration.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runner.errors import OvrunError
from runner.plan_compress import compress_params, compress_tasks

AXES = ("mode", "ratio", "group_size", "awq", "scale_estimation")
_BITS = {
    "int8_sym": 8,
    "int8_asym": 8,
    "fp8_e4m3": 8,
    "mxfp8_e4m3": 8,
    "int3_sym": 3,
    "int2_sym": 2,
}  # every other mode stores 4-bit weights


@dataclass
class Candidate:
    variant: str
    id: str
    settings: dict[str, Any]  # full compress_weights settings (base + this candidate's values)
    compress_id: str = ""
    eval_id: str = ""
    bench_id: str | None = None

    @property
    def name(self) -> str:
        return f"{self.variant}@{self.id}"


def bits(mode: str) -> int:
    return _BITS.get(mode, 4)


def aggressiveness(settings: dict[str, Any]) -> tuple:
    """Larger means fewer bits kept: the order candidates are tried in (ascending)."""
    group = settings.get("group_size", 128)
    return (
        -bits(settings.get("mode", "int8_asym")),
        settings.get("ratio", 1.0),
        float("inf") if group == -1 else group,
        not settings.get("awq", False),
        not settings.get("scale_estimation", False),
    )


def at_least_as_aggressive(c: dict[str, Any], f: dict[str, Any]) -> bool:
    """c keeps no more precision than f on any axis (and is the same kind of mode)."""
    same_family = c.get("mode") == f.get("mode") or bits(c.get("mode", "")) < bits(
        f.get("mode", "")
    )
    return same_family and all(
        a >= b for a, b in zip(aggressiveness(c), aggressiveness(f), strict=True)
    )


def _cost(settings: dict[str, Any]) -> int:
    """Data-aware algorithms run extra passes over the data; try them last."""
    return sum(
        bool(settings.get(k)) for k in ("awq", "scale_estimation", "gptq", "lora_correction")
    )


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _candidate_id(values: dict[str, Any]) -> str:
    short = {"mode": "", "ratio": "r", "group_size": "g", "awq": "awq-", "scale_estimation": "se-"}
    return "-".join(f"{short[k]}{_label(v)}" for k, v in values.items())


def candidates(name: str, base: dict[str, Any], search: dict[str, Any]) -> list[Candidate]:
    """Every combination of the listed values, one per distinct compression, ordered."""
    axes = [axis for axis in AXES if axis in search]
    found: dict[str, Candidate] = {}
    for combo in itertools.product(*(search[axis] for axis in axes)):
        values = dict(zip(axes, combo, strict=True))
        settings = {**base, **values}
        if "ratio" in settings:
            settings["ratio"] = float(settings["ratio"])
        key = repr(sorted(compress_params("compress_weights", settings).items()))
        # 8-bit modes ignore ratio/group_size: those combinations are one candidate
        effective = compress_params("compress_weights", settings)
        shown = {k: v for k, v in values.items() if k == "mode" or k in effective}
        found.setdefault(key, Candidate(name, _candidate_id(shown), settings))
    ordered = sorted(found.values(), key=lambda c: (_cost(c.settings), aggressiveness(c.settings)))
    return ordered


@dataclass
class Searched:
    """The search part of a plan: candidate chains and the pruning rule."""

    recipe: Any
    model_task: dict[str, str]
    use_dataset: Callable[[str], str]
    task_cls: Any
    by_variant: dict[str, list[Candidate]] = field(default_factory=dict)

    def finish(self, tasks: list[Any]) -> list[Any]:
        """Candidate chains; ``tasks`` (already planned) supply the reference benchmarks."""
        out: list[Any] = []
        ev = self.recipe.evaluate
        for name, cands in self.by_variant.items():
            search = self.recipe.variants[name].search
            ref_bench = (
                _reference_bench(self.recipe, tasks, name, search)
                if search.get("min_speedup")
                else None
            )
            for cand in cands:
                labels = {"variant": cand.name, "search": name, "candidate": cand.id}
                cand.compress_id = f"compress:{cand.name}"
                for task in compress_tasks(
                    self.recipe,
                    name,
                    "compress_weights",
                    cand.settings,
                    self.use_dataset,
                    self.task_cls,
                    task_id=cand.compress_id,
                    labels=labels,
                ):
                    if all(t.id != task.id for t in (*tasks, *out)):
                        out.append(task)
                cand.eval_id = f"eval:{cand.name}"
                out.append(
                    self.task_cls(
                        cand.eval_id,
                        _op("evaluate"),
                        {
                            "metric": ev.metric,
                            "device": ev.device,
                            "properties": ev.properties,
                            "task": self.recipe.model.task,
                        },
                        deps={
                            "model": cand.compress_id,
                            "reference": self.model_task[ev.reference],
                            "dataset": f"data:{ev.dataset}",
                        },
                        labels={**labels, "reference": ev.reference},
                        where=("variants", name, "search"),
                    )
                )
                if ref_bench is not None:
                    cand.bench_id = ref_bench.id.replace(
                        f"bench:{ev.reference}:", f"bench:{cand.name}:", 1
                    )
                    out.append(
                        self.task_cls(
                            cand.bench_id,
                            ref_bench.op,
                            dict(ref_bench.params),
                            deps={"model": cand.compress_id},
                            device=ref_bench.device,
                            labels={**ref_bench.labels, **labels},
                            where=("variants", name, "search", "min_speedup"),
                        )
                    )
        return out

    def pruner(self) -> Callable[..., str | None] | None:
        if not self.by_variant:
            return None
        return Pruner(self)


def _op(name: str) -> Any:
    from runner.ops import OPS

    return OPS[name]


def _reference_bench(recipe: Any, tasks: list[Any], name: str, search: dict[str, Any]) -> Any:
    reference = recipe.evaluate.reference
    device = search.get("device", "CPU")
    for task in tasks:
        if task.id.startswith(f"bench:{reference}:") and task.device == device:
            return task
    raise OvrunError(
        f"min_speedup on {device} needs a benchmark of '{reference}' on {device}",
        hint=f"add {device} to targets.devices, or set search.device to one of them",
        location=recipe.location("variants", name, "search", "min_speedup"),
    )


def search_tasks(
    recipe: Any, model_task: dict[str, str], use_dataset: Callable[[str], str], task_cls: Any
) -> Searched:
    searched = Searched(recipe, model_task, use_dataset, task_cls)
    for name, variant in recipe.variants.items():
        if variant.search is None:
            continue
        base = dict(variant.compress_weights or {"mode": "int8_asym"})
        searched.by_variant[name] = candidates(name, base, variant.search)
        if base.get("dataset"):
            use_dataset(base["dataset"])
    return searched


class Pruner:
    """Called by the executor before it runs a task: skip a candidate that is at least as
    aggressive as one that already missed max_drop."""

    def __init__(self, searched: Searched):
        self.searched = searched
        self.by_task: dict[str, Candidate] = {}
        for cands in searched.by_variant.values():
            for cand in cands:
                for task_id in (cand.compress_id, cand.eval_id, cand.bench_id):
                    if task_id:
                        self.by_task[task_id] = cand
        self.decided: dict[str, str | None] = {}

    def __call__(self, task: Any, outcomes: dict[str, Any], cache: Any, plan: Any) -> str | None:
        cand = self.by_task.get(task.id)
        if cand is None:
            return None
        if cand.name in self.decided:
            return self.decided[cand.name]
        search = self.searched.recipe.variants[cand.variant].search
        reason = None
        if search.get("prune", True):
            for other in self.searched.by_variant[cand.variant]:
                if other is cand:
                    break
                drop = eval_drop(plan, cache, outcomes, other)
                if (
                    drop is not None
                    and drop > search["max_drop"]
                    and at_least_as_aggressive(cand.settings, other.settings)
                ):
                    reason = (
                        f"pruned: at least as aggressive as {other.id}, which missed max_drop "
                        f"(drop {drop:.4f} > {search['max_drop']}); assumes accuracy falls monotonically"
                    )
                    break
        if task.id == cand.compress_id or reason:
            self.decided[cand.name] = reason
        return reason


def _result(plan: Any, cache: Any, outcomes: dict[str, Any], task_id: str | None) -> dict | None:
    import json

    if not task_id or task_id not in outcomes or outcomes[task_id].state not in ("ran", "cached"):
        return None
    path = cache.out_dir(plan.tasks[task_id].key) / "result.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def eval_drop(plan: Any, cache: Any, outcomes: dict[str, Any], cand: Candidate) -> float | None:
    result = _result(plan, cache, outcomes, cand.eval_id)
    return None if result is None else result.get("accuracy_drop")


def summarize(plan: Any, cache: Any, outcomes: dict[str, Any]) -> dict[str, Any]:
    """Per search variant: every candidate's measured result, the Pareto set, the choice."""
    prune = plan.prune
    if not isinstance(prune, Pruner):
        return {}
    searched = prune.searched
    report: dict[str, Any] = {}
    for name, cands in searched.by_variant.items():
        search = searched.recipe.variants[name].search
        rows = [_row(plan, cache, outcomes, cand, search) for cand in cands]
        measured = [r for r in rows if r["status"] == "evaluated"]
        for row in measured:
            row["pareto"] = not any(
                _dominates(other, row) for other in measured if other is not row
            )
        feasible = [r for r in measured if r["feasible"]]
        chosen = min(feasible, key=lambda r: (r["size_bytes"], r["accuracy_drop"]), default=None)
        report[name] = {
            "constraint": {k: search.get(k) for k in ("max_drop", "min_speedup", "device")},
            "candidates": rows,
            "pareto": [r["candidate"] for r in measured if r["pareto"]],
            "chosen": chosen["candidate"] if chosen else None,
            "pin": pin_snippet(name, _as_written(searched.recipe, name, chosen))
            if chosen
            else None,
        }
    return report


def _row(plan: Any, cache: Any, outcomes: dict[str, Any], cand: Candidate, search: dict) -> dict:
    row: dict[str, Any] = {
        "candidate": cand.id,
        "settings": {k: v for k, v in sorted(cand.settings.items())},
        "tasks": [t for t in (cand.compress_id, cand.eval_id, cand.bench_id) if t],
    }
    compressed = _result(plan, cache, outcomes, cand.compress_id)
    evaluated = _result(plan, cache, outcomes, cand.eval_id)
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
        bench = _result(plan, cache, outcomes, cand.bench_id)
        ref_id = cand.bench_id.replace(
            f"bench:{cand.name}:", f"bench:{plan.recipe.evaluate.reference}:", 1
        )
        ref = _result(plan, cache, outcomes, ref_id)
        speedup = None
        if bench and ref and ref.get("throughput"):
            speedup = bench["throughput"] / ref["throughput"]
        row["speedup"] = speedup
        feasible = feasible and speedup is not None and speedup >= search["min_speedup"]
    row["feasible"] = feasible
    return row


def _dominates(a: dict, b: dict) -> bool:
    """a is no worse than b on size, drop (and speed when measured) and better on one."""
    pairs = [(a["size_bytes"], b["size_bytes"]), (a["accuracy_drop"], b["accuracy_drop"])]
    if a.get("speedup") is not None and b.get("speedup") is not None:
        pairs.append((-a["speedup"], -b["speedup"]))
    return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)


def _as_written(recipe: Any, name: str, row: dict[str, Any]) -> dict[str, Any]:
    """The options the user wrote under compress_weights plus the chosen search values:
    defaults stay implicit, as in a hand-written recipe."""
    raw = recipe.doc.data.get("variants", {}).get(name, {}).get("compress_weights") or {}
    search = recipe.variants[name].search
    effective = compress_params("compress_weights", row["settings"])
    # 8-bit modes ignore ratio/group_size: the pinned variant leaves them out
    chosen = {axis: row["settings"][axis] for axis in AXES if axis in search and axis in effective}
    return {**raw, **chosen}


def pin_snippet(name: str, settings: dict[str, Any]) -> str:
    """The chosen configuration as a variant the user can paste into the recipe."""
    import yaml

    doc = {"variants": {name: {"compress_weights": dict(sorted(settings.items()))}}}
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None)
