"""The verdict on one figure of one cell across two runs.

A ratio B/A is *significant* only when it is beyond both
- the host's run-to-run noise floor (`runner/host/noise.py`): how far two A/A runs of one
  model in separate processes drift apart on this hardware, and
- the two runs' own spreads (`own_interval`): the ranges their repeats spanned must not
  overlap.
Without a floor the verdict never reads a bare "significant": it says the floor is missing.
"""

from __future__ import annotations

import math
from typing import Any

from runner.report.stats import Figure, cell_value

SIGNIFICANT = "significant"
WITHIN_NOISE = "within noise"
NO_FLOOR = "no noise floor"  # beyond its spreads; the floor is unknown
NOT_MEASURED = "noise not measured"


def own_interval(results: dict[str, Any], task_id: str, metric: str) -> Figure | str:
    """(value, low, high, known) of a cell's figure: today the min / max over its repeats.

    The one place `compare` reads a run's own noise; when a row carries a confidence
    interval of its own (per-cell, from paired rounds), return that here instead."""
    return cell_value(results, task_id, metric)


def verdict(a: Figure, b: Figure, floor: float | None) -> dict[str, Any]:
    """B against A: the ratio, whether it clears the floor and the spreads, and the verdict."""
    ratio = b[0] / a[0] if a[0] else None
    spreads_known = bool(a[3] and b[3])
    beyond_spreads = spreads_known and not (a[1] <= b[2] and b[1] <= a[2])
    beyond_floor = (
        None if floor is None or ratio is None else abs(math.log(ratio)) > math.log1p(floor)
    )
    if beyond_floor is False or (spreads_known and not beyond_spreads):
        found = WITHIN_NOISE
    elif not spreads_known:
        found = NOT_MEASURED  # one repeat: the run's own noise is unknown
    elif beyond_floor is None:
        found = NO_FLOOR
    else:
        found = SIGNIFICANT
    return {
        "a": a[0],
        "b": b[0],
        "ratio": ratio,
        "floor": floor,
        "beyond_floor": beyond_floor,
        "beyond_spreads": beyond_spreads if spreads_known else None,
        "verdict": found,
    }


def floor_for(floor: dict[str, dict[str, float]] | None, hint: str, metric: str) -> float | None:
    """The floor measured for ``hint`` (THROUGHPUT's for CUMULATIVE_THROUGHPUT); the widest
    over the hints measured when that hint was not."""
    if not floor:
        return None
    key = "THROUGHPUT" if hint == "CUMULATIVE_THROUGHPUT" else hint
    if key in floor and metric in floor[key]:
        return floor[key][metric]
    values = [f[metric] for f in floor.values() if metric in f]
    return max(values) if values else None
