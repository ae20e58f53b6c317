"""Readers for the text sources a ``data:`` entry may name: one list of strings each.

Formats: ``text`` (one sample per non-empty line), ``jsonl`` (one JSON object per line,
``field`` names the key), ``csv`` / ``tsv`` (header row, ``field`` names the column),
``parquet`` (a file or a directory of ``*.parquet``) and ``datasets_dir`` (a directory
written by Hugging Face ``datasets``' ``save_to_disk``: Arrow IPC stream shards listed in
``state.json``, read with pyarrow alone so ovrun does not need the ``datasets`` package).

Every reader reports the file and the line/row (or column index) of a bad record, so the
user can fix it, and never the file's content: a recipe may name a file its author cannot
read (a secret beside the project), and the error lands on the console and in results.json.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from runner.core.errors import OvrunError

TEXT_FORMATS = ("text", "jsonl", "csv", "tsv", "parquet", "datasets_dir")


def read_texts(fmt: str, path: Path, field: str, split: str | None = None) -> list[str]:
    """The non-empty text samples of ``path`` in file order."""
    reader = _READERS.get(fmt)
    if reader is None:
        raise OvrunError(
            f"dataset format {fmt!r} is not a text format",
            hint=f"text formats: {', '.join(TEXT_FORMATS)}",
        )
    if not path.exists():
        raise OvrunError(f"dataset source {path} does not exist", hint="check the data path")
    texts = [t.strip() for t in reader(path, field, split) if t and t.strip()]
    if not texts:
        what = "text lines" if fmt == "text" else "text samples"
        raise OvrunError(f"dataset source {path} has no {what}", hint=_EMPTY_HINT[fmt])
    return texts


_EMPTY_HINT = {
    "text": "put one sample per line",
    "jsonl": "put one JSON object per line with a non-empty text field",
    "csv": "add rows below the header",
    "tsv": "add rows below the header",
    "parquet": "the column holds no non-empty strings",
    "datasets_dir": "the column holds no non-empty strings",
}


def _read_utf8(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise OvrunError(
            f"dataset file {path} is not UTF-8 text (byte {err.start})",
            hint="save it as UTF-8",
        ) from err


def _text(path: Path, field: str, split: str | None) -> list[str]:
    return _read_utf8(path).splitlines()


def _jsonl(path: Path, field: str, split: str | None) -> list[str]:
    texts = []
    for number, line in enumerate(_read_utf8(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise OvrunError(
                f"{path}:{number}: not valid JSON ({err.msg})", hint="JSONL: one JSON object a line"
            ) from err
        if not isinstance(record, dict) or field not in record:
            what = (
                f"an object of {len(record)} keys" if isinstance(record, dict) else "not an object"
            )
            raise OvrunError(
                f"{path}:{number}: no field {field!r} ({what})",
                hint="set field: to the key that holds the text",
            )
        texts.append(_as_text(record[field], path, number, field))
    return texts


def _as_text(value: object, path: Path, row: int, field: str) -> str:
    if not isinstance(value, str):
        raise OvrunError(
            f"{path}:{row}: field {field!r} is {type(value).__name__}, not text",
            hint="field: must name a string column",
        )
    return value


def _delimited(delimiter: str) -> Callable[[Path, str, str | None], list[str]]:
    def read(path: Path, field: str, split: str | None) -> list[str]:
        rows = csv.DictReader(_read_utf8(path).splitlines(), delimiter=delimiter)
        if rows.fieldnames is None or field not in rows.fieldnames:
            found = f"{len(rows.fieldnames)} columns" if rows.fieldnames else "no header"
            raise OvrunError(
                f"{path}:1: no column {field!r} in the header ({found})",
                hint="set field: to the column that holds the text",
            )
        # DictReader counts the header as line 1, so data rows start at line 2
        return [row[field] or "" for row in rows]

    return read


def _column(table, field: str, where: Path) -> list[str]:
    if field not in table.column_names:
        raise OvrunError(
            f"{where}: no column {field!r} ({len(table.column_names)} columns)",
            hint="set field: to the column that holds the text",
        )
    values = table.column(field).to_pylist()
    for row, value in enumerate(values, start=1):
        if value is not None:
            _as_text(value, where, row, field)
    return [v or "" for v in values]


def _pyarrow(what: str):
    try:
        import pyarrow
    except ImportError as err:
        raise OvrunError(
            f"reading {what} needs pyarrow, which is not installed",
            hint="pip install pyarrow (or pip install 'ovrun[data]')",
        ) from err
    return pyarrow


def _parquet(path: Path, field: str, split: str | None) -> list[str]:
    _pyarrow("parquet files")
    import pyarrow.parquet as pq

    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise OvrunError(f"no *.parquet files in {path}", hint="point parquet: at a file or dir")
    texts: list[str] = []
    for file in files:
        try:
            table = pq.read_table(file)
        except Exception as err:  # pyarrow raises ArrowInvalid / OSError for damaged files
            raise OvrunError(
                f"cannot read parquet file {file} ({type(err).__name__})", hint="check the file"
            ) from err
        texts.extend(_column(table, field, file))
    return texts


def _datasets_dir(path: Path, field: str, split: str | None) -> list[str]:
    pa = _pyarrow("a datasets save_to_disk dir")
    if not path.is_dir():
        raise OvrunError(
            f"{path} is not a directory", hint="datasets_dir: takes a save_to_disk dir"
        )
    splits_file = path / "dataset_dict.json"
    if splits_file.is_file():
        splits = json.loads(splits_file.read_text(encoding="utf-8")).get("splits", [])
        chosen = split or ("train" if "train" in splits else None)
        if chosen not in splits:
            raise OvrunError(
                f"{path} is a DatasetDict; split {chosen!r} is not one of its {len(splits)} splits",
                hint="set split: to one of the splits in its dataset_dict.json",
            )
        path = path / chosen
    elif split is not None:
        raise OvrunError(f"{path} holds a single Dataset, not splits", hint="remove split:")
    state_file = path / "state.json"
    if not state_file.is_file():
        raise OvrunError(
            f"{path} has no state.json: not written by datasets' save_to_disk",
            hint="save the dataset with Dataset.save_to_disk(dir), or use parquet:/jsonl:",
        )
    shards = [entry["filename"] for entry in json.loads(state_file.read_text())["_data_files"]]
    texts: list[str] = []
    for shard in shards:
        with pa.memory_map(str(path / shard)) as source:
            table = pa.ipc.open_stream(source).read_all()
        texts.extend(_column(table, field, path / shard))
    return texts


_READERS: dict[str, Callable[[Path, str, str | None], list[str]]] = {
    "text": _text,
    "jsonl": _jsonl,
    "csv": _delimited(","),
    "tsv": _delimited("\t"),
    "parquet": _parquet,
    "datasets_dir": _datasets_dir,
}
