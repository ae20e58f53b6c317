"""What `ovrun run` prints after the tasks: the results table, skips, precision notes, gates,
what was applied, the search summary, assertion verdicts and where the files are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.report import finish


def print_summary(
    console: Any,
    doc: dict[str, Any],
    results: dict[str, Any] | None,
    out_dir: Path,
    html: Path | None,
    left_out: list[str],
    results_file: Path | None = None,
) -> None:
    if results is not None:
        from runner.report.accuracy import accuracy_lines
        from runner.report.applied import applied_lines
        from runner.report.resolved import resolved_lines
        from runner.report.table import gate_lines, precision_lines, skip_lines, summary_table

        console.print(summary_table(results))
        for line in skip_lines(results):
            console.print(line, style="yellow", highlight=False)
        for line in precision_lines(results):
            console.print(line, highlight=False, markup=False)
        for line in resolved_lines(results):
            console.print(line, style="yellow", highlight=False, markup=False)
        for line in accuracy_lines(results):
            console.print(line, highlight=False, markup=False)
        from runner.report.labelled import task_lines

        for line in task_lines(results):
            console.print(line, highlight=False, markup=False)
        for line in gate_lines(results):
            style = {"passed": "green", "not": "yellow"}.get(line.split()[1], "bold red")
            console.print(line, style=style, highlight=False)
        for line in applied_lines(results):
            console.print(f"applied {line}", highlight=False)
    if doc.get("search"):
        from runner.report.search_table import print_search

        print_search(doc["search"], console, out_dir)
    finish.print_asserts(doc, console)
    if left_out:
        console.print(left_out_line(left_out), highlight=False)
    console.print(f"results: {results_file or out_dir / 'results.json'}", highlight=False)
    if html is not None:
        console.print(f"report: {html}", highlight=False)


def left_out_line(left_out: list[str]) -> str:
    shown = ", ".join(left_out[:3]) + (f", … (+{len(left_out) - 3})" if len(left_out) > 3 else "")
    return f"--only: {len(left_out)} task(s) left out: {shown}"
