"""Live task view: a spinner line while a task runs, one permanent line per task."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from runner.core.errors import printable
from runner.executor.base import Outcome

if TYPE_CHECKING:
    from runner.cache.decision import Decision
    from runner.plan.tasks import Task

_STYLE = {
    "cached": "[green]cached [/]",
    "ran": "[bold green]done   [/]",
    "skipped": "[yellow]skipped[/]",
    "failed": "[bold red]FAILED [/]",
    "blocked": "[red]blocked[/]",
}


def _plain(text: str) -> str:
    """Reasons and log lines carry file names, recipe values and remote metadata: escape their
    control characters (ANSI) and their rich markup (a '[/]' in a file name is no tag)."""
    from runner.report.plain import escape  # rich.markup.escape without importing rich

    return escape(printable(text))


class RichProgress:
    def __init__(self, console, total: int):
        self.console = console
        self.total = total
        self.done = 0
        self._status = None
        self._started = 0.0

    def start(self, task: Task, decision: Decision) -> None:
        self._started = time.perf_counter()
        reason = _plain(decision.reason)
        text = f"[{self.done + 1}/{self.total}] running {_plain(task.id)} ({reason})"
        if self.console.is_terminal:
            self._status = self.console.status(text)
            self._status.start()
        else:
            self.console.print(f"        {text}", highlight=False)

    def log(self, task: Task, message: str) -> None:
        self.console.print(f"[dim]        {_plain(task.id)}: {_plain(message)}[/]", highlight=False)

    def finish(self, task: Task, outcome: Outcome) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        self.done += 1
        key = f"[dim]{task.key[:12]}[/]" if task.key else " " * 12
        timing = f" {outcome.seconds:6.1f}s" if outcome.state in ("ran", "failed") else ""
        reason = f"  [dim]{_plain(outcome.reason)}[/]" if outcome.reason else ""
        self.console.print(
            f"{_STYLE[outcome.state]} {key} {_plain(task.id)}{timing}{reason}", highlight=False
        )
