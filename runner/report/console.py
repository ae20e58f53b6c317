"""The console `ovrun run` prints through: rich's, created only when something needs it.

Off a terminal rich draws no colours or live views, and a fully cached run's output (task
lines, the results table, verdicts) is plain text that report/plain.py writes byte for byte
as rich would, about 0.1 s sooner (rich's import and table layout). On a terminal, for a
live status or for anything plain.py declines, the rich console does the work.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from runner.report.plain import printed

# rich's width for output that is no terminal (ovrun's historical choice: wide enough for
# the results table, so a log file or a pipe gets it unfolded)
MIN_PIPE_WIDTH = 140


def _rich_decides(file: IO[str]) -> bool:
    """True where rich's Console.is_terminal would not simply be stdout.isatty() == False:
    the variables that force a terminal, notebooks and IDLE."""
    env = os.environ
    if any(name in env for name in ("TTY_COMPATIBLE", "FORCE_COLOR", "JUPYTER_COLUMNS")):
        return True
    if "ipykernel" in sys.modules or "google.colab" in sys.modules:
        return True
    if getattr(sys.stdin, "__module__", "").startswith("idlelib"):
        return True
    try:
        return file.isatty()
    except (AttributeError, ValueError):
        return True


def _pipe_width() -> int:
    """rich's Console.size off a terminal (any std stream's terminal size, then $COLUMNS,
    else 80), widened as cli/common.console() always did."""
    width = None
    for fd in (0, 1, 2):
        try:
            width = os.get_terminal_size(fd).columns
            break
        except (AttributeError, ValueError, OSError):
            continue
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        width = int(columns)
    return max(width or 80, MIN_PIPE_WIDTH)


def rich_console(file: IO[str] | None = None) -> Any:
    from rich.console import Console

    # emoji=False: a variant, task id or file name such as `fire` or `:fire:` prints as written
    console = Console(file=file, highlight=False, soft_wrap=True, emoji=False)
    if not console.is_terminal:
        width = max(console.width, MIN_PIPE_WIDTH)
        console = Console(file=file, highlight=False, soft_wrap=True, width=width, emoji=False)
    return console


class RunConsole:
    """What the run's code calls on a rich Console (print, status, is_terminal, width).
    ``file``: where it writes (None: sys.stdout at each print, as rich does)."""

    def __init__(self, file: IO[str] | None = None) -> None:
        self._file = file
        self._rich: Any = None
        self._plain_width = None if _rich_decides(self._out()) else _pipe_width()

    def _out(self) -> IO[str]:
        return self._file if self._file is not None else sys.stdout

    @property
    def rich(self) -> Any:
        if self._rich is None:
            self._rich = rich_console(self._file)
        return self._rich

    @property
    def is_terminal(self) -> bool:
        return False if self._plain_width is not None else self.rich.is_terminal

    @property
    def width(self) -> int:
        return self._plain_width if self._plain_width is not None else self.rich.width

    def print(self, *objects: Any, markup: bool | None = None, **options: Any) -> None:
        # style / highlight draw nothing off a terminal; any other option is rich's to apply
        plain_ok = self._plain_width is not None and len(objects) == 1
        if plain_ok and not set(options) - {"style", "highlight"}:
            text = printed(objects[0], self._plain_width, markup is not False)
            if text is not None:
                out = self._out()
                out.write(text)
                out.flush()  # rich flushes each print; keeps order with stderr
                return
        self.rich.print(*objects, markup=markup, **options)

    def __getattr__(self, name: str) -> Any:  # status(), log(), ...: rich's
        return getattr(self.rich, name)
