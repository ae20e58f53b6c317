"""The progress lines print reasons that carry file names, recipe values and remote metadata:
rich markup in them is text (a '[/]' raised MarkupError, a traceback) and control
characters are escaped (an ANSI sequence could drive the terminal)."""

from __future__ import annotations

import io

from rich.console import Console

from runner.executor.base import Outcome
from runner.executor.progress import RichProgress
from runner.plan.ops import OPS
from runner.plan.tasks import Task


def test_markup_and_ansi_in_reasons_are_printed_as_text():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200, highlight=False)
    progress = RichProgress(console, total=1)
    task = Task("data:calib", OPS["dataset"], {}, key="ab" * 32)
    reason = "data file x[/]y[bold].txt \x1b[2J not found"
    progress.log(task, "read [/] \x1b[31m")
    progress.finish(task, Outcome(task.id, "failed", reason, 0.1, 2))
    text = out.getvalue()
    assert "x[/]y[bold].txt" in text and "read [/]" in text
    assert "\x1b" not in text and "\\x1b[2J" in text
