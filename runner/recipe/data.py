"""The ``data:`` block: one typed DatasetSpec per named entry, its source resolved and checked.

A dataset is keyed by its options (here) plus the content digest of its source file or
directory (the plan passes the path as a file input), so editing the data re-runs exactly
the tasks that read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.core.errors import OvrunError
from runner.recipe.labels import LabelSpec, build_labels
from runner.recipe.load import RecipeDoc

# Source kinds in the order the docs list them; exactly one per entry.
FILE_SOURCES = ("text", "jsonl", "csv", "tsv", "parquet", "datasets_dir", "npz")
SOURCES = (*FILE_SOURCES, "synthetic")
_DIR_SOURCES = ("parquet", "datasets_dir")  # may (or must) be directories
_NEEDS_MODEL = ("text", "jsonl", "csv", "tsv", "parquet", "datasets_dir")  # tokenized


@dataclass(frozen=True)
class DatasetSpec:
    """One data: entry, resolved: its source, format and sampling."""

    name: str
    format: str  # one of SOURCES
    source: Path | None  # resolved file or dir; None for synthetic
    samples: int
    seed: int
    shuffle: bool
    max_length: int
    padding: str = "longest"
    batch: int = 1
    field: str = "text"
    split: str | None = None
    synthetic: dict[str, Any] | None = None
    labels: LabelSpec | None = None  # a labelled test set (runner.recipe.labels)

    @property
    def text(self) -> Path | None:
        """The source path (older name, kept for callers that only knew text files)."""
        return self.source

    @property
    def tensors(self) -> bool:
        """Synthetic float tensors (``synthetic: {dtype: ...}``) rather than token ids."""
        return self.format == "synthetic" and "dtype" in (self.synthetic or {})

    @property
    def needs_model(self) -> bool:
        """Tokenized sources need the tokenizer; synthetic ids need the vocab size (synthetic
        tensors carry their shapes, so they do not)."""
        return self.format in _NEEDS_MODEL or (
            self.format == "synthetic"
            and not self.tensors
            and not (self.synthetic or {}).get("vocab_size")
        )

    def key_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "format": self.format,
            "samples": self.samples,
            "seed": self.seed,
            "shuffle": self.shuffle,
            "max_length": self.max_length,
            "padding": self.padding,
            "batch": self.batch,
        }
        # Only options that change the output go into the key.
        if self.format in ("jsonl", "csv", "tsv", "parquet", "datasets_dir"):
            params["field"] = self.field
        if self.format == "datasets_dir":
            params["split"] = self.split
        if self.format == "synthetic":
            params["synthetic"] = dict(sorted((self.synthetic or {}).items()))
        if self.labels is not None:  # only then: unlabelled sets keep their keys
            params["labels"] = self.labels.key_params()
        return params


def build_dataset(
    doc: RecipeDoc,
    name: str,
    entry: dict[str, Any],
    task: str | None = None,
    model_shapes: dict[str, list[int]] | None = None,
) -> DatasetSpec:
    """``entry`` has the schema defaults filled in; ``task`` is model.task (label checks);
    ``model_shapes`` (model.shapes) shapes synthetic tensors that name no shapes of their own."""
    where = ("data", name)
    given = [kind for kind in SOURCES if kind in entry]
    if len(given) != 1:
        message = (
            f"dataset '{name}' names no source"
            if not given
            else f"dataset '{name}' names {len(given)} sources ({', '.join(given)}); exactly one is allowed"
        )
        raise OvrunError(
            message,
            hint=f"use one of: {', '.join(SOURCES)}",
            location=doc.location(where, key=True),
        )
    kind = given[0]
    source = None
    if kind in FILE_SOURCES:
        source = _resolve(doc, (*where, kind), entry[kind], kind)
    if "split" in entry and kind != "datasets_dir":
        raise OvrunError(
            f"split applies to datasets_dir sources, not {kind}",
            hint="remove split:",
            location=doc.location((*where, "split"), key=True),
        )
    return DatasetSpec(
        name,
        kind,
        source,
        entry["samples"],
        entry["seed"],
        entry["shuffle"],
        entry["max_length"],
        entry.get("padding", "longest"),
        entry.get("batch", 1),
        entry.get("field", "text"),
        entry.get("split"),
        _synthetic(doc, where, entry, model_shapes) if kind == "synthetic" else None,
        build_labels(doc, name, entry, kind, task),
    )


def _synthetic(
    doc: RecipeDoc, where: tuple, entry: dict[str, Any], model_shapes: dict[str, list[int]] | None
) -> dict[str, Any]:
    """The synthetic options as keyed. Token ids keep exactly the options written (their keys
    stay as they were); tensors get their shapes (written, or model.shapes) and value range
    filled in, so the key says what is drawn."""
    spec = dict(entry["synthetic"])
    if "dtype" not in spec:
        return spec
    at = (*where, "synthetic")
    if "length" in spec or "vocab_size" in spec:
        raise OvrunError(
            "synthetic: dtype draws float tensors; length and vocab_size are for token ids",
            hint="remove length / vocab_size, or remove dtype for token ids",
            location=doc.location(at),
        )
    shapes = spec.get("shapes") or model_shapes
    if not shapes:
        raise OvrunError(
            "synthetic float tensors need input shapes",
            hint="set model.shapes (static input shapes, batch first), or synthetic.shapes",
            location=doc.location(at),
        )
    low, high = float(spec.get("low", 0.0)), float(spec.get("high", 1.0))
    if not low < high:
        raise OvrunError(
            f"synthetic: low ({low}) must be below high ({high})",
            hint="e.g. low: -1, high: 1",
            location=doc.location(at),
        )
    # rows are drawn without the batch dimension: the dataset's batch stacks them
    rows = {name: list(dims[1:]) for name, dims in sorted(shapes.items())}
    return {"dtype": spec["dtype"], "shapes": rows, "low": low, "high": high}


def _resolve(doc: RecipeDoc, path: tuple, value: str, kind: str) -> Path:
    resolved = doc.confined(path, value, f"data source {kind}:")
    if not resolved.exists():
        raise OvrunError(
            f"data file not found: {value} (resolved to {resolved})",
            hint="paths are relative to the recipe file",
            location=doc.location(path),
        )
    if kind == "datasets_dir" and not resolved.is_dir():
        raise OvrunError(
            f"datasets_dir is not a directory: {value}",
            hint="point it at the directory Dataset.save_to_disk wrote",
            location=doc.location(path),
        )
    if kind not in _DIR_SOURCES and not resolved.is_file():
        raise OvrunError(
            f"data file is not a file: {value}",
            hint=f"{kind}: takes a file",
            location=doc.location(path),
        )
    return resolved
