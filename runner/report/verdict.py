"""The within-run verdict: distribution-free 95% intervals from interleaved rounds.

Pure (standard library only) so the benchmark's stopping rule, the report, the table,
``compare`` and ``assert:`` all apply one rule.

* A cell's throughput is the median of its rounds' throughputs; its interval is the
  order-statistic (sign-test) confidence interval of that median: ``[x(k), x(n-k+1)]`` with
  the largest ``k`` whose exact binomial coverage ``1 - 2·P(Bin(n, ½) < k)`` is still ≥ 95%.
* A variant's ratio to the reference in the same group is the median of the *per-round*
  ratios (rounds are paired by their pass: within one pass both cells ran back to back, so
  drift hits them alike), with the same sign-test interval over those ratios.
* A ratio is *significant* only when its 95% interval excludes 1. There is no
  minimal-effect threshold. With fewer than 6 paired rounds no interval reaches 95% (6 is
  the smallest n with ``1 - 2/2^n ≥ 0.95``): the verdict is then ``too few rounds``.

The intervals assume rounds are independent draws; they need no normality or symmetry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

CONFIDENCE = 0.95
MIN_ROUNDS = 6  # the smallest n whose [min, max] order-statistic interval covers >= 95%
METHOD = "sign-test 95% interval over interleaved rounds"
OLD_METHOD = "min-max overlap of repeats (old rule: results without rounds)"


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    confidence: float  # the exact coverage of [low, high]: >= CONFIDENCE once n >= MIN_ROUNDS
    n: int

    @property
    def rel_half_width(self) -> float:
        """Half the interval's width relative to the estimate (±2% reads 0.02)."""
        if not self.estimate:
            return math.inf
        return (self.high - self.low) / 2 / abs(self.estimate)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rel_half_width": self.rel_half_width}


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("median of no values")
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _below(k: int, n: int) -> float:
    """P(Bin(n, 1/2) < k)."""
    return sum(math.comb(n, i) for i in range(k)) / 2**n


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The sign-test interval of the median of ``values``. Below ``MIN_ROUNDS`` values the
    widest one ([min, max]) is returned with its true, lower coverage."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("an interval needs at least one value")
    k = 1
    while k + 1 <= n - k and 1 - 2 * _below(k + 1, n) >= confidence:
        k += 1
    coverage = 1 - 2 * _below(k, n) if n > 1 else 0.0
    return Interval(median(ordered), ordered[k - 1], ordered[n - k], coverage, n)


def paired_ratios(variant: Sequence[dict], reference: Sequence[dict]) -> list[float]:
    """Per-pass throughput ratios variant / reference; rounds carry ``pass`` and
    ``throughput``. Passes only one side measured are left out."""
    ref = {r["pass"]: r["throughput"] for r in reference}
    return [r["throughput"] / ref[r["pass"]] for r in variant if ref.get(r["pass"])]


def ratio_interval(variant: Sequence[dict], reference: Sequence[dict]) -> Interval | None:
    ratios = paired_ratios(variant, reference)
    return median_interval(ratios) if ratios else None


def throughput_interval(rounds: Sequence[dict]) -> Interval:
    return median_interval([r["throughput"] for r in rounds])


def decide(interval: Interval | None) -> str:
    """'significant' / 'within noise' / 'too few rounds' / 'noise not measured'."""
    if interval is None:
        return "noise not measured"
    if interval.confidence < CONFIDENCE:
        return "too few rounds"
    return "significant" if interval.low > 1 or interval.high < 1 else "within noise"
