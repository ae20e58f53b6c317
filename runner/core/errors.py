"""User-facing errors: one line with a position, one hint line, exit code 2."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1  # the run worked but a gate or a task failed
EXIT_USAGE = 2  # bad input: recipe, flags, missing files, unavailable things
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file and, when known, its 1-based line and column."""

    file: str
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"


class OvrunError(Exception):
    """An error caused by the user's input or environment; printed without a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None, location: Location | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def render(self) -> str:
        # the location's file may be a --set argument or a file name with control characters
        where = f"{printable(str(self.location))}: " if self.location else "ovrun: "
        text = f"{where}error: {printable(self.message)}"
        if self.hint:
            text += f"\nhint: {printable(self.hint)}"
        return text


def printable(text: str) -> str:
    """``text`` with newlines, control characters and ANSI escapes written as escapes.

    Recipe values, --set values, lock files, file names and remote metadata may hold them;
    printed raw they could split an error into several lines (tools parse FILE:LINE:COL:
    error: ...) or drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class TaskFailed(OvrunError):
    """A task raised; the run stops (or continues with --keep-going) and exits 1."""

    exit_code = EXIT_FAILED


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` was most likely meant to be, or None when none is close."""
    import difflib

    found = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def suggest(word: str, choices: Iterable[str], otherwise: str | None = None) -> str | None:
    """The one "did you mean" hint of every message, else ``otherwise``."""
    close = closest(word, choices)
    return f"did you mean '{close}'?" if close else otherwise
