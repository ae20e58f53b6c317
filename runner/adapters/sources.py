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
import random
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from runner.core.errors import OvrunError

TEXT_FORMATS = ("text", "jsonl", "csv", "tsv", "parquet", "datasets_dir")
# A record (a JSON line, a CSV row) is parsed whole, so its line has a hard limit; a plain
# text line is only cut, since tokenizing reads just its first max_length tokens.
MAX_RECORD_BYTES = 16 << 20
_CHUNK = 1 << 20
T = TypeVar("T")


def read_texts(fmt: str, path: Path, field: str, split: str | None = None) -> list[str]:
    """The non-empty text samples of ``path`` in file order (tests and small files)."""
    return list(iter_texts(fmt, path, field, split, max_chars=None))


def select_texts(
    fmt: str,
    path: Path,
    field: str,
    split: str | None,
    count: int,
    shuffle: bool,
    seed: int,
    max_chars: int | None,
) -> tuple[list[str], int]:
    """``count`` samples (the first ones, or a seeded uniform sample with ``shuffle``) and how
    many the source holds. Streams: memory holds the chosen samples, each cut to
    ``max_chars``, never the whole file."""
    return reservoir(iter_texts(fmt, path, field, split, max_chars), count, shuffle, seed)


def reservoir(items: Iterable[T], count: int, shuffle: bool, seed: int) -> tuple[list[T], int]:
    """The first ``count`` items, or with ``shuffle`` a seeded uniform sample of them, and
    how many there were; memory holds only the chosen ones."""
    chosen: list[T] = []
    rng = random.Random(seed)
    total = 0
    for item in items:
        if len(chosen) < count:
            chosen.append(item)
        elif shuffle:  # reservoir sampling (Algorithm R): every sample kept with p = count/n
            slot = rng.randrange(total + 1)
            if slot < count:
                chosen[slot] = item
        total += 1
    if shuffle:
        rng.shuffle(chosen)  # the reservoir keeps file order in its first slots
    return chosen, total


def iter_texts(
    fmt: str, path: Path, field: str, split: str | None, max_chars: int | None
) -> Iterator[str]:
    """Non-empty, stripped text samples of ``path`` in file order, each cut to ``max_chars``."""
    reader = _READERS.get(fmt)
    if reader is None:
        raise OvrunError(
            f"dataset format {fmt!r} is not a text format",
            hint=f"text formats: {', '.join(TEXT_FORMATS)}",
        )
    if not path.exists():
        raise OvrunError(f"dataset source {path} does not exist", hint="check the data path")
    found = False
    for text in reader(path, field, split, max_chars):
        text = text.strip() if text else ""
        if text:
            found = True
            yield text[:max_chars] if max_chars else text
    if not found:
        what = "text lines" if fmt == "text" else "text samples"
        raise OvrunError(f"dataset source {path} has no {what}", hint=_EMPTY_HINT[fmt])


_EMPTY_HINT = {
    "text": "put one sample per line",
    "jsonl": "put one JSON object per line with a non-empty text field",
    "csv": "add rows below the header",
    "tsv": "add rows below the header",
    "parquet": "the column holds no non-empty strings",
    "datasets_dir": "the column holds no non-empty strings",
}


def _raw_lines(path: Path, keep: int | None) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, the line's first ``keep`` bytes, whether it was cut), read in bounded
    chunks: a 1 GB line never sits in memory whole."""
    number, parts, size, cut = 1, [], 0, False
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            pieces = chunk.split(b"\n")
            for i, piece in enumerate(pieces):
                if keep is None or size < keep:
                    room = piece if keep is None else piece[: keep - size]
                    parts.append(room)
                    size += len(room)
                    cut = cut or len(room) < len(piece)
                else:
                    cut = cut or bool(piece)
                if i < len(pieces) - 1:  # a newline ends this line
                    yield number, b"".join(parts), cut
                    number, parts, size, cut = number + 1, [], 0, False
    if parts and any(parts):
        yield number, b"".join(parts), cut


def _decode(raw: bytes, cut: bool, path: Path, number: int) -> str:
    if cut:  # the cut may split a multi-byte character: drop its lead bytes
        raw = raw[: len(raw) - _partial_tail(raw)]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise OvrunError(
            f"dataset file {path} is not UTF-8 text (line {number}, byte {err.start} of the line)",
            hint="save it as UTF-8",
        ) from err


def _partial_tail(raw: bytes) -> int:
    """How many bytes at the end of ``raw`` begin a UTF-8 character they do not finish."""
    for back in range(1, min(4, len(raw)) + 1):
        byte = raw[-back]
        if byte & 0xC0 != 0x80:  # a lead byte (or ASCII): does its sequence fit?
            need = 1 if byte < 0x80 else 2 if byte >> 5 == 6 else 3 if byte >> 4 == 14 else 4
            return back if need > back else 0
    return 0


def _lines(path: Path, keep: int | None, limit: int | None = None) -> Iterator[tuple[int, str]]:
    """Decoded lines; a line longer than ``limit`` bytes is an error (a record must be whole)."""
    cap = keep if limit is None else limit + 1
    for number, raw, cut in _raw_lines(path, cap):
        if limit is not None and cut:
            raise OvrunError(
                f"{path}:{number}: line is longer than {limit} bytes",
                hint="one record per line, each under the limit",
            )
        yield number, _decode(raw, cut, path, number)


def _char_bytes(max_chars: int | None) -> int | None:
    return None if max_chars is None else 4 * max_chars  # UTF-8: at most 4 bytes a character


def _text(path: Path, field: str, split: str | None, max_chars: int | None) -> Iterator[str]:
    for _, line in _lines(path, _char_bytes(max_chars)):
        yield from line.splitlines()  # str.splitlines' other line breaks (\r, \x85, ...) too


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of each non-blank line of a JSONL file, each line bounded
    by MAX_RECORD_BYTES; invalid JSON is an error at its line."""
    for number, line in _lines(path, None, MAX_RECORD_BYTES):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as err:
            raise OvrunError(
                f"{path}:{number}: not valid JSON ({err.msg})", hint="JSONL: one JSON object a line"
            ) from err


def _jsonl(path: Path, field: str, split: str | None, max_chars: int | None) -> Iterator[str]:
    for number, record in json_lines(path):
        if not isinstance(record, dict) or field not in record:
            what = (
                f"an object of {len(record)} keys" if isinstance(record, dict) else "not an object"
            )
            raise OvrunError(
                f"{path}:{number}: no field {field!r} ({what})",
                hint="set field: to the key that holds the text",
            )
        yield _as_text(record[field], path, number, field)


def _as_text(value: object, path: Path, row: int, field: str) -> str:
    if not isinstance(value, str):
        raise OvrunError(
            f"{path}:{row}: field {field!r} is {type(value).__name__}, not text",
            hint="field: must name a string column",
        )
    return value


def _delimited(delimiter: str) -> Callable[..., Iterator[str]]:
    def read(path: Path, field: str, split: str | None, max_chars: int | None) -> Iterator[str]:
        at = [0]  # the line csv is reading: its own line_num lags on a failing row

        def lines() -> Iterator[str]:
            for number, line in _lines(path, None, MAX_RECORD_BYTES):
                at[0] = number
                yield line

        rows = csv.DictReader(lines(), delimiter=delimiter)
        try:
            if rows.fieldnames is None or field not in rows.fieldnames:
                found = f"{len(rows.fieldnames)} columns" if rows.fieldnames else "no header"
                raise OvrunError(
                    f"{path}:1: no column {field!r} in the header ({found})",
                    hint="set field: to the column that holds the text",
                )
            for row in rows:
                yield row[field] or ""
        except csv.Error as err:  # e.g. a field over csv's size limit; names no content
            raise OvrunError(
                f"{path}:{at[0]}: not valid {'TSV' if delimiter == chr(9) else 'CSV'} ({err})",
                hint="check the quoting of that row",
            ) from err

    return read


def _column_texts(values: list, where: Path, first_row: int, field: str) -> Iterator[str]:
    for row, value in enumerate(values, start=first_row):
        if value is not None:
            yield _as_text(value, where, row, field)


def _check_column(names: list[str], field: str, where: Path) -> None:
    if field not in names:
        raise OvrunError(
            f"{where}: no column {field!r} ({len(names)} columns)",
            hint="set field: to the column that holds the text",
        )


def _pyarrow(what: str):
    try:
        import pyarrow
    except ImportError as err:
        raise OvrunError(
            f"reading {what} needs pyarrow, which is not installed",
            hint="pip install pyarrow (or pip install 'ovrun[data]')",
        ) from err
    return pyarrow


def _parquet(path: Path, field: str, split: str | None, max_chars: int | None) -> Iterator[str]:
    _pyarrow("parquet files")
    import pyarrow.parquet as pq

    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise OvrunError(f"no *.parquet files in {path}", hint="point parquet: at a file or dir")
    for file in files:
        try:
            parquet = pq.ParquetFile(file)
            _check_column(parquet.schema_arrow.names, field, file)
            row = 1
            for batch in parquet.iter_batches(batch_size=1024, columns=[field]):
                values = batch.column(0).to_pylist()
                yield from _column_texts(values, file, row, field)
                row += len(values)
        except OvrunError:
            raise
        except Exception as err:  # pyarrow raises ArrowInvalid / OSError for damaged files
            raise OvrunError(
                f"cannot read parquet file {file} ({type(err).__name__})", hint="check the file"
            ) from err


def _datasets_dir(
    path: Path, field: str, split: str | None, max_chars: int | None
) -> Iterator[str]:
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
    for shard in shards:
        with pa.memory_map(str(path / shard)) as source:
            stream = pa.ipc.open_stream(source)
            _check_column(stream.schema.names, field, path / shard)
            row = 1
            for batch in stream:
                values = batch.column(batch.schema.get_field_index(field)).to_pylist()
                yield from _column_texts(values, path / shard, row, field)
                row += len(values)


_READERS: dict[str, Callable[..., Iterator[str]]] = {
    "text": _text,
    "jsonl": _jsonl,
    "csv": _delimited(","),
    "tsv": _delimited("\t"),
    "parquet": _parquet,
    "datasets_dir": _datasets_dir,
}
