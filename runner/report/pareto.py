"""Pareto dominance, shared by the search summary and the report's accuracy/speed chart."""

from __future__ import annotations

from collections.abc import Sequence


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """``a`` costs no more than ``b`` on every axis and less on one (lower is better)."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def front(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the points no other point dominates."""
    return [
        i
        for i, p in enumerate(points)
        if not any(dominates(q, p) for j, q in enumerate(points) if j != i)
    ]
