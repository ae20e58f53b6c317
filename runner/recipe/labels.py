"""Label columns of a ``data:`` entry: what makes a dataset a labelled test set.

Three kinds, one per task the metrics understand:

- ``classification``: ``label: COLUMN`` (text in ``field``) -> accuracy;
- ``pairs``: ``text_pair: COLUMN`` + ``score: COLUMN`` (first sentence in ``field``) ->
  Spearman correlation of the pair embeddings' cosine similarity with the gold score;
- ``qa``: ``question`` + ``context`` + ``answer`` columns -> SQuAD exact match and F1.

The kind and the column names go into the dataset's key (the file's digest already does), so
the evaluations that read the set are keyed by the label data too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.core.errors import OvrunError
from runner.recipe.load import RecipeDoc

# kind -> the columns it needs, in the order the docs name them
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "classification": ("label",),
    "pairs": ("text_pair", "score"),
    "qa": ("question", "context", "answer"),
}
LABEL_KEYS = tuple(key for columns in KIND_COLUMNS.values() for key in columns)
KIND_TASK = {
    "classification": "text-classification",
    "pairs": "feature-extraction",
    "qa": "question-answering",
}
# kind -> the metrics an evaluation on it reports; the first one is what evaluate.max_drop gates
KIND_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy",),
    "pairs": ("spearman",),
    "qa": ("f1", "exact_match"),
}
TASK_METRIC_NAMES = ("accuracy", "spearman", "exact_match", "f1")
LABEL_FORMATS = ("jsonl", "csv", "tsv", "parquet")  # sources with named columns per record


@dataclass(frozen=True)
class LabelSpec:
    kind: str  # one of KIND_COLUMNS
    columns: dict[str, str]  # label key -> column name

    @property
    def primary(self) -> str:
        return KIND_METRICS[self.kind][0]

    def key_params(self) -> dict[str, Any]:
        return {"kind": self.kind, **dict(sorted(self.columns.items()))}


def build_labels(
    doc: RecipeDoc, name: str, entry: dict[str, Any], fmt: str, task: str | None
) -> LabelSpec | None:
    """The entry's labels, or None for plain text; a bad combination is exit 2 at its key."""
    where = ("data", name)
    given = [key for key in LABEL_KEYS if key in entry]
    if not given:
        return None
    kinds = [kind for kind, cols in KIND_COLUMNS.items() if any(c in entry for c in cols)]
    if len(kinds) > 1:
        second = next(c for c in given if c in KIND_COLUMNS[kinds[1]])
        raise OvrunError(
            f"dataset '{name}' mixes {kinds[0]} and {kinds[1]} label columns",
            hint=_kinds_hint(),
            location=doc.location((*where, second), key=True),
        )
    kind = kinds[0]
    missing = [c for c in KIND_COLUMNS[kind] if c not in entry]
    if missing:
        raise OvrunError(
            f"dataset '{name}': {given[0]} needs {' and '.join(missing)} too ({kind} labels)",
            hint=_kinds_hint(),
            location=doc.location((*where, given[0]), key=True),
        )
    if fmt not in LABEL_FORMATS:
        raise OvrunError(
            f"dataset '{name}': label columns need a source with columns, not {fmt}",
            hint=f"use one of: {', '.join(LABEL_FORMATS)}",
            location=doc.location((*where, given[0]), key=True),
        )
    if task is not None and task != KIND_TASK[kind]:
        raise OvrunError(
            f"dataset '{name}': {kind} labels need model.task {KIND_TASK[kind]}, not {task}",
            hint=_kinds_hint(),
            location=doc.location((*where, given[0]), key=True),
        )
    columns = {c: entry[c] for c in KIND_COLUMNS[kind]}
    if kind != "qa" and entry.get("field", "text") in columns.values():
        clash = next(c for c in KIND_COLUMNS[kind] if columns[c] == entry.get("field", "text"))
        raise OvrunError(
            f"dataset '{name}': {clash} names the text column {columns[clash]!r}",
            hint="field: names the text; the label columns name other columns",
            location=doc.location((*where, clash)),
        )
    return LabelSpec(kind, columns)


def _kinds_hint() -> str:
    return (
        "label: COLUMN (text-classification); text_pair: + score: (feature-extraction); "
        "question: + context: + answer: (question-answering)"
    )
