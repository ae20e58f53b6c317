"""Resolve the names of parsed `assert:` lines against a recipe, when it loads: a typo is
exit 2 at the assert's FILE:LINE:COL, not a surprise after an hour of benchmarking."""

from __future__ import annotations

from runner.core.errors import Location, OvrunError, suggest
from runner.recipe.asserts import (
    CELL_METRICS,
    VARIANT_METRICS,
    Assertion,
    AssertSyntaxError,
    Node,
    Ref,
    parse,
)
from runner.recipe.matrix import cells
from runner.recipe.spec import Recipe


def _names(node: Node) -> list[Node]:
    if node.kind == "name":
        return [node]
    return [n for child in node.children for n in _names(child)]


def resolve_name(segments: tuple[str, ...], recipe: Recipe) -> Ref:
    """The Ref a dotted name means in ``recipe``; raises ValueError(message, hint) otherwise."""
    from runner.recipe.runtimes import ort_label, uses_ort

    variants = list(recipe.variants)
    variant = segments[0]
    if "@" in variant or (uses_ort(recipe) and variant == ort_label(recipe)):
        return _ort_name(segments, recipe)
    if variant not in variants:
        raise ValueError(
            f"unknown variant '{variant}'",
            suggest(variant, variants, otherwise=f"variants: {', '.join(variants)}"),
        )
    if len(segments) < 2:
        raise ValueError(
            f"'{variant}' needs a metric",
            f"e.g. {variant}.accuracy_drop or {variant}.CPU.LATENCY.throughput",
        )
    metric = segments[-1]
    if len(segments) == 2:
        if metric not in VARIANT_METRICS:
            raise ValueError(
                f"unknown variant metric '{metric}'",
                _suggest(metric, list(VARIANT_METRICS))
                + " (benchmark metrics need the cell: VARIANT.DEVICE.HINT.METRIC)",
            )
        if "accuracy" in metric and recipe.evaluate is None:
            raise ValueError(
                f"{variant}.{metric} needs an evaluate: section", "add evaluate: to the recipe"
            )
        _check_labelled(recipe, variant, metric)
        return Ref(variant, metric)
    cell_ids = [c.id for c in cells(recipe)]
    wanted = ".".join(segments[1:-1])
    match = [c for c in cell_ids if c.replace(":", ".") == wanted]
    if not match:
        shown = [c.replace(":", ".") for c in cell_ids]
        raise ValueError(
            f"no benchmark cell '{wanted}'",
            suggest(wanted, shown, otherwise=f"cells: {', '.join(shown)}"),
        )
    if metric not in CELL_METRICS:
        raise ValueError(
            f"unknown benchmark metric '{metric}'", _suggest(metric, list(CELL_METRICS))
        )
    if metric == "speedup" and recipe.evaluate is None:
        raise ValueError("speedup needs a reference variant", "add evaluate: with reference:")
    return Ref(variant, metric, match[0])


def _check_labelled(recipe: Recipe, variant: str, metric: str) -> None:
    """spearman / exact_match / f1 exist only on an evaluation set with the matching labels."""
    from runner.recipe.labels import KIND_COLUMNS, KIND_METRICS

    kinds = [kind for kind, names in KIND_METRICS.items() if metric in names]
    if not kinds or metric == "accuracy":
        return
    ev = recipe.evaluate
    labels = recipe.data[ev.dataset].labels if ev is not None else None
    if labels is None or labels.kind not in kinds:
        needs = " + ".join(f"{c}:" for c in KIND_COLUMNS[kinds[0]])
        where = f"evaluate.dataset '{ev.dataset}'" if ev is not None else "an evaluate: section"
        raise ValueError(
            f"{variant}.{metric} needs a labelled evaluation set ({needs} columns)",
            f"give {where} the label columns {needs}",
        )


def _ort_name(segments: tuple[str, ...], recipe: Recipe) -> Ref:
    """``fp32@onnxruntime.CPU.LATENCY.throughput``: an ONNX Runtime cell (runner.recipe.runtimes)."""
    from runner.recipe.runtimes import ort_cells, ort_label, uses_ort

    variant = segments[0]
    if not uses_ort(recipe) or variant != ort_label(recipe):
        known = ort_label(recipe) if uses_ort(recipe) else None
        raise ValueError(
            f"unknown variant '{variant}'",
            f"the ONNX Runtime cells are {known}"
            if known
            else "add onnxruntime to targets.runtimes to benchmark ONNX Runtime cells",
        )
    ids = [c.id for c in ort_cells(recipe)]
    wanted = ".".join(segments[1:-1])
    match = [c for c in ids if c.replace(":", ".") == wanted]
    if not match:
        shown = [c.replace(":", ".") for c in ids]
        raise ValueError(
            f"no onnxruntime cell '{wanted}'",
            suggest(wanted, shown, otherwise=f"cells: {', '.join(shown)}"),
        )
    metric = segments[-1]
    if metric not in CELL_METRICS:
        raise ValueError(
            f"unknown benchmark metric '{metric}'", _suggest(metric, list(CELL_METRICS))
        )
    return Ref(variant, metric, match[0])


def _suggest(word: str, choices: list[str]) -> str:
    return suggest(word, choices, otherwise=f"one of: {', '.join(choices)}") or ""


def _location(recipe: Recipe, index: int, offset: int) -> Location:
    """Where character ``offset`` of assert ``index`` is in the recipe file."""
    base = recipe.location("assert", index)
    if base.line is None:
        return base
    col = base.col or 1
    try:
        line = recipe.file.read_text(encoding="utf-8").splitlines()[base.line - 1]
        if line[col - 1 : col] in ("'", '"'):
            col += 1  # a quoted scalar: its text starts after the quote
    except (OSError, IndexError):
        pass
    return Location(base.file, base.line, col + offset)


def parse_recipe_asserts(recipe: Recipe) -> list[Assertion]:
    """Parse and resolve every `assert:` line; the first problem is an OvrunError (exit 2)."""
    out: list[Assertion] = []
    for index, text in enumerate(recipe.raw.get("assert") or []):
        try:
            tree = parse(text)
        except AssertSyntaxError as exc:
            raise OvrunError(
                f"assert: {exc.message}", hint=exc.hint, location=_location(recipe, index, exc.pos)
            ) from None
        refs: list[Ref] = []
        for name in _names(tree):
            try:
                ref = resolve_name(name.value, recipe)
            except ValueError as exc:
                message, hint = exc.args
                raise OvrunError(
                    f"assert: {message}", hint=hint, location=_location(recipe, index, name.start)
                ) from None
            name.ref = ref
            refs.append(ref)
        out.append(Assertion(text, index, _location(recipe, index, 0), tree, refs))
    return out
