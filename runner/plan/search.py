"""Auto-search over compress_weights options, built on the ordinary engine.

Each candidate of a variant's ``search:`` block is one chain of ordinary tasks —
``compress:<v>@<id>`` -> ``eval:<v>@<id>`` (-> ``bench:<v>@<id>:<cell>`` with ``min_speedup``)
— keyed like any other task, so a rerun or a wider search reuses every candidate already
built. Chains are placed in the plan cheapest first (data-free before data-aware), and,
within that, least aggressive first (fewer 4-bit weights, smaller groups, more bits), so
that when a candidate misses ``max_drop`` the executor can skip every candidate that is at
least as aggressive on every axis (``prune``; it assumes accuracy falls monotonically along
those axes, and says so in the reason). After the run `runner.report.search.summarize` reads the candidates'
results from the cache and derives the Pareto set and the chosen configuration.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.core.errors import OvrunError
from runner.plan.compress import compress_params, compress_tasks
from runner.plan.evaluation import evaluation_params
from runner.plan.ops import OPS
from runner.plan.tasks import Task

if TYPE_CHECKING:
    from runner.recipe.spec import Recipe

# task id -> the result.json of that task when it ran or was cached in this run, else None
ResultReader = Callable[[str], "dict[str, Any] | None"]

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
    """One candidate of a search: variant's settings and the tasks that try it."""

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

    recipe: Recipe
    model_task: dict[str, str]
    use_dataset: Callable[[str], str]
    by_variant: dict[str, list[Candidate]] = field(default_factory=dict)

    def chains(self, tasks: list[Task]) -> list[Task]:
        """Candidate chains; ``tasks`` (already planned) supply the reference benchmarks."""
        out: list[Task] = []
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
                    task_id=cand.compress_id,
                    labels=labels,
                ):
                    if all(t.id != task.id for t in (*tasks, *out)):
                        out.append(task)
                cand.eval_id = f"eval:{cand.name}"
                out.append(
                    Task(
                        cand.eval_id,
                        OPS["evaluate"],
                        evaluation_params(self.recipe),
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
                        Task(
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


def _reference_bench(recipe: Recipe, tasks: list[Task], name: str, search: dict[str, Any]) -> Task:
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
    recipe: Recipe, model_task: dict[str, str], use_dataset: Callable[[str], str]
) -> Searched:
    searched = Searched(recipe, model_task, use_dataset)
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

    def __call__(self, task: Task, read_result: ResultReader) -> str | None:
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
                drop = eval_drop(read_result, other)
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


def eval_drop(read_result: ResultReader, cand: Candidate) -> float | None:
    result = read_result(cand.eval_id) if cand.eval_id else None
    return None if result is None else result.get("accuracy_drop")


def as_written(recipe: Recipe, name: str, row: dict[str, Any]) -> dict[str, Any]:
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
