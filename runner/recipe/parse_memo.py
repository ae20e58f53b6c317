"""Parses of recipe text that a previous run made, so a rerun does not import yaml (~40 ms).

An entry is named by sha256 over the parser's own source (recipe/yaml_doc.py and
recipe/doc.py), PyYAML's version file and the recipe's text: a changed byte in any of them is
another name, so an entry is never stale. What it holds (data, positions of values and keys)
is checked for shape when read; anything unexpected reads as a miss and the text is parsed
again. Only parses that succeeded are remembered: every error still comes from the parser.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from runner.recipe.doc import RecipeDoc

FORMAT = b"ovrun-recipe-parse-1"


@cache
def _parser_digest() -> str | None:
    """What the parse depends on besides the text; None (no memo) when a part cannot be read."""
    import importlib.util

    here = Path(__file__).resolve().parent
    try:
        spec = importlib.util.find_spec("yaml")
        yaml_init = Path(spec.origin) if spec and spec.origin else None
        parts = [here / "yaml_doc.py", here / "doc.py", *([yaml_init] if yaml_init else [])]
        if yaml_init is None:
            return None
        digest = hashlib.sha256(FORMAT)
        for part in parts:
            digest.update(b"\0" + part.read_bytes())
    except (OSError, ImportError, ValueError):
        return None
    return digest.hexdigest()


def _entry(memo_dir: Path, text: str) -> Path | None:
    parser = _parser_digest()
    if parser is None:
        return None
    name = hashlib.sha256(f"{parser}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return memo_dir / f"{name}.json"


def recall(memo_dir: Path, text: str, file: str) -> RecipeDoc | None:
    entry = _entry(memo_dir, text)
    if entry is None:
        return None
    try:
        stored = json.loads(entry.read_text(encoding="utf-8"))
        data = stored["data"]
        positions = _table(stored["positions"])
        key_positions = _table(stored["key_positions"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(data, dict) or () not in positions:
        return None
    return RecipeDoc(file=file, data=data, positions=positions, key_positions=key_positions)


def _table(rows: Any) -> dict[tuple[Any, ...], tuple[int, int]]:
    table = {}
    for path, (line, col) in rows:
        if not (isinstance(path, list) and all(isinstance(p, str | int) for p in path)):
            raise TypeError("path")
        if not (type(line) is int and type(col) is int):
            raise TypeError("position")
        table[tuple(path)] = (line, col)
    return table


def remember(memo_dir: Path, text: str, doc: RecipeDoc) -> None:
    """Store ``doc``'s parse if JSON gives it back unchanged (it holds only JSON's types);
    a cache that cannot be written only loses the shortcut."""
    entry = _entry(memo_dir, text)
    if entry is None:
        return
    stored = {
        "data": doc.data,
        "positions": [[list(p), list(at)] for p, at in doc.positions.items()],
        "key_positions": [[list(p), list(at)] for p, at in doc.key_positions.items()],
    }
    try:
        encoded = json.dumps(stored, allow_nan=False)
    except (TypeError, ValueError):
        return
    if not _same(json.loads(encoded)["data"], doc.data):
        return
    from runner.core.atomic import write_text_atomic

    with contextlib.suppress(OSError):
        entry.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(entry, encoded)


def _same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down (JSON would turn a tuple into a list)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b
