"""rich's output for a console that is no terminal, without importing rich.

A fully cached run prints a few dozen markup lines and one table; importing and running rich
for that costs more than the rest of the run. Off a terminal rich draws no colours, so its
output is the markup's text and, for a table, box characters around columns sized to their
widest cell. These functions produce exactly that, and return None for whatever they cannot
reproduce byte for byte (a table wider than the console, wide characters, markup rich would
reject): the caller then hands the object to rich. tests/report/test_plain.py compares both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

# rich/markup.py's patterns (rich 13-15): a tag, with the backslashes that may escape it
_TAG = r"((\\*)\[([a-z#/@][^[]*?)])"
_ESCAPE = r"(\\*)(\[[a-z#/@][^[]*?])"

# Characters one terminal cell wide that our tables print besides ASCII; anything else
# (East Asian wide characters, combining marks, emoji) goes to rich, which measures them.
_NARROW = frozenset("×±·→…–—°µ")


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # compiled on first use: a warm run that prints no markup never pays for it
    return re.compile(pattern)


def escape(text: str) -> str:
    """rich.markup.escape: ``text`` printed as is by a console that reads markup."""

    def backslashes(match: re.Match[str]) -> str:
        slashes, tag = match.groups()
        return f"{slashes}{slashes}\\{tag}"

    text = _compiled(_ESCAPE).sub(backslashes, text)
    if text.endswith("\\") and not text.endswith("\\\\"):
        return text + "\\"
    return text


def _safe(text: str) -> bool:
    """No character rich would strip, expand or measure differently from one cell."""
    return all((" " <= c < "\x7f") or c == "\n" or (c in _NARROW) for c in text)


def markup_text(markup: str) -> str | None:
    """The text rich.markup.render(markup) holds, or None where rich would raise or do
    something this does not (a closing tag with nothing to close, a handler tag)."""
    if "[" not in markup:
        return markup
    parts: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _compiled(_TAG).finditer(markup):
        full, escapes, tag = match.groups()
        start, end = match.span()
        if start > position:
            parts.append(markup[position:start].replace("\\[", "["))
        if escapes:
            slashes, escaped = divmod(len(escapes), 2)
            if slashes:
                parts.append("\\" * slashes)
            if escaped:
                parts.append(full[len(escapes) :].replace("\\[", "["))
                position = end
                continue
        name = tag.partition("=")[0]
        if name.startswith("@"):
            return None  # a handler tag: rich's business
        if name.startswith("/"):
            closing = name[1:].strip()
            if closing:
                closing = " ".join(closing.lower().split())  # rich's Style.normalize
                if closing not in stack:
                    return None
                del stack[len(stack) - 1 - stack[::-1].index(closing)]
            elif not stack:
                return None
            else:
                stack.pop()
        else:
            stack.append(name)
        position = end
    if position < len(markup):
        parts.append(markup[position:].replace("\\[", "["))
    return "".join(parts)


def printed(obj: Any, width: int, markup: bool = True) -> str | None:
    """What rich's ``Console.print(obj)`` writes off a terminal ``width`` cells wide with soft
    wrapping (the trailing newline included), or None when only rich can say."""
    if isinstance(obj, Grid):
        return obj.plain(width)
    if not isinstance(obj, str):
        return None
    text = markup_text(obj) if markup else obj
    if text is None or not _safe(text):
        return None
    return text + "\n"


@dataclass
class Grid:
    """A table as data: rich draws it on a terminal (``__rich__``), ``plain()`` off one.
    Cells and the title are rich markup."""

    title: str
    columns: list[tuple[str, str]]  # (header, "left" | "right")
    rows: list[list[str]] = field(default_factory=list)

    def add_row(self, *cells: str) -> None:
        self.rows.append(list(cells))

    def __rich__(self) -> Any:
        from rich.table import Table

        table = Table(title=self.title, title_justify="left")
        for header, justify in self.columns:
            table.add_column(header, justify=justify)  # type: ignore[arg-type]
        for row in self.rows:
            table.add_row(*row)
        return table

    def plain(self, width: int) -> str | None:
        """rich's HEAVY_HEAD box with one space of padding, when every column gets its
        natural width (the table fits in ``width``) and the title fits on one line."""
        headers = [markup_text(h) for h, _ in self.columns]
        body = [[markup_text(cell) for cell in row] for row in self.rows]
        title = markup_text(self.title)
        texts = [title, *headers, *(c for row in body for c in row)]
        if any(t is None or "\n" in t or t != t.strip() or not _safe(t) for t in texts):
            return None  # rich wraps, strips or measures these its own way
        if any(justify not in ("left", "right") for _, justify in self.columns):
            return None
        if any(len(row) != len(self.columns) for row in body):
            return None
        widths = [
            max(len(str(t)) for t in (headers[i], *(row[i] for row in body)))
            for i in range(len(self.columns))
        ]
        total = sum(widths) + 3 * len(widths) + 1
        if total > width or len(str(title)) > total:
            return None

        def line(cells: list[Any], bar: str) -> str:
            padded = [
                (f"{c:<{w}}" if justify == "left" else f"{c:>{w}}")
                for c, w, (_, justify) in zip(cells, widths, self.columns, strict=True)
            ]
            return bar + bar.join(f" {p} " for p in padded) + bar

        def rule(left: str, fill: str, cross: str, right: str) -> str:
            return left + cross.join(fill * (w + 2) for w in widths) + right

        out = [
            f"{title:<{total}}".rstrip() if title else None,
            rule("┏", "━", "┳", "┓"),
            line(headers, "┃"),
            rule("┡", "━", "╇", "┩"),
            *(line(row, "│") for row in body),
            rule("└", "─", "┴", "┘"),
        ]
        return "".join(f"{o}\n" for o in out if o is not None)
