"""`ovrun report RUN_DIR` and `ovrun compare RUN_A RUN_B`: they read run dirs only, so
they import no ML library."""

from __future__ import annotations

import argparse
from pathlib import Path

from runner.cli.common import add_json, console


def add_commands(sub) -> None:
    report = sub.add_parser(
        "report", help="re-render RUN_DIR/report.html from RUN_DIR/results.json"
    )
    report.add_argument("run_dir", metavar="RUN_DIR", help="a run dir written by `ovrun run`")
    report.add_argument("--out", metavar="FILE", help="write here (default: RUN_DIR/report.html)")
    compare = sub.add_parser(
        "compare", help="per-cell throughput / latency deltas between two runs, noise-aware"
    )
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    add_json(compare)


def cmd_report(args: argparse.Namespace) -> int:
    from runner.core.atomic import write_text_atomic
    from runner.core.errors import OvrunError
    from runner.report.html import render
    from runner.report.load import load_results

    doc = load_results(args.run_dir)
    run_dir = Path(args.run_dir)
    out = (
        Path(args.out)
        if args.out
        else (run_dir if run_dir.is_dir() else run_dir.parent) / "report.html"
    )
    try:
        previous = out.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # no page yet (or not ours): draw every chart
        previous = None
    try:
        page = render(doc, previous)
    except (KeyError, TypeError, ValueError) as exc:  # valid by the schema, yet not renderable
        raise OvrunError(
            f"{args.run_dir}: results.json cannot be rendered ({type(exc).__name__}: {exc})",
            hint="run the recipe again with this ovrun to write a complete results.json",
        ) from None
    write_text_atomic(out, page)
    console().print(f"report: {out}", highlight=False)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from runner.report.compare import compare

    if args.json:
        return _compare_json(args.run_a, args.run_b)
    return compare(args.run_a, args.run_b, console())


def _compare_json(path_a: str, path_b: str) -> int:
    import json

    from runner.report.compare import (
        accuracy_deltas,
        cell_deltas,
        fingerprint_differences,
        load_results,
        only_in,
    )

    a, b = load_results(path_a), load_results(path_b)
    doc = {
        "a": path_a,
        "b": path_b,
        "fingerprint_differences": fingerprint_differences(a, b),
        "cells": cell_deltas(a, b),
        "only_in_a": only_in(a, b),
        "only_in_b": only_in(b, a),
        "accuracy": [{"variant": v, "a": va, "b": vb} for v, va, vb in accuracy_deltas(a, b)],
    }
    print(json.dumps(doc, indent=1, default=str))
    return 0
