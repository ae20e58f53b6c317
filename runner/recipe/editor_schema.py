"""The schema editors see (`schemas/recipe.editor.schema.json`, named by each recipe's
``# yaml-language-server: $schema=...`` line), derived from the one ovrun validates with
(`schemas/recipe.schema.json`).

An editor checks the file as written, before composition: a child recipe with ``extends:``
has no ``version`` or ``model`` of its own, and ``${param}`` stands where a number or a
boolean goes. ovrun validates the composed, substituted recipe against the strict schema, so
its checks and messages stay exact; the editor's copy accepts those two spellings and
nothing else more. Regenerate it with ``python -m runner.recipe.editor_schema``; a test fails
when the two drift apart.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from runner.recipe.schema import schema_path

PARAM_PATTERN = r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$"
INTERPOLATED_PATTERN = r"\$\{[A-Za-z_][A-Za-z0-9_]*\}"  # "p-${variant}": anywhere in a string
_PARAM_REF = {"$ref": "#/$defs/param"}
_INTERPOLATED_REF = {"$ref": "#/$defs/interpolated"}
_SCALARS = {"number", "integer", "boolean"}
_SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs")


def editor_schema(strict: dict[str, Any]) -> dict[str, Any]:
    schema = _walk(copy.deepcopy(strict))
    required = schema.pop("required", [])
    if required:
        # a recipe with extends: gets the rest from its base
        schema["if"] = {"not": {"required": ["extends"]}}
        schema["then"] = {"required": required}
    schema.setdefault("$defs", {})["interpolated"] = {
        "type": "string",
        "pattern": INTERPOLATED_PATTERN,
        "description": "a string with ${NAME} parameters, substituted before validation",
    }
    schema["$defs"]["param"] = {
        "type": "string",
        "pattern": PARAM_PATTERN,
        "description": "${NAME}: a parameter declared under params:, substituted before "
        "validation (takes the parameter's type)",
    }
    if "$id" in schema:
        schema["$id"] = str(schema["$id"]).replace("recipe.schema.json", EDITOR_FILE)
    schema["$comment"] = (
        "Generated from recipe.schema.json by "
        "`python -m runner.recipe.editor_schema`: accepts extends: children and ${param} "
        "values as editors see them. Edit the source, not this file."
    )
    return schema


def _walk(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    for key in _SUBSCHEMA:
        if key in node:
            node[key] = _walk(node[key])
    for key in _SUBSCHEMA_LISTS:
        if isinstance(node.get(key), list):
            node[key] = [_walk(item) for item in node[key]]
    for key in _SUBSCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            node[key] = {name: _walk(sub) for name, sub in node[key].items()}
    types = node.get("type")
    names = set(types) if isinstance(types, list) else {types}
    alternative = None
    if names & _SCALARS and "string" not in names:
        alternative = _PARAM_REF
    elif ("pattern" in node or "enum" in node) and not names & _SCALARS:
        # a constrained string (a name pattern, a device enum) may be spelled with ${...}
        alternative = _INTERPOLATED_REF
    if alternative is not None:
        wrapped: dict[str, Any] = {"anyOf": [node, alternative]}
        if "description" in node:
            wrapped["description"] = node["description"]
        if "default" in node:
            wrapped["default"] = node["default"]
        return wrapped
    return node


EDITOR_FILE = "recipe.editor.schema.json"


def editor_path() -> Path:
    return schema_path().parent / EDITOR_FILE


def render() -> str:
    strict = json.loads(schema_path().read_text(encoding="utf-8"))
    return json.dumps(editor_schema(strict), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    editor_path().write_text(render(), encoding="utf-8")
    print(f"wrote {editor_path()}")
