"""Labelled test sets for the ``dataset`` op: records with a text and its gold answer.

``params["labels"]`` (``runner.recipe.labels``) names the kind and its columns. The chosen
records are tokenized into ``samples.npz`` like any text source (so the set calibrates too);
the gold side goes to ``labels.json``, one entry per sample row in the same order:

- ``classification``: ``labels``: class ids (label names mapped through the model config's
  ``label2id``);
- ``pairs``: ``scores``; the second sentences are tokenized into ``pair/samples.npz``
  (read back with ``dataset.load_samples(dir / "pair")``);
- ``qa``: question + context tokenized as one pair (context truncated), ``rows``: the context,
  the acceptable answers and each token's character span in the context (null outside it).

Errors name the file and the row, never a value: the file may not be the recipe author's.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runner.adapters.sources import MAX_RECORD_BYTES, _lines, _pyarrow, json_lines, reservoir
from runner.adapters.token_arrays import RaggedTokens
from runner.core.errors import OvrunError

LABELS_FILE = "labels.json"
PAIR_DIR = "pair"


def read_labels(dataset_dir: Path) -> dict[str, Any] | None:
    """The gold side of a labelled set, or None for a plain one."""
    path = Path(dataset_dir) / LABELS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def records(fmt: str, path: Path, columns: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {column: value}) of every record: the file line for jsonl / csv / tsv,
    the 1-based row for parquet."""
    if fmt == "jsonl":
        yield from _jsonl(path, columns)
    elif fmt in ("csv", "tsv"):
        yield from _delimited(path, columns, "," if fmt == "csv" else "\t")
    elif fmt == "parquet":
        yield from _parquet(path, columns)
    else:
        raise OvrunError(
            f"labelled datasets read jsonl, csv, tsv or parquet, not {fmt}",
            hint="convert the set to one of those",
        )


def _jsonl(path: Path, columns: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, record in json_lines(path):
        if not isinstance(record, dict):
            raise OvrunError(f"{path}:{number}: not a JSON object", hint="one object a line")
        missing = [c for c in columns if c not in record]
        if missing:
            raise OvrunError(
                f"{path}:{number}: no field {missing[0]!r}",
                hint="every record needs the text and label fields the data entry names",
            )
        yield number, {c: record[c] for c in columns}


def _delimited(path: Path, columns: list[str], delimiter: str) -> Iterator[tuple[int, dict]]:
    at = [0]

    def lines() -> Iterator[str]:
        for number, line in _lines(path, None, MAX_RECORD_BYTES):
            at[0] = number
            yield line

    rows = csv.DictReader(lines(), delimiter=delimiter)
    try:
        header = rows.fieldnames or []
        missing = [c for c in columns if c not in header]
        if missing:
            raise OvrunError(
                f"{path}:1: no column {missing[0]!r} in the header ({len(header)} columns)",
                hint="the data entry's field and label columns must be header names",
            )
        for row in rows:
            yield at[0], {c: row[c] for c in columns}
    except csv.Error as err:
        raise OvrunError(
            f"{path}:{at[0]}: not valid {'TSV' if delimiter == chr(9) else 'CSV'} ({err})",
            hint="check the quoting of that row",
        ) from err


def _parquet(path: Path, columns: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    _pyarrow("parquet files")
    import pyarrow.parquet as pq

    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise OvrunError(f"no *.parquet files in {path}", hint="point parquet: at a file or dir")
    for file in files:
        parquet = pq.ParquetFile(file)
        names = parquet.schema_arrow.names
        missing = [c for c in columns if c not in names]
        if missing:
            raise OvrunError(
                f"{file}: no column {missing[0]!r} ({len(names)} columns)",
                hint="the data entry's field and label columns must be column names",
            )
        row = 1
        for batch in parquet.iter_batches(batch_size=1024, columns=columns):
            values = {c: batch.column(batch.schema.get_field_index(c)).to_pylist() for c in columns}
            for i in range(batch.num_rows):
                yield row + i, {c: values[c][i] for c in columns}
            row += batch.num_rows


def _text(value: Any, path: Path, row: int, column: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OvrunError(
            f"{path}:{row}: {column!r} is {'empty' if isinstance(value, str) else 'not text'}",
            hint=f"every record needs a non-empty text in {column!r}",
        )
    return value.strip()


def _score(value: Any, path: Path, row: int, column: str) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        score = math.nan
    if isinstance(value, bool) or not math.isfinite(score):
        raise OvrunError(
            f"{path}:{row}: score column {column!r} is not a finite number",
            hint="score: names a numeric column (the gold similarity of the pair)",
        )
    return score


def _answers(value: Any, path: Path, row: int, column: str) -> list[str]:
    answers = value if isinstance(value, list) else [value]
    if not answers or not all(isinstance(a, str) and a.strip() for a in answers):
        raise OvrunError(
            f"{path}:{row}: answer column {column!r} is not a non-empty string or list of strings",
            hint="answer: names a column holding the gold answer text",
        )
    return answers


def class_ids(model_dir: Path) -> tuple[dict[str, int], int]:
    """The model's label2id and its number of classes, from its config.json."""
    config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    label2id = {str(k): int(v) for k, v in (config.get("label2id") or {}).items()}
    count = len(config.get("id2label") or label2id) or int(config.get("num_labels") or 2)
    return label2id, count


def _class_id(
    value: Any, label2id: dict[str, int], count: int, path: Path, row: int, column: str
) -> int:
    if isinstance(value, str) and value.strip() in label2id:
        return label2id[value.strip()]
    index = -1  # not a class id unless it reads as a whole number
    if isinstance(value, int) and not isinstance(value, bool):
        index = value
    elif isinstance(value, float) and value.is_integer():
        index = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        index = int(value.strip())
    if not 0 <= index < count:
        names = ", ".join(sorted(label2id, key=label2id.__getitem__)) or "none"
        raise OvrunError(
            f"{path}:{row}: label column {column!r} holds neither one of the model's "
            f"{count} label names nor a class id below {count}",
            hint=f"the model's label2id names: {names}",
        )
    return index


def tokenize_labelled(
    params: dict[str, Any],
    source: Path,
    model_dir: Path,
    tokenizer: Any,
    max_length: int,
    out: Path,
    log: Any,
) -> tuple[RaggedTokens, dict[str, Any], RaggedTokens | None]:
    """Read, choose and tokenize the records; write labels.json. Returns the tokens of
    samples.npz, the summary, and for pairs the second sentences' tokens."""
    labels = params["labels"]
    kind = labels["kind"]
    fmt = params.get("format", "jsonl")
    field = params.get("field", "text")
    wanted = {"classification": [field, labels.get("label")], "pairs": [field]}.get(kind, [])
    wanted += [
        labels[c] for c in ("text_pair", "score", "question", "context", "answer") if c in labels
    ]
    columns = list(dict.fromkeys(c for c in wanted if c))
    chosen, total = reservoir(
        records(fmt, source, columns),
        int(params.get("samples", 1)),
        bool(params.get("shuffle", False)),
        int(params.get("seed", 0)),
    )
    if not chosen:
        raise OvrunError(f"dataset source {source} has no records", hint="add rows to the set")
    pad = tokenizer.pad_token_id or 0
    tokens, pair = RaggedTokens(pad), None
    gold: dict[str, Any] = {"kind": kind}
    if kind == "classification":
        texts = [_text(r[field], source, n, field) for n, r in chosen]
        label2id, count = class_ids(model_dir)
        gold["labels"] = [
            _class_id(r[labels["label"]], label2id, count, source, n, labels["label"])
            for n, r in chosen
        ]
        gold["classes"] = count
        tokens.add(tokenizer(texts, truncation=True, max_length=max_length))
    elif kind == "pairs":
        first = [_text(r[field], source, n, field) for n, r in chosen]
        second = [_text(r[labels["text_pair"]], source, n, labels["text_pair"]) for n, r in chosen]
        gold["scores"] = [_score(r[labels["score"]], source, n, labels["score"]) for n, r in chosen]
        tokens.add(tokenizer(first, truncation=True, max_length=max_length))
        pair = RaggedTokens(pad)
        pair.add(tokenizer(second, truncation=True, max_length=max_length))
    else:
        questions = [_text(r[labels["question"]], source, n, labels["question"]) for n, r in chosen]
        contexts = [r[labels["context"]] for _, r in chosen]
        for (n, _), context in zip(chosen, contexts, strict=True):
            _text(context, source, n, labels["context"])
        answers = [_answers(r[labels["answer"]], source, n, labels["answer"]) for n, r in chosen]
        if not getattr(tokenizer, "is_fast", False):
            raise OvrunError(
                "question answering needs a fast tokenizer (character offsets of the tokens)",
                hint="ship a tokenizer.json with the model",
            )
        encoded = tokenizer(
            questions,
            contexts,
            truncation="only_second",
            max_length=max_length,
            return_offsets_mapping=True,
        )
        rows = []
        for i, (context, gold_answers) in enumerate(zip(contexts, answers, strict=True)):
            sequence = encoded.sequence_ids(i)
            spans = [
                list(span) if part == 1 else None
                for part, span in zip(sequence, encoded["offset_mapping"][i], strict=True)
            ]
            rows.append({"context": context, "answers": gold_answers, "offsets": spans})
        gold["rows"] = rows
        tokens.add({k: v for k, v in encoded.items() if k != "offset_mapping"})
    (out / LABELS_FILE).write_text(json.dumps(gold), encoding="utf-8")
    log(f"labelled ({kind}): {len(chosen)} of {total} records")
    summary = {"labels": kind, "source_lines": total, "max_length": max_length}
    return tokens, summary, pair
