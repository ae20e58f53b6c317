"""Reading `ovrun.lock` as untrusted text: a lock is committed, hand-edited, merged by git and
sometimes hostile. Every way it can be wrong ends in one `OvrunError` at ``ovrun.lock:LINE:COL``
(exit 2), never a traceback: not UTF-8, too large, too deep, duplicate keys, numbers too long
to convert, tags, anchors and aliases (ovrun never writes them)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from runner.core.errors import Location, OvrunError

MAX_BYTES = 16_000_000  # a lock of many recipes with per-file digests stays far below this
MAX_DEPTH = 64
_HINT = "regenerate it with `ovrun lock RECIPE` (or restore it from git)"
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


def load_lock_file(path: Path) -> Any | None:
    """The lock's data, or None when there is no file."""
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _error(file, 1, 1, f"lock file is {size} bytes, over the {MAX_BYTES} byte limit")
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise OvrunError(f"{file} is a directory", hint=_HINT, location=Location(file)) from None
    except OSError as exc:
        raise OvrunError(
            f"cannot read the lock file: {exc.strerror}",
            hint="check its permissions",
            location=Location(file),
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before.rpartition(b"\n")[2]) + 1
        raise _error(file, line, col, "lock file is not valid UTF-8 text") from None
    return load_lock_text(text, file)


def load_lock_text(text: str, file: str) -> Any:
    if "\x00" in text:
        line, col = _position(text, text.index("\x00"))
        raise _error(file, line, col, "lock file contains NUL bytes (binary file?)")
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.reader.ReaderError as exc:
        line, col = _position(text, exc.position)
        char = chr(exc.character) if isinstance(exc.character, int) else exc.character
        raise _error(file, line, col, f"character {char!r} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise _error(file, line, col, f"invalid YAML: {problem}") from None
    except RecursionError:
        raise _error(file, 1, 1, f"lock file nests deeper than {MAX_DEPTH} levels") from None
    if node is None:
        return None
    return _Builder(file).build(node, 0)


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self._constructor = yaml.SafeLoader("")  # only for its scalar resolution
        self._seen: set[int] = set()  # the composer shares one node object per alias

    def _fail(self, node: yaml.Node, message: str) -> OvrunError:
        return _error(self.file, node.start_mark.line + 1, node.start_mark.column + 1, message)

    def build(self, node: yaml.Node, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self._fail(node, f"lock file nests deeper than {MAX_DEPTH} levels")
        if id(node) in self._seen:
            raise self._fail(node, "YAML anchors and aliases are not allowed in a lock file")
        self._seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise self._fail(node, f"unsupported YAML tag {node.tag}")
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALARS:
                    raise self._fail(key_node, "mapping keys must be plain scalars")
                key = self._scalar(key_node)
                key = key if isinstance(key, str) else str(key)
                if key in result:
                    raise self._fail(key_node, f"duplicate key {key!r}")
                result[key] = self.build(value_node, depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self._fail(node, f"unsupported YAML tag {node.tag}")
            return [self.build(item, depth + 1) for item in node.value]
        if node.tag not in _SCALARS:
            raise self._fail(node, f"unsupported YAML tag {node.tag}")
        value = self._scalar(node)
        if isinstance(value, float) and not math.isfinite(value):
            raise self._fail(node, f"{node.value[:40]} is not a finite number")
        return value

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            # e.g. a 5,000-digit integer: Python refuses to convert it
            shown = node.value if len(node.value) <= 40 else f"{node.value[:40]}..."
            raise self._fail(node, f"cannot read {shown!r} as a value") from None


def _position(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    return before.count("\n") + 1, len(before.rpartition("\n")[2]) + 1


def _error(file: str, line: int, col: int, message: str) -> OvrunError:
    return OvrunError(message, hint=_HINT, location=Location(file, line, col))
