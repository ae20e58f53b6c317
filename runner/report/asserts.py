"""Check parsed `assert:` lines (`runner.recipe.asserts`) against a run's results.

Every value carries the range its repeats spanned; arithmetic propagates the ranges
(interval arithmetic) and a comparison whose two sides' ranges overlap is reported
"within noise": its verdict could flip on another run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.recipe.asserts import Assertion, Node, Ref
from runner.report.stats import cell_value, variant_value


@dataclass(frozen=True)
class Value:
    value: float
    lo: float
    hi: float
    # None: no timing involved (accuracy, size, constants: deterministic);
    # True: timing with a measured spread; False: timing from a single repeat.
    measured: bool | None = None

    @staticmethod
    def exact(v: float) -> Value:
        return Value(v, v, v)


def _both(a: Value, b: Value) -> bool | None:
    if a.measured is False or b.measured is False:
        return False
    return True if (a.measured or b.measured) else None


class Unavailable(Exception):
    """A name's value does not exist in this run (e.g. its cell was skipped)."""


def lookup(ref: Ref, results: dict[str, Any]) -> Value:
    if ref.cell is None:
        found = variant_value(results, ref.variant, ref.metric)
    else:
        found = cell_value(results, f"bench:{ref.variant}:{ref.cell}", ref.metric)
    if isinstance(found, str):
        raise Unavailable(found)
    value, lo, hi, measured = found
    return Value(value, lo, hi, measured)


def _arith(op: str, a: Value, b: Value) -> Value:
    if op == "+":
        return Value(a.value + b.value, a.lo + b.lo, a.hi + b.hi, _both(a, b))
    if op == "-":
        return Value(a.value - b.value, a.lo - b.hi, a.hi - b.lo, _both(a, b))
    if op == "/" and b.value == 0:
        raise Unavailable("division by zero")
    if op == "*":
        corners = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
        return Value(a.value * b.value, min(corners), max(corners), _both(a, b))
    if b.lo <= 0 <= b.hi:  # the divisor's range spans zero: the quotient's range is unbounded
        return Value(a.value / b.value, float("-inf"), float("inf"), False)
    corners = [a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi]
    return Value(a.value / b.value, min(corners), max(corners), _both(a, b))


def _number(node: Node, results: dict[str, Any]) -> Value:
    if node.kind == "num":
        return Value.exact(node.value)
    if node.kind == "name":
        return lookup(node.ref, results)
    if node.kind == "neg":
        v = _number(node.children[0], results)
        return Value(-v.value, -v.hi, -v.lo, v.measured)
    a, b = (_number(c, results) for c in node.children)
    return _arith(node.value, a, b)


_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _noise(left: Value, right: Value) -> str | None:
    """Could the verdict flip within the spread the repeats showed?"""
    measured = _both(left, right)
    if measured is None:
        return None  # deterministic values: noise does not apply
    if measured is False:
        return "noise not measured (1 repeat)"
    overlap = left.lo <= right.hi and right.lo <= left.hi
    return "within noise" if overlap else "significant"


def _check(node: Node, text: str, results: dict[str, Any], comparisons: list[dict]) -> bool:
    if node.kind == "cmp":
        left = _number(node.children[0], results)
        right = _number(node.children[1], results)
        passed = _COMPARE[node.value](left.value, right.value)
        comparisons.append(
            {
                "text": text[node.start : node.end],
                "left_text": text[node.children[0].start : node.children[0].end],
                "right_text": text[node.children[1].start : node.children[1].end],
                "left": left.value,
                "right": right.value,
                "left_range": [left.lo, left.hi],
                "right_range": [right.lo, right.hi],
                "passed": passed,
                "noise": _noise(left, right),
            }
        )
        return passed
    if node.kind == "not":
        return not _check(node.children[0], text, results, comparisons)
    # evaluate both sides (no short-circuit) so the report shows every value
    a = _check(node.children[0], text, results, comparisons)
    b = _check(node.children[1], text, results, comparisons)
    return (a and b) if node.kind == "and" else (a or b)


def check(assertion: Assertion, results: dict[str, Any]) -> dict[str, Any]:
    """The verdict of one assertion on a results document."""
    comparisons: list[dict] = []
    record: dict[str, Any] = {"text": assertion.text, "location": str(assertion.location)}
    read_at = _accuracy_precisions(assertion, results)
    if read_at:
        record["precisions"] = read_at
    try:
        passed = _check(assertion.tree, assertion.text, results, comparisons)
    except Unavailable as exc:
        return {**record, "passed": None, "reason": str(exc), "comparisons": comparisons}
    return {**record, "passed": passed, "comparisons": comparisons}


def _accuracy_precisions(assertion: Assertion, results: dict[str, Any]) -> dict[str, str]:
    """Name -> the precision its accuracy figure was measured at, e.g. ``bf16 (deployed)``."""
    from runner.report.accuracy import ACCURACY_METRICS, gate_figures

    out: dict[str, str] = {}
    for ref in assertion.refs:
        if ref.cell is not None or ref.metric not in ACCURACY_METRICS:
            continue
        ev = (results.get("evaluations") or {}).get(ref.variant)
        if not ev:
            continue
        on = ACCURACY_METRICS[ref.metric][0]
        precision = gate_figures(ev, on).get("precision")
        if precision:
            role = "deployed" if on == "deployed" else "compression alone"
            out[f"{ref.variant}.{ref.metric}"] = f"{precision} ({role})"
    return out


def check_all(assertions: list[Assertion], results: dict[str, Any]) -> list[dict[str, Any]]:
    return [check(a, results) for a in assertions]


def _fmt(value: float, lo: float, hi: float) -> str:
    if lo == hi:
        return f"{value:.4g}"
    return f"{value:.4g} (range {lo:.4g}–{hi:.4g})"


def describe(record: dict[str, Any]) -> str:
    """One line for the terminal: verdict, location, text and the values behind it."""
    where = record["location"]
    if record["passed"] is None:
        reason = record["reason"]
        if reason.startswith("not evaluated ("):  # an input task did not finish
            return f"{where}: assert {reason}: {record['text']}"
        return f"{where}: assert not evaluated: {record['text']} ({reason})"
    verdict = "passed" if record["passed"] else "error: assert failed"
    parts = []
    for c in record["comparisons"]:
        parts.append(
            f"{c['left_text']} = {_fmt(c['left'], *c['left_range'])} vs "
            f"{c['right_text']} = {_fmt(c['right'], *c['right_range'])}"
            + (f" ({c['noise']})" if c["noise"] else "")
        )
    line = f"{where}: {verdict}: {record['text']} — " + "; ".join(parts)
    read_at = record.get("precisions") or {}
    if read_at:
        line += " [" + ", ".join(f"{name} at {p}" for name, p in read_at.items()) + "]"
    return line
