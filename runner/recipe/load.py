"""Reading a recipe file: size and encoding checks, then YAML -> RecipeDoc (recipe/yaml_doc.py)
or, for bytes parsed before, the memoized parse (recipe/parse_memo.py), so that a rerun of an
unchanged recipe does not import yaml."""

from __future__ import annotations

from pathlib import Path

from runner.core.errors import Location, OvrunError

# RecipeDoc and the limits live in recipe/doc.py (no yaml import); re-exported here, where
# callers have always found them
from runner.recipe.doc import (  # noqa: F401
    MAX_BYTES,
    MAX_DEPTH,
    MAX_NODES,
    Path_,
    RecipeDoc,
    _too_large,
)


def load_text(text: str, file: str, memo_dir: Path | None = None) -> RecipeDoc:
    """Parse recipe text; ``file`` is only used in messages and for relative paths.
    ``memo_dir``: where parses are remembered by a digest of the text and the parser."""
    if len(text) > MAX_BYTES:
        raise _too_large(file, len(text.encode("utf-8", "replace")))
    if "\x00" in text:
        before = text[: text.index("\x00")]
        raise OvrunError(
            "recipe contains NUL bytes (binary file?)",
            hint="a recipe is a UTF-8 YAML text file",
            location=Location(file, before.count("\n") + 1, len(before.rpartition("\n")[2]) + 1),
        )
    if memo_dir is not None:
        from runner.recipe import parse_memo

        doc = parse_memo.recall(memo_dir, text, file)
        if doc is not None:
            return doc
    from runner.recipe.yaml_doc import parse

    doc = parse(text, file)
    if memo_dir is not None:
        parse_memo.remember(memo_dir, text, doc)
    return doc


def load_file(path: str | Path, memo_dir: Path | None = None) -> RecipeDoc:
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise OvrunError(
            f"recipe file not found: {file}", hint="check the path", location=Location(file)
        ) from None
    except IsADirectoryError:
        raise OvrunError(
            f"{file} is a directory, not a recipe file",
            hint="pass the .yaml file",
            location=Location(file),
        ) from None
    except OSError as exc:
        raise OvrunError(
            f"cannot read recipe: {exc.strerror}", hint="check permissions", location=Location(file)
        ) from None
    if len(raw) > MAX_BYTES:
        raise _too_large(file, len(raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise OvrunError(
            "recipe is not valid UTF-8 text (binary file?)",
            hint="a recipe is a UTF-8 YAML text file",
            location=Location(file, line, 1),
        ) from None
    return load_text(text, file, memo_dir)
