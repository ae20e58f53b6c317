"""A recipe file -> the typed Recipe: compose (extends, params, --set), validate against the
schema, fill defaults, resolve references, then run every semantic check (exit 2 at a
FILE:LINE:COL on the first problem)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.core.errors import OvrunError, suggest
from runner.recipe import schema as schema_mod
from runner.recipe.data import DatasetSpec, build_dataset
from runner.recipe.load import RecipeDoc
from runner.recipe.model_sources import check_trust_remote_code, resolve_source
from runner.recipe.properties import check_path_properties
from runner.recipe.spec import (
    TASK_METRIC,
    BenchmarkSpec,
    EvaluateSpec,
    ModelSpec,
    Recipe,
    Targets,
    VariantSpec,
)
from runner.recipe.test_ops import split_test_ops

if TYPE_CHECKING:
    from runner.core.confine import Grants
    from runner.recipe.compose import Overrides


def fill_defaults(data: Any, schema: dict) -> Any:
    """Return a copy of ``data`` with every schema ``default`` filled in, recursively."""
    if not isinstance(data, dict) or schema.get("type") != "object":
        return data
    out = dict(data)
    props = schema.get("properties", {})
    for name, sub in props.items():
        if name not in out and "default" in sub:
            out[name] = copy.deepcopy(sub["default"])
        if name in out:
            out[name] = fill_defaults(out[name], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for name in out:
            if name not in props:
                out[name] = fill_defaults(out[name], extra)
    return out


def _number(value: Any) -> Any:
    # 1 and 1.0 are the same ratio; keys must not differ by spelling
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _normalized(section: dict[str, Any], floats: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: (_number(v) if k in floats else v) for k, v in sorted(section.items())}


def _quantize_settings(raw: dict[str, Any]) -> dict[str, Any]:
    settings = _normalized(raw)
    if settings.get("preset") is None:
        # NNCF's own rule, resolved here so that spelling it out gives the same key
        settings["preset"] = (
            "mixed" if settings.get("model_type") == "transformer" else "performance"
        )
    return settings


def _qat_settings(raw: dict[str, Any]) -> dict[str, Any]:
    # lr 1 and 1.0 key alike; the init block resolves NNCF's preset rule like quantize:
    settings = _normalized(raw, floats=("lr",))
    settings["init"] = _quantize_settings(settings.get("init") or {})
    return settings


def _unknown_ref(doc: RecipeDoc, path: tuple, what: str, name: str, known: list[str]) -> OvrunError:
    if known:
        otherwise = f"defined {what}s: {', '.join(known)}"
    else:
        otherwise = (
            f"define it under '{what}s:'" if what == "variant" else "define it under 'data:'"
        )
    hint = suggest(name, known, otherwise=otherwise)
    return OvrunError(f"unknown {what} '{name}'", hint=hint, location=doc.location(path))


def build(doc: RecipeDoc, memo_dir: Path | None = None) -> Recipe:
    """Validate ``doc`` against the schema and turn it into a typed Recipe."""
    doc, test_ops = split_test_ops(doc)  # refused unless OVRUN_TEST_OPS=1
    schema_mod.validate(doc, memo_dir)
    check_path_properties(doc, schema_mod.load_schema())
    data = fill_defaults(doc.data, schema_mod.load_schema())

    model_raw = data["model"]
    source = resolve_source(doc, model_raw["source"])
    model = ModelSpec(
        source,
        model_raw["task"],
        model_raw["weight_format"],
        check_trust_remote_code(doc, model_raw, source),
        {name: list(dims) for name, dims in sorted(model_raw.get("shapes", {}).items())},
    )

    datasets: dict[str, DatasetSpec] = {
        name: build_dataset(doc, name, d, model.task, model.shapes)
        for name, d in data.get("data", {}).items()
    }

    variants: dict[str, VariantSpec] = {}
    for name, v in data["variants"].items():
        for algo, field_name in (
            ("quantize", "dataset"),
            ("quantize", "validation_dataset"),
            ("compress_weights", "dataset"),
            ("qat", "dataset"),
        ):
            ref = (v.get(algo) or {}).get(field_name)
            if ref is not None and ref not in datasets:
                raise _unknown_ref(
                    doc, ("variants", name, algo, field_name), "dataset", ref, list(datasets)
                )
        quantize = _quantize_settings(v["quantize"]) if "quantize" in v else None
        weights = (
            _normalized(v["compress_weights"], floats=("ratio",))
            if "compress_weights" in v
            else None
        )
        search = (
            _normalized(v["search"], floats=("max_drop", "min_speedup")) if "search" in v else None
        )
        qat = _qat_settings(v["qat"]) if "qat" in v else None
        variants[name] = VariantSpec(name, v.get("description", ""), quantize, weights, search, qat)

    t = data["targets"]
    targets = Targets(
        list(t["devices"]),
        list(t["hints"]),
        dict(sorted(t["properties"].items())),
        list(t.get("precisions", [None])),
        list(t.get("streams", [None])),
        list(t.get("threads", [None])),
        list(t.get("runtimes", ["openvino"])),
    )
    b = data["benchmark"]
    batches = b["batch"] if isinstance(b["batch"], list) else [b["batch"]]
    seq_lens = b["seq_len"] if isinstance(b["seq_len"], list) else [b["seq_len"]]
    bench = BenchmarkSpec(
        float(b["duration_s"]),
        b["warmup"],
        batches[0],
        seq_lens[0],
        b["seed"],
        batches,
        seq_lens,
        b.get("repeats", 1),
        b.get("iterations"),
        b.get("max_new_tokens", 32),
        b.get("prompts"),
    )
    if bench.prompts is not None and bench.prompts not in datasets:
        raise _unknown_ref(doc, ("benchmark", "prompts"), "dataset", bench.prompts, list(datasets))

    evaluate = None
    if "evaluate" in data:
        e = data["evaluate"]
        if e["dataset"] not in datasets:
            raise _unknown_ref(
                doc, ("evaluate", "dataset"), "dataset", e["dataset"], list(datasets)
            )
        if e["reference"] not in variants:
            raise _unknown_ref(
                doc, ("evaluate", "reference"), "variant", e["reference"], list(variants)
            )
        metric = e.get("metric") or TASK_METRIC[model.task]
        if metric != TASK_METRIC[model.task]:
            raise OvrunError(
                f"metric '{metric}' does not apply to task '{model.task}'",
                hint=f"use metric: {TASK_METRIC[model.task]} (or leave it out)",
                location=doc.location(("evaluate", "metric")),
            )
        max_drop = _number(e["max_drop"]) if "max_drop" in e else None
        evaluate = EvaluateSpec(
            e["dataset"],
            e["reference"],
            metric,
            max_drop,
            e["device"],
            dict(sorted(e["properties"].items())),
            e["gate"],
        )

    recipe = Recipe(
        name=data["name"],
        description=data.get("description", ""),
        file=Path(doc.file).resolve(),
        doc=doc,
        model=model,
        data=datasets,
        variants=variants,
        targets=targets,
        benchmark=bench,
        evaluate=evaluate,
        raw=data,
        test_ops=test_ops,
    )
    from runner.recipe.matrix import check_matrix

    check_matrix(recipe)
    from runner.recipe.compression import check_compression

    check_compression(recipe)
    from runner.recipe.runtimes import check_runtimes

    check_runtimes(recipe)
    if recipe.raw.get("assert"):  # the assert parser is imported only for a recipe that has some
        from runner.recipe.assert_names import parse_recipe_asserts

        recipe.asserts = parse_recipe_asserts(recipe)
    from runner.recipe.deploy import parse_deploy

    recipe.deploy = parse_deploy(doc, data, list(variants), model.source)
    return recipe


def load_recipe(
    path: str | Path,
    overrides: Overrides | None = None,
    memo_dir: Path | None = None,
    grants: Grants | None = None,
    parse_memo: Path | None = None,
) -> Recipe:
    """``overrides``: --set / --param (None: none); ``memo_dir``: where documents that passed
    the schema are remembered (`runner.recipe.schema.validate`); ``grants``: --allow-read /
    --allow-pickle (None: only what OVRUN_ALLOW_READ allows); ``parse_memo``: where parses of
    the files' text are remembered (`runner.recipe.parse_memo`)."""
    from runner.recipe.compose import load_composed

    return build(load_composed(Path(path), overrides, grants, parse_memo), memo_dir)
