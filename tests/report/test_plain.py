"""report/plain.py writes what rich writes off a terminal, or declines (None) and rich does it:
every case here is printed both ways and compared byte for byte."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.markup import escape as rich_escape

from runner.report.plain import Grid, escape, printed
from runner.report.table import summary_table

WIDTH = 140


def _rich(obj: object, markup: bool = True) -> str:
    out = io.StringIO()
    console = Console(
        file=out, width=WIDTH, soft_wrap=True, highlight=False, force_terminal=False, emoji=False
    )
    console.print(obj, markup=markup)
    return out.getvalue()


TEXTS = [
    "cached  [dim]55db99b75d86[/] export",
    "[bold green]done   [/] [dim]ab[/] data:calib   12.0s  [dim]why \\[not][/]",
    "[yellow]skipped[/]              bench:fp32:GPU:LATENCY  device GPU not available",
    "results: /tmp/x/results.json",
    "gate passed: int8 cosine 0.9957 at f32 (deployed) (drop 0.0043, max_drop 0.01)",
    "a [b] with [bold]nested [red]tags[/red] and[/] \\\\[bold]x[/bold] end \\",
    "trailing spaces   ",
    "not emoji :int8: and bench:int8:CPU:LATENCY",
    "a variant named :fire: or fire prints as written: bench:fire:CPU:LATENCY",
    "[link=https://x]site[/link] [#ff0000]hex[/]",
    "multi\nline [green]text[/]",
    "int8 cosine ± 0.1 · 2× → ok",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("markup", [True, False])
def test_text_is_printed_as_rich_prints_it(text: str, markup: bool) -> None:
    mine = printed(text, WIDTH, markup)
    assert mine is not None
    assert mine == _rich(text, markup)


@pytest.mark.parametrize(
    "text",
    [
        "closing [/] nothing",
        "[bold]x[/red]",
        "tab\there",
        "bell\x07",
        "wide 幅",
        "[@click]x[/]",
    ],
)
def test_what_rich_would_refuse_or_measure_is_left_to_rich(text: str) -> None:
    assert printed(text, WIDTH) is None


@pytest.mark.parametrize(
    "text", ["x[/]y[bold].txt", "a\\", "a\\\\[b]", "[/]", "plain", "\\[x]", "[[x]]"]
)
def test_escape_is_richs(text: str) -> None:
    assert escape(text) == rich_escape(text)
    assert printed(escape(text), WIDTH) == _rich(rich_escape(text))


def _results(n_variants: int = 2, name: str = "quickstart", status: str = "ok") -> dict:
    rows = []
    for v in range(n_variants):
        for hint in ("LATENCY", "THROUGHPUT"):
            rows.append(
                {
                    "variant": f"v{v}" if v else "fp32",
                    "device": "CPU",
                    "hint": hint,
                    "status": status if v else "ok",
                    "reason": "device GPU not available",
                    "latency_ms": {"median": 10.25 * (v + 1), "p90": 12.5},
                    "throughput": 97.3,
                    "size_bytes": 23_300_000,
                    "repeats": [95.0, 97.3, 99.1],
                    "speedup": 1.5,
                }
            )
    return {
        "recipe": name,
        "reference": "fp32",
        "metric": "cosine",
        "benchmarks": rows,
        "evaluations": {"v1": {"value": 0.99571}},
    }


@pytest.mark.parametrize(
    "results",
    [
        _results(),
        _results(3, status="skipped"),
        _results(1, name="a-recipe-name-much-longer-than-the-table-is-wide" * 3),
        _results(60),
    ],
    ids=["small", "skipped", "long-title", "many-rows"],
)
def test_the_results_table_is_richs_box(results: dict) -> None:
    table = summary_table(results)
    mine = printed(table, WIDTH)
    if mine is None:  # a title wider than the table: rich wraps it
        assert len(results["recipe"]) > 100
        return
    assert mine == _rich(table)


def test_a_table_wider_than_the_console_is_richs_to_fold() -> None:
    grid = Grid("t", [(f"column {i}", "left") for i in range(20)])
    grid.add_row(*[f"value {i}" for i in range(20)])
    assert printed(grid, WIDTH) is None
    narrow = Grid("t", [("a", "left"), ("b", "right")])
    narrow.add_row("[yellow]x[/]", "1.00×")
    narrow.add_row("", "")
    assert printed(narrow, WIDTH) == _rich(narrow)


def test_emoji_codes_print_as_written():
    """Task ids and variant names are the user's text: `:fire:` is not an emoji here."""
    from runner.report.console import rich_console

    out = io.StringIO()
    rich_console(out).print("done bench:fire:CPU:LATENCY and :smile:")
    assert out.getvalue() == "done bench:fire:CPU:LATENCY and :smile:\n"
