"""Generate the recipe reference (markdown) from the schema's descriptions, so the README
can never drift from what `ovrun validate` accepts. `python -m runner.recipe.reference`."""

from __future__ import annotations

import json

from runner.recipe.schema import load_schema


def _type(node: dict) -> str:
    if "enum" in node:
        return " \\| ".join("null" if v is None else f"`{v}`" for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    kind = node.get("type", "")
    if kind == "array":
        return f"list of {_type(node.get('items', {}))}"
    if isinstance(kind, list):
        return " \\| ".join(kind)
    if "oneOf" in node:
        return "one of: " + ", ".join(f"`{next(iter(b['properties']))}:`" for b in node["oneOf"])
    return kind or "any"


def _rows(node: dict, prefix: str, rows: list[str]) -> None:
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        default = f"`{json.dumps(sub['default'])}`" if "default" in sub else ""
        rows.append(f"| `{path}` | {_type(sub)} | {default} | {sub.get('description', '')} |")
        if sub.get("type") == "object" and "properties" in sub:
            _rows(sub, f"{path}.", rows)
        extra = sub.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("type") == "object" and "properties" in extra:
            rows.append(f"| `{path}.<name>` | mapping | | {extra.get('description', '')} |")
            _rows(extra, f"{path}.<name>.", rows)
        for branch in sub.get("oneOf", []):
            _rows(branch, f"{path}.", rows)


def markdown() -> str:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    _rows(load_schema(), "", rows)
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
