"""`assert:` lines: a tiny safe expression language (no eval), checked after a run.

Grammar (recursive descent, one function per rule)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | NAME | "(" expr ")"

NAME is dotted: ``VARIANT.DEVICE.HINT[.CELL...].METRIC`` for a benchmark cell (the segments
after ``bench:VARIANT:`` of its task id, ``:`` read as ``.``) or ``VARIANT.METRIC`` for
accuracy and size. Names are resolved when the recipe loads, so a typo is exit 2 at the
assert's FILE:LINE:COL, not a surprise after an hour of benchmarking.

Every value carries the range its repeats spanned; arithmetic propagates the ranges
(interval arithmetic) and a comparison whose two sides' ranges overlap is reported
"within noise": its verdict could flip on another run.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from runner.errors import Location, OvrunError

# metric name -> (description, how to read it from a benchmark row)
CELL_METRICS: dict[str, str] = {
    "throughput": "samples/s, median over repeats",
    "latency": "median latency ms (median over repeats)",
    "latency_median": "median latency ms",
    "latency_p90": "90th percentile latency ms",
    "latency_p99": "99th percentile latency ms",
    "latency_min": "minimum latency ms",
    "latency_max": "maximum latency ms",
    "latency_mean": "mean latency ms",
    "first_inference_ms": "first inference after compile, ms",
    "compile_s": "cold compile seconds",
    "compile_warm_s": "compile seconds with a warm CACHE_DIR",
    "peak_rss_mb": "peak resident memory of the benchmark, MB",
    "size_mb": "IR size on disk, MB",
    "speedup": "throughput relative to the reference variant in the same cell",
}
VARIANT_METRICS: dict[str, str] = {
    "accuracy": "evaluation metric vs the reference (1.0 = identical)",
    "accuracy_drop": "1 - accuracy",
    "size_mb": "IR size on disk, MB",
}
_CMP = ("<=", ">=", "==", "!=", "<", ">")
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)"
    r"|(?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)))"
)


@dataclass(frozen=True)
class Token:
    kind: str  # num | name | op | kw | end
    text: str
    pos: int  # 0-based offset in the assert string


class AssertSyntaxError(Exception):
    def __init__(self, message: str, pos: int, hint: str | None = None):
        super().__init__(message)
        self.message, self.pos, self.hint = message, pos, hint


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.lastgroup is None:
            bad = len(text[pos:]) - len(text[pos:].lstrip()) + pos
            raise AssertSyntaxError(
                f"unexpected character {text[bad]!r}",
                bad,
                hint="use names like int8.CPU.LATENCY.throughput, numbers, + - * /, comparisons, and/or/not",
            )
        kind, value = m.lastgroup, m.group(m.lastgroup)
        start = m.start(kind)
        if kind == "name" and value in ("and", "or", "not"):
            kind = "kw"
        tokens.append(Token(kind, value, start))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# AST: tuples keep it small. Every node has (kind, start, end, ...).
@dataclass
class Node:
    kind: str  # num | name | neg | bin | cmp | and | or | not
    start: int
    end: int
    value: Any = None  # number, name segments, or operator
    children: tuple[Node, ...] = ()
    ref: Any = None  # resolved name (Ref), filled by resolve()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise AssertSyntaxError(f"unexpected {tok.text!r}", tok.pos, hint=_GRAMMAR_HINT)
        if node.kind not in ("cmp", "and", "or", "not"):
            raise AssertSyntaxError(
                "an assert must be a comparison",
                node.start,
                hint="e.g. int8.accuracy_drop <= 0.01",
            )
        return node

    def expr(self) -> Node:
        node = self.and_expr()
        while self.peek().text == "or" and self.peek().kind == "kw":
            self.take()
            right = self.and_expr()
            node = Node("or", node.start, right.end, children=(node, right))
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.peek().text == "and" and self.peek().kind == "kw":
            self.take()
            right = self.not_expr()
            node = Node("and", node.start, right.end, children=(node, right))
        return node

    def not_expr(self) -> Node:
        tok = self.peek()
        if tok.kind == "kw" and tok.text == "not":
            self.take()
            inner = self.not_expr()
            return Node("not", tok.pos, inner.end, children=(inner,))
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        tok = self.peek()
        if tok.kind == "op" and tok.text in _CMP:
            self.take()
            right = self.sum()
            _numeric(left)
            _numeric(right)
            return Node("cmp", left.start, right.end, tok.text, (left, right))
        return left

    def sum(self) -> Node:
        node = self.product()
        while self.peek().kind == "op" and self.peek().text in "+-":
            op = self.take().text
            right = self.product()
            node = Node("bin", node.start, right.end, op, (_numeric(node), _numeric(right)))
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek().kind == "op" and self.peek().text in "*/":
            op = self.take().text
            right = self.unary()
            node = Node("bin", node.start, right.end, op, (_numeric(node), _numeric(right)))
        return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text == "-":
            self.take()
            inner = self.unary()
            return Node("neg", tok.pos, inner.end, children=(_numeric(inner),))
        return self.atom()

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Node("num", tok.pos, tok.pos + len(tok.text), float(tok.text))
        if tok.kind == "name":
            return Node("name", tok.pos, tok.pos + len(tok.text), tuple(tok.text.split(".")))
        if tok.kind == "op" and tok.text == "(":
            inner = self.expr()
            close = self.take()
            if close.text != ")":
                raise AssertSyntaxError("missing ')'", close.pos, hint=_GRAMMAR_HINT)
            return Node(inner.kind, tok.pos, close.pos + 1, inner.value, inner.children)
        what = "end of line" if tok.kind == "end" else repr(tok.text)
        raise AssertSyntaxError(f"expected a number or a name, got {what}", tok.pos, _GRAMMAR_HINT)


_GRAMMAR_HINT = (
    "grammar: NAME or NUMBER, + - * / ( ), one comparison (< <= > >= == !=), and / or / not"
)


def _numeric(node: Node) -> Node:
    if node.kind in ("cmp", "and", "or", "not"):
        raise AssertSyntaxError(
            "a comparison cannot be used as a number", node.start, hint=_GRAMMAR_HINT
        )
    return node


def parse(text: str) -> Node:
    return _Parser(text).parse()


# ---------------------------------------------------------------- names
@dataclass(frozen=True)
class Ref:
    variant: str
    metric: str
    cell: str | None = None  # cell id ("CPU:LATENCY") for benchmark metrics


@dataclass
class Assertion:
    text: str
    index: int
    location: Location
    tree: Node
    refs: list[Ref] = field(default_factory=list)


def _names(node: Node) -> list[Node]:
    if node.kind == "name":
        return [node]
    return [n for child in node.children for n in _names(child)]


def resolve_name(segments: tuple[str, ...], recipe) -> Ref:
    """The Ref a dotted name means in ``recipe``; raises ValueError(message, hint) otherwise."""
    from runner.matrix import cells

    variants = list(recipe.variants)
    variant = segments[0]
    if variant not in variants:
        close = difflib.get_close_matches(variant, variants, n=1)
        raise ValueError(
            f"unknown variant '{variant}'",
            f"did you mean '{close[0]}'?" if close else f"variants: {', '.join(variants)}",
        )
    if len(segments) < 2:
        raise ValueError(
            f"'{variant}' needs a metric",
            f"e.g. {variant}.accuracy_drop or {variant}.CPU.LATENCY.throughput",
        )
    metric = segments[-1]
    if len(segments) == 2:
        if metric not in VARIANT_METRICS:
            raise ValueError(
                f"unknown variant metric '{metric}'",
                _suggest(metric, list(VARIANT_METRICS))
                + " (benchmark metrics need the cell: VARIANT.DEVICE.HINT.METRIC)",
            )
        if metric.startswith("accuracy") and recipe.evaluate is None:
            raise ValueError(
                f"{variant}.{metric} needs an evaluate: section", "add evaluate: to the recipe"
            )
        return Ref(variant, metric)
    cell_ids = [c.id for c in cells(recipe)]
    wanted = ".".join(segments[1:-1])
    match = [c for c in cell_ids if c.replace(":", ".") == wanted]
    if not match:
        shown = [c.replace(":", ".") for c in cell_ids]
        close = difflib.get_close_matches(wanted, shown, n=1)
        raise ValueError(
            f"no benchmark cell '{wanted}'",
            f"did you mean '{close[0]}'?" if close else f"cells: {', '.join(shown)}",
        )
    if metric not in CELL_METRICS:
        raise ValueError(
            f"unknown benchmark metric '{metric}'", _suggest(metric, list(CELL_METRICS))
        )
    if metric == "speedup" and recipe.evaluate is None:
        raise ValueError("speedup needs a reference variant", "add evaluate: with reference:")
    return Ref(variant, metric, match[0])


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"did you mean '{close[0]}'?" if close else f"one of: {', '.join(choices)}"


def _location(recipe, index: int, offset: int) -> Location:
    """Where character ``offset`` of assert ``index`` is in the recipe file."""
    base = recipe.location("assert", index)
    if base.line is None:
        return base
    col = base.col or 1
    try:
        line = recipe.file.read_text(encoding="utf-8").splitlines()[base.line - 1]
        if line[col - 1 : col] in ("'", '"'):
            col += 1  # a quoted scalar: its text starts after the quote
    except (OSError, IndexError):
        pass
    return Location(base.file, base.line, col + offset)


def parse_recipe_asserts(recipe) -> list[Assertion]:
    """Parse and resolve every `assert:` line; the first problem is an OvrunError (exit 2)."""
    out: list[Assertion] = []
    for index, text in enumerate(recipe.raw.get("assert") or []):
        try:
            tree = parse(text)
        except AssertSyntaxError as exc:
            raise OvrunError(
                f"assert: {exc.message}", hint=exc.hint, location=_location(recipe, index, exc.pos)
            ) from None
        refs: list[Ref] = []
        for name in _names(tree):
            try:
                ref = resolve_name(name.value, recipe)
            except ValueError as exc:
                message, hint = exc.args
                raise OvrunError(
                    f"assert: {message}", hint=hint, location=_location(recipe, index, name.start)
                ) from None
            name.ref = ref
            refs.append(ref)
        out.append(Assertion(text, index, _location(recipe, index, 0), tree, refs))
    return out


# ---------------------------------------------------------------- evaluation
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
    from runner.report.stats import cell_value, variant_value

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
    try:
        passed = _check(assertion.tree, assertion.text, results, comparisons)
    except Unavailable as exc:
        return {**record, "passed": None, "reason": str(exc), "comparisons": comparisons}
    return {**record, "passed": passed, "comparisons": comparisons}


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
        return f"{where}: assert not evaluated: {record['text']} ({record['reason']})"
    verdict = "passed" if record["passed"] else "error: assert failed"
    parts = []
    for c in record["comparisons"]:
        parts.append(
            f"{c['left_text']} = {_fmt(c['left'], *c['left_range'])} vs "
            f"{c['right_text']} = {_fmt(c['right'], *c['right_range'])}"
            + (f" ({c['noise']})" if c["noise"] else "")
        )
    return f"{where}: {verdict}: {record['text']} — " + "; ".join(parts)
