"""The end of `ovrun run`: complete the results document (fingerprint, assertions), write
report.html, print the assertion verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.cache.key import lib_version

if TYPE_CHECKING:
    from runner.recipe.asserts import Assertion

# Libraries whose versions change what a benchmark or an evaluation measures.
FINGERPRINT_LIBS = ("openvino", "nncf", "optimum-intel", "transformers", "numpy", "ovrun")


def fingerprint(host: dict[str, Any] | None) -> dict[str, Any] | None:
    """The probe minus per-device property tables (bulky, not identity), plus versions."""
    if host is None:
        return None
    devices = {
        name: {k: v for k, v in info.items() if k != "SUPPORTED_PROPERTIES"}
        for name, info in (host.get("devices") or {}).items()
    }
    return {
        # the meta plugins' property tables serve only the plan-time check
        **{k: v for k, v in host.items() if k != "meta_devices"},
        "devices": devices,
        "versions": {name: lib_version(name) for name in FINGERPRINT_LIBS},
    }


def complete(asserts: list[Assertion], doc: dict[str, Any]) -> None:
    """Add the fingerprint and the assertion verdicts to ``doc`` in place."""
    doc["host"] = fingerprint(doc.get("host"))
    if asserts and doc.get("benchmarks") is not None:
        from runner.report.asserts import check_all  # only a recipe with assert: needs it

        doc["asserts"] = check_all(asserts, doc)


def asserts_failed(doc: dict[str, Any]) -> bool:
    return any(record["passed"] is False for record in doc.get("asserts") or [])


def print_asserts(doc: dict[str, Any], console) -> None:
    if not doc.get("asserts"):
        return
    from runner.report.asserts import describe

    for record in doc["asserts"]:
        style = {True: "green", False: "bold red", None: "yellow"}[record["passed"]]
        console.print(describe(record), style=style, highlight=False)


def write_html(doc: dict[str, Any], out_dir: Path, console) -> Path | None:
    """report.html beside results.json; a rendering problem never fails the run."""
    import json

    from runner.core.atomic import write_text_atomic
    from runner.report.stamp import stamp_comment

    path = out_dir / "report.html"
    shown = json.loads(json.dumps(doc, sort_keys=True, default=str))
    try:
        previous = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        previous = None
    if previous and previous.rstrip().endswith(stamp_comment(shown)):
        return path  # same results as the page already shows: no redraw
    try:
        from runner.report.html import render
    except ImportError as exc:  # a partial install of ovrun itself
        console.print(f"report.html not written: {exc}", style="yellow", highlight=False)
        return None
    # render what results.json holds (same key order), so `ovrun report` reproduces the page
    # the charts that did not change are taken from the page being replaced, not redrawn
    write_text_atomic(path, render(shown, previous))
    return path
