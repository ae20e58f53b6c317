"""YAML text -> RecipeDoc, safely.

PyYAML's composer gives us nodes with marks; we build plain Python data from them ourselves so
that duplicate keys are errors (not last-one-wins), anchors/aliases cannot blow up memory, and
each value and each key has a position for error messages. Imported only when a recipe's
bytes have not been parsed before (recipe/parse_memo.py): importing yaml costs ~40 ms.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from runner.core.errors import Location, OvrunError
from runner.recipe.doc import MAX_DEPTH, MAX_NODES, Path_, RecipeDoc

# libyaml's composer is ~10x faster and keeps the same marks; pure Python where it is missing
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.nodes = 0
        self.doc = RecipeDoc(file=file, data=None)
        self._constructor = yaml.SafeLoader("")  # only used for its scalar resolution

    def _loc(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def _error(self, node: yaml.Node, message: str, hint: str) -> OvrunError:
        line, col = self._loc(node)
        return OvrunError(message, hint=hint, location=Location(self.file, line, col))

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self._error(
                node,
                f"recipe expands to more than {MAX_NODES} YAML nodes",
                "anchors/aliases that reference each other repeatedly are refused; write values out",
            )
        if depth > MAX_DEPTH:
            raise self._error(
                node, f"recipe nests deeper than {MAX_DEPTH} levels", "flatten the structure"
            )
        self.doc.positions.setdefault(path, self._loc(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self._error(node, f"unsupported YAML tag {node.tag}", "remove the tag")
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if node.tag not in _SCALAR_TAGS:
            raise self._error(
                node,
                f"unsupported YAML tag {node.tag}",
                "recipes allow plain strings, numbers, booleans, null, lists and mappings",
            )
        value = self._scalar(node)
        if isinstance(value, float) and not math.isfinite(value):
            # JSON Schema ranges cannot catch NaN (every comparison is false) and keys are JSON
            raise self._error(
                node, f"{node.value} is not a finite number", "recipes take finite numbers"
            )
        return value

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, KeyError, OverflowError) as exc:
            # e.g. '!!int abc', '!!float x': an explicit tag the value does not fit
            raise self._error(
                node,
                f"cannot read {node.value!r} as {node.tag.rpartition(':')[2]}",
                "fix or remove the tag",
            ) from exc

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict:
        if node.tag != "tag:yaml.org,2002:map":
            raise self._error(node, f"unsupported YAML tag {node.tag}", "remove the tag")
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self._error(
                    key_node, "YAML merge keys (<<) are not supported", "write the keys out"
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._error(
                    key_node, "mapping keys must be plain scalars", "use a string key"
                )
            if key_node.tag not in _SCALAR_TAGS:
                raise self._error(
                    key_node, f"unsupported YAML tag {key_node.tag}", "remove the tag"
                )
            key = self._scalar(key_node)
            if key is None:
                raise self._error(
                    key_node, "mapping key is null (empty or '~')", "give the key a name"
                )
            if not isinstance(key, str):
                key = str(key) if isinstance(key, int | float | bool) else key
            if key in result:
                first = self.doc.key_positions[(*path, key)]
                raise self._error(
                    key_node,
                    f"duplicate key '{key}' (first defined at line {first[0]})",
                    "each key may appear once per mapping; remove or rename one",
                )
            self.doc.key_positions[(*path, key)] = self._loc(key_node)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result


def _detailed_yaml_error(text: str, exc: yaml.YAMLError) -> yaml.YAMLError:
    """libyaml's messages are terse; the pure-Python parser says the same thing in more words."""
    try:
        list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as detailed:
        return detailed
    except RecursionError:
        pass
    return exc


def _yaml_error(file: str, exc: yaml.YAMLError, text: str = "") -> OvrunError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    location = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
    hint = "check indentation and quoting near this position"
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML forbids; no mark, a position
        before = text[: exc.position]
        location = Location(file, before.count("\n") + 1, len(before.rpartition("\n")[2]) + 1)
        return OvrunError(
            f"invalid YAML: character {exc.character!r} is not allowed in YAML text",
            hint="remove the control character (copied from a terminal or a binary file?)",
            location=location,
        )
    if "maximum nesting depth" in problem:  # libyaml's own limit, far above ours
        return OvrunError(
            f"recipe nests deeper than {MAX_DEPTH} levels", "flatten the structure", location
        )
    line_text = text.splitlines()[mark.line] if mark and mark.line < len(text.splitlines()) else ""
    if (
        "\t" in problem
        or "\\t" in problem
        or " tab" in problem
        or "\t" in line_text[: mark.column + 1 if mark else 0]
    ):
        hint = "YAML does not allow tabs for indentation; use spaces"
    return OvrunError(f"invalid YAML: {problem}", hint=hint, location=location)


def parse(text: str, file: str) -> RecipeDoc:
    """Parse recipe text (already checked for size and NUL bytes by recipe/load.py); ``file``
    is only used in messages and for relative paths."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_COMPOSER))
    except yaml.YAMLError as exc:
        raise _yaml_error(file, _detailed_yaml_error(text, exc), text) from None
    except RecursionError:
        raise OvrunError(
            f"recipe nests deeper than {MAX_DEPTH} levels",
            hint="flatten the structure",
            location=Location(file, 1, 1),
        ) from None
    if len(nodes) > 1:
        second = nodes[1]
        line = second.start_mark.line + 1 if second is not None else 1
        raise OvrunError(
            "recipe holds more than one YAML document",
            hint="remove the '---' separator; one recipe per file",
            location=Location(file, line, 1),
        )
    if not nodes or nodes[0] is None:
        raise OvrunError(
            "recipe is empty",
            hint="start from recipes/quickstart.yaml; a recipe needs at least version, name, model, variants",
            location=Location(file, 1, 1),
        )
    builder = _Builder(file)
    builder.doc.data = builder.build(nodes[0], (), 0)
    if not isinstance(builder.doc.data, dict):
        raise OvrunError(
            f"recipe must be a mapping at the top level, got {type(builder.doc.data).__name__}",
            hint="a recipe starts with keys like 'version: 1' and 'name: ...'",
            location=Location(file, *builder.doc.positions[()]),
        )
    return builder.doc
