"""Recipe composition: `extends:` bases, `${name}` parameters, `--set` overrides.

Order: the `extends:` chain is loaded base first and deep-merged (mappings merge key by key;
a list or scalar in the extending file replaces the base's value whole — lists are never
concatenated, so an override always says the complete list); then `params:` defaults are
overridden by `--param NAME=VALUE` and substituted into string values; then each
`--set path.to.key=VALUE` replaces one value, typed by the schema at that path.

Every node keeps the file it came from, so an error in a base recipe points at the base's
line. Relative paths written in a base file (schema keys described as "relative to the
recipe file") are made absolute against that base file's directory.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.core.confine import Grants, ReadScope
from runner.core.errors import OvrunError, suggest
from runner.recipe.load import Path_, RecipeDoc, load_file

MAX_EXTENDS_DEPTH = 16
_PARAM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*)\}")
_RELATIVE_MARK = "relative to the recipe file"


@dataclass(frozen=True)
class Overrides:
    """The --set and --param values of the command line."""

    sets: list[str] = field(default_factory=list)  # "path.to.key=value"
    params: list[str] = field(default_factory=list)  # "name=value"

    def __bool__(self) -> bool:
        return bool(self.sets or self.params)


def load_composed(
    path: Path,
    overrides: Overrides | None = None,
    grants: Grants | None = None,
    parse_memo: Path | None = None,
) -> RecipeDoc:
    """``grants``: what the user allows beyond the project root (default: the environment's
    OVRUN_ALLOW_READ only); ``parse_memo``: where parses of each file's text are remembered
    (recipe/parse_memo.py)."""
    scope = ReadScope.for_recipe(path, grants)
    doc = _load_chain(Path(path), [], scope, parse_memo)
    doc.reads = scope
    doc.positions.pop(("extends",), None)
    doc.key_positions.pop(("extends",), None)
    doc.data.pop("extends", None)
    _apply_params(doc, overrides.params if overrides else [])
    for item in overrides.sets if overrides else []:
        _apply_set(doc, item)
    return doc


# -- extends --------------------------------------------------------------------


def _load_chain(
    path: Path, chain: list[Path], scope: ReadScope, parse_memo: Path | None = None
) -> RecipeDoc:
    doc = load_file(path, parse_memo)
    real = path.resolve()
    base_ref = doc.data.get("extends")
    if base_ref is None:
        return doc
    where = doc.location(("extends",))
    if not isinstance(base_ref, str) or not base_ref:
        raise OvrunError(
            "extends: must be the path of a base recipe file",
            hint="e.g. extends: base.yaml (relative to this file)",
            location=where,
        )
    # a base file is read like any other input: inside the top recipe's project
    base_path = scope.check(base_ref, real.parent, "extends:", where)
    seen = [*chain, real]
    if base_path in seen:
        cycle = " -> ".join(p.name for p in [*seen[seen.index(base_path) :], base_path])
        raise OvrunError(
            f"extends cycle: {cycle}",
            hint="a recipe cannot extend itself, directly or through other files",
            location=where,
        )
    if len(seen) > MAX_EXTENDS_DEPTH:
        raise OvrunError(
            f"extends chain is deeper than {MAX_EXTENDS_DEPTH} files",
            hint="flatten the chain",
            location=where,
        )
    if not base_path.is_file():
        raise OvrunError(
            f"base recipe not found: {base_ref} (resolved to {base_path})",
            hint="extends: paths are relative to the file that names them",
            location=where,
        )
    base = _load_chain(base_path, seen, scope, parse_memo)
    _absolutize_paths(base)
    base.data.pop("extends", None)
    return _merge_docs(base, doc)


def deep_merge(base: Any, over: Any) -> Any:
    """Mappings merge recursively; anything else in ``over`` replaces ``base`` whole."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = deep_merge(base[key], value) if key in base else value
        return out
    return over


def _merge_docs(base: RecipeDoc, child: RecipeDoc) -> RecipeDoc:
    data = deep_merge(base.data, child.data)

    def kept(p: Path_) -> bool:
        """A base node survives unless the child sets it or replaces an ancestor whole."""
        for i in range(len(p), -1, -1):
            prefix = p[:i]
            if prefix in child.positions and prefix != ():
                if i == len(p):
                    return False
                value = _get(child.data, prefix)
                if not isinstance(value, dict) or not isinstance(_get(base.data, prefix), dict):
                    return False
        return True

    merged = RecipeDoc(file=child.file, data=data)
    for table, base_table, child_table in (
        (merged.positions, base.positions, child.positions),
        (merged.key_positions, base.key_positions, child.key_positions),
    ):
        for p, pos in base_table.items():
            if p and kept(p):
                table[p] = pos
                merged.files[p] = base.files.get(p, base.file)
        for p, pos in child_table.items():
            table[p] = pos
            if p in child.files:
                merged.files[p] = child.files[p]
            else:
                merged.files.pop(p, None)
    merged.positions.setdefault((), child.positions.get((), (1, 1)))
    return merged


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        in_dict = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if in_dict or in_list:
            data = data[part]
        else:
            return None
    return data


def _absolutize_paths(doc: RecipeDoc) -> None:
    """Relative file paths in a base recipe mean "next to the base", not next to the child."""
    from runner.recipe.schema import load_schema

    schema = load_schema()

    def walk(value: Any, path: Path_) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and not _PARAM.search(value):
            node = schema_at(schema, path)
            if node and _RELATIVE_MARK in node.get("description", ""):
                # joined, not resolved: the child's confinement check resolves (and refuses
                # NUL bytes or over-long names with this node's position) later
                file = doc.files.get(path, doc.file)
                return str(Path(file).resolve().parent / value)
        return value

    doc.data = walk(doc.data, ())


# -- schema lookup -------------------------------------------------------------------


def schema_at(schema: dict, path: Path_) -> dict | None:
    """The schema node that describes the value at ``path`` (None when the path is unknown)."""
    node: dict | None = schema
    for part in path:
        if node is None:
            return None
        node = _child(node, part)
    return node


def _child(node: dict, part: Any) -> dict | None:
    if isinstance(part, int):
        items = node.get("items")
        return items if isinstance(items, dict) else None
    props = node.get("properties", {})
    if part in props:
        return props[part]
    for branch in node.get("oneOf", []) + node.get("anyOf", []):
        if part in branch.get("properties", {}):
            return branch["properties"][part]
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


# -- params -----------------------------------------------------------------------


def _apply_params(doc: RecipeDoc, given: list[str]) -> None:
    defaults = doc.data.get("params") or {}
    if not isinstance(defaults, dict):
        return  # the schema reports the wrong type with its position
    values = dict(defaults)
    for item in given:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise OvrunError(f"--param {item!r} is not NAME=VALUE", hint="e.g. --param samples=100")
        if name not in defaults:
            raise OvrunError(
                f"--param {name}: the recipe declares no parameter '{name}'",
                hint=suggest(
                    name,
                    defaults,
                    otherwise=f"declared: {', '.join(defaults) or 'none'} (add it under params:)",
                ),
            )
        values[name] = _typed_like(defaults[name], raw, f"--param {item}")
    if given:
        doc.data["params"] = values

    def substitute(value: Any, path: Path_) -> Any:
        if isinstance(value, dict):
            return {k: substitute(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [substitute(v, (*path, i)) for i, v in enumerate(value)]
        if not isinstance(value, str) or "${" not in value:
            return value
        for name in _PARAM.findall(value):
            if name not in values:
                raise OvrunError(
                    f"unknown parameter ${{{name}}}",
                    hint=suggest(name, values, otherwise="declare it with a default under params:"),
                    location=doc.location(path),
                )
        whole = _PARAM.fullmatch(value)
        if whole:  # "${n}" alone keeps the parameter's type (an int stays an int)
            return values[whole.group(1)]
        return _PARAM.sub(lambda m: str(values[m.group(1)]), value)

    doc.data = {k: (v if k == "params" else substitute(v, (k,))) for k, v in doc.data.items()}


def _typed_like(default: Any, raw: str, origin: str) -> Any:
    """A --param value takes the type of the parameter's default."""
    if isinstance(default, str):
        return raw
    value = _yaml_scalar(raw)
    ok = (
        isinstance(value, bool)
        if isinstance(default, bool)
        else isinstance(value, int | float) and not isinstance(value, bool)
    )
    if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
        ok = value.is_integer()
        value = int(value) if ok else value
    if not ok:
        raise OvrunError(
            f"{origin}: expected {type(default).__name__} like the default {default!r}",
            hint="the parameter's default in params: decides its type",
        )
    return value


def _yaml_scalar(raw: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


# -- --set ------------------------------------------------------------------------


def _apply_set(doc: RecipeDoc, item: str) -> None:
    from runner.recipe.schema import load_schema

    dotted, sep, raw = item.partition("=")
    origin = f"--set {item}"
    if not sep or not dotted:
        raise OvrunError(
            f"--set {item!r} is not PATH=VALUE", hint="e.g. --set benchmark.duration_s=2"
        )
    path: tuple = tuple(int(p) if p.isdigit() else p for p in dotted.split("."))
    node = schema_at(load_schema(), path)
    if node is None:
        raise OvrunError(
            f"--set {dotted}: no such key in the recipe schema",
            hint="keys as in the recipe reference (README), joined with dots",
        )
    value = raw if _wants_string(node) and raw not in ("null", "~") else _yaml_scalar(raw)
    target = doc.data
    for i, part in enumerate(path[:-1]):
        nxt = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, list) and isinstance(part, int) and part < len(target):
            nxt = target[part]
        if nxt is None and isinstance(target, dict):
            nxt = target[part] = {}
        if not isinstance(nxt, dict | list):
            raise OvrunError(
                f"--set {dotted}: {'.'.join(map(str, path[: i + 1]))} is not a mapping",
                hint="set the parent key itself instead",
            )
        target = nxt
    last = path[-1]
    if isinstance(target, list):
        if not isinstance(last, int) or last >= len(target):
            raise OvrunError(f"--set {dotted}: list index out of range", hint="set the whole list")
        target[last] = copy.deepcopy(value)
    else:
        target[last] = copy.deepcopy(value)
    # Errors about this value point at the command line, not at a line of the file.
    for table in (doc.positions, doc.key_positions):
        for p in [p for p in table if p[: len(path)] == path]:
            del table[p]
        table[path] = (0, 0)
    doc.files[path] = origin


def _wants_string(node: dict) -> bool:
    kind = node.get("type")
    if kind == "string":
        return True
    enum = node.get("enum")
    return bool(enum) and all(isinstance(v, str) or v is None for v in enum)
