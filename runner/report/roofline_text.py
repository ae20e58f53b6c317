"""The `% peak` cell of the terminal and HTML tables: a benchmark row's share of this host's
measured peak at the precision it ran at, and whether it is compute- or memory-bound."""

from __future__ import annotations

from typing import Any

_SHORT = {"compute": "cmp", "memory": "mem"}


def peak_text(row: dict[str, Any], short: bool = True) -> str:
    """``54% mem`` (terminal) / ``54% memory-bound`` (HTML); ``-`` without a measured peak
    (a row from before the roofline figures, or a device whose peak was not measured)."""
    share = row.get("peak_share")
    if share is None:
        return "-"
    bound = row.get("bound")
    label = (_SHORT.get(bound, bound) if short else f"{bound}-bound") if bound else ""
    return f"{share * 100:.0f}% {label}".rstrip()


def peak_title(row: dict[str, Any]) -> str:
    """The figures behind the cell, for the HTML cell's tooltip."""
    parts = []
    if row.get("gflops") is not None:
        parts.append(f"{row['gflops']:.1f} GFLOP/s achieved")
    if row.get("peak_gflops") is not None:
        parts.append(f"{row['peak_gflops']:.1f} GFLOP/s peak at {row.get('peak_precision')}")
    if row.get("intensity") is not None:
        parts.append(f"{row['intensity']:.1f} flop/byte")
    if row.get("bandwidth_gbps") is not None:
        parts.append(f"{row['bandwidth_gbps']:.1f} GB/s memory")
    return ", ".join(parts)
