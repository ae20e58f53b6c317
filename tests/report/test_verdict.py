"""The within-run verdict (runner/report/verdict.py) on synthetic rounds with known
distributions: pure functions, seeded, no timing."""

from __future__ import annotations

import math
import random

import pytest

from runner.report import verdict
from runner.report.stats import speedup, speedup_method, speedup_verdict


def _rounds(values: list[float]) -> list[dict]:
    return [{"pass": i, "throughput": v} for i, v in enumerate(values)]


def _pair(rng: random.Random, n: int, shift: float, noise: float, drift: float):
    """n paired passes: a drift factor shared by both cells of a pass (what interleaving
    buys), independent lognormal noise per round, and a true ratio of ``shift``."""
    ref, var = [], []
    for _ in range(n):
        common = math.exp(rng.gauss(0, drift))
        ref.append(100.0 * common * math.exp(rng.gauss(0, noise)))
        var.append(100.0 * shift * common * math.exp(rng.gauss(0, noise)))
    return _rounds(var), _rounds(ref)


def test_median_interval_uses_the_exact_sign_test_coverage() -> None:
    six = verdict.median_interval([5, 1, 4, 2, 6, 3])
    assert (six.low, six.high, six.estimate) == (1, 6, 3.5)
    assert six.confidence == pytest.approx(1 - 2 / 2**6)
    twenty = verdict.median_interval(list(range(1, 21)))
    # k = 6 is the largest with 1 - 2·P(Bin(20, 1/2) < k) >= 0.95 (0.9586; k = 7 gives 0.8847)
    assert (twenty.low, twenty.high) == (6, 15)
    assert twenty.confidence == pytest.approx(0.95861, abs=1e-5)


def test_fewer_than_six_rounds_give_no_95_percent_verdict() -> None:
    five = verdict.median_interval([0.5, 0.6, 0.7, 0.8, 0.9])
    assert five.confidence < 0.95
    assert verdict.decide(five) == "too few rounds"
    assert verdict.decide(None) == "noise not measured"


def test_equal_distributions_are_not_significant_in_at_least_95_percent_of_trials() -> None:
    rng = random.Random(18)
    trials = 1000
    significant = sum(
        verdict.decide(verdict.ratio_interval(*_pair(rng, 20, 1.0, 0.03, 0.10))) == "significant"
        for _ in range(trials)
    )
    assert significant / trials <= 0.05


def test_a_ten_percent_shift_with_enough_rounds_is_significant() -> None:
    rng = random.Random(7)
    trials = 200
    found = [verdict.ratio_interval(*_pair(rng, 20, 1.10, 0.03, 0.10)) for _ in range(trials)]
    assert sum(verdict.decide(i) == "significant" for i in found) / trials >= 0.95
    # the interval is around the true ratio although the drift (10%) exceeds the effect
    assert all(i is not None and i.low > 1.0 for i in found[:10])


def test_drift_shared_within_a_pass_cancels_in_the_paired_ratio() -> None:
    """Unpaired, the two cells' intervals overlap under 10% drift; paired, the ratio's
    interval is tight and excludes 1."""
    rng = random.Random(3)
    var, ref = _pair(rng, 20, 1.10, 0.01, 0.10)
    a, b = verdict.throughput_interval(var), verdict.throughput_interval(ref)
    assert a.low <= b.high  # the separate intervals overlap
    ratio = verdict.ratio_interval(var, ref)
    assert ratio is not None and ratio.low > 1.0 and ratio.rel_half_width < 0.02


def _row(variant: str, rounds: list[dict] | None, repeats: list[float] | None = None) -> dict:
    row = {"task": f"bench:{variant}:CPU:LATENCY", "variant": variant, "device": "CPU"}
    row |= {"hint": "LATENCY", "cell": "CPU:LATENCY", "status": "ok"}
    if rounds is not None:
        row |= {"rounds": rounds, "measurement": {"group": "rounds:CPU:LATENCY"}}
        row["throughput"] = verdict.throughput_interval(rounds).estimate
    else:
        row["repeats"] = [{"throughput": t, "latency_ms": {"median": 1.0}} for t in repeats or []]
        row["throughput"] = sorted(repeats or [])[len(repeats or []) // 2]
    return row


def test_report_rule_uses_paired_rounds_and_old_results_keep_the_old_rule() -> None:
    rng = random.Random(11)
    var, ref = _pair(rng, 12, 1.10, 0.01, 0.10)
    doc = {"reference": "fp32", "benchmarks": [_row("fp32", ref), _row("int8", var)]}
    row = doc["benchmarks"][1]
    value, low, high, measured = speedup(doc, row)
    assert measured and low > 1.0 and low <= value <= high
    assert speedup_verdict(doc, row) == "significant"
    assert speedup_method(doc, row) == verdict.METHOD

    old = {
        "reference": "fp32",
        "benchmarks": [_row("fp32", None, [100, 101, 102]), _row("int8", None, [101, 103, 104])],
    }
    assert speedup_verdict(old, old["benchmarks"][1]) == "within noise"  # ranges overlap
    assert speedup_method(old, old["benchmarks"][1]) == verdict.OLD_METHOD
