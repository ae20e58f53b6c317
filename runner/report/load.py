"""Read a run's results.json for `ovrun report` and `ovrun compare`: anything that is not a
results document with a report (old, partial, foreign, truncated, not UTF-8) is one line
naming what is wrong or missing (exit 2), checked against schemas/results.schema.json."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from runner.core.errors import OvrunError

SCHEMA = "ovrun.results/2"  # the version this ovrun reads and writes (adapters/report.py)
_RERUN = "run the recipe again with this ovrun to write a complete results.json"


def schema_path() -> Path:
    """The shipped schema: beside the package in a wheel, at the repo top level in a checkout."""
    packaged = Path(__file__).resolve().parents[1] / "schemas" / "results.schema.json"
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas" / "results.schema.json"


def load_results(path: str | Path) -> dict[str, Any]:
    """results.json of a run dir (or the file itself), validated, with the report's fields."""
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    doc = _parse(file, path)
    if not isinstance(doc, dict):
        kind = {list: "a JSON array", str: "a JSON string"}.get(type(doc), "a JSON scalar")
        raise OvrunError(
            f"{file}: {kind}, not an ovrun results object", hint="pass a run dir of `ovrun run`"
        )
    version = doc.get("schema")
    if not (isinstance(version, str) and version.startswith("ovrun.results/")):
        raise OvrunError(
            f'{file}: not an ovrun results file (no "schema": "{SCHEMA}")',
            hint="pass a run dir written by `ovrun run`",
        )
    if version != SCHEMA:
        raise OvrunError(
            f"{file}: results format {version}; this ovrun reads {SCHEMA}", hint=_RERUN
        )
    problem = _schema_problem(doc)
    if problem:
        raise OvrunError(f"{file}: {problem}", hint=_RERUN)
    if "benchmarks" not in doc:
        left_out = (doc.get("run") or {}).get("left_out")
        why = "its --only selection left the report out" if left_out else "its report did not run"
        raise OvrunError(
            f"{file}: no report in these results ({why}): 'benchmarks' is missing",
            hint="run the whole recipe (without --only) to write the report",
        )
    return doc


def _parse(file: Path, given: Path) -> Any:
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise OvrunError(
            f"no results.json in {given}", hint="pass a run dir written by `ovrun run`"
        ) from None
    except OSError as exc:
        raise OvrunError(f"{file}: cannot read ({exc.strerror})", hint="check the path") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OvrunError(
            f"{file}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint="pass the results.json an `ovrun run` wrote",
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise OvrunError(
            f"{file}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}; truncated?)",
            hint=_RERUN,
        ) from None


@cache
def _validator():
    import jsonschema

    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _schema_problem(doc: dict[str, Any]) -> str | None:
    """The most relevant schema violation as `at $.path: message`, or None."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(doc))
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message if len(error.message) <= 200 else error.message[:200] + "…"
    return f"does not match the results schema at ${where}: {message}"
