"""Where a scatter's point labels go so that they do not overlap: each label tries the four
corners around its point (above right first), then the same a line further out, and takes
the first that stays inside the plot
and clear of every point and earlier label; one that fits nowhere is left out (the point's
tooltip still names it). Needs pixel positions, so only for charts whose scales are fixed
by their spec (explicit domains, no 'nice' rounding)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

FONT_PX = 10.0
LIMIT_PX = 240.0  # longer labels are cut with "…" by Vega (the mark's text limit)
POINT_R = 5.0
# (dx, dy, align): dy is the text baseline's offset from the point
CORNERS = (
    (6.0, -6.0, "left"),
    (6.0, 13.0, "left"),
    (-6.0, -6.0, "right"),
    (-6.0, 13.0, "right"),
    (6.0, -17.0, "left"),  # a line further out, before giving up
    (6.0, 24.0, "left"),
    (-6.0, -17.0, "right"),
    (-6.0, 24.0, "right"),
)


def text_width(text: str, size: float = FONT_PX) -> float:
    """A generous estimate of rendered width (DejaVu-like sans metrics)."""
    units = 0.0
    for ch in text:
        if ch in "fijlrtI.,:;!|'`()[]{} /\\-·":
            units += 0.36
        elif ch in "mwMW@%#&":
            units += 0.9
        elif ch.isupper() or ord(ch) > 0x2E7F:
            units += 0.75
        else:
            units += 0.62
    return units * size


def place(
    points: Sequence[tuple[float, float, str]], width: float, height: float
) -> list[int | None]:
    """For each (px, py, text), the index into CORNERS of its label, or None (left out)."""
    taken = [(x - POINT_R, y - POINT_R, x + POINT_R, y + POINT_R) for x, y, _ in points]
    out: list[int | None] = []
    for x, y, text in points:
        w = min(text_width(text), LIMIT_PX)
        choice = None
        for i, (dx, dy, align) in enumerate(CORNERS):
            x0 = x + dx if align == "left" else x + dx - w
            box = (x0, y + dy - FONT_PX + 1, x0 + w, y + dy + 2)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
            clear = all(
                box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in taken
            )
            if inside and clear:
                taken.append(box)
                choice = i
                break
        out.append(choice)
    return out


def label_layers(
    items: list[dict[str, Any]],
    at: Sequence[tuple[float, float]],
    size: tuple[float, float],
    role: str,
) -> list[dict[str, Any]]:
    """Vega-Lite text layers labelling ``items`` (each with a ``label``) at pixel positions
    ``at`` in a plot of ``size``: one layer per corner used, in the items' order of
    priority; items whose label fits nowhere get none."""
    corners = place([(x, y, item["label"]) for (x, y), item in zip(at, items, strict=True)], *size)
    layers = []
    for i, (dx, dy, align) in enumerate(CORNERS):
        shown = [item for item, c in zip(items, corners, strict=True) if c == i]
        if not shown:
            continue
        layers.append(
            {
                "data": {"values": shown},
                "mark": {
                    "type": "text",
                    "align": align,
                    "dx": dx,
                    "dy": dy,
                    "baseline": "alphabetic",
                    "fontSize": FONT_PX,
                    "limit": LIMIT_PX,
                    "color": "#1d1d1f",
                    "ariaRoleDescription": role,
                },
                "encoding": {"text": {"field": "label"}, "description": {"field": "label"}},
            }
        )
    return layers
