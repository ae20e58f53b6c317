"""`assert:` lines: a tiny safe expression language (no eval), parsed and resolved when the
recipe loads; `runner.report.asserts` checks them against a run's results.

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

import re
from dataclasses import dataclass, field
from typing import Any

from runner.core.errors import Location

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
    "accuracy": "evaluation metric vs the reference (1.0 = identical), mean over samples, at the "
    "precision the variant's benchmark cells and deploy run; with a class-labelled evaluation "
    "set: accuracy against the labels (the reference's too)",
    "spearman": "Spearman correlation of pair cosine similarities with gold scores (a labelled "
    "set with text_pair: and score:), at the deployed precision",
    "exact_match": "SQuAD exact match against the answers (a labelled set with question:, "
    "context:, answer:), at the deployed precision",
    "f1": "SQuAD token F1 against the answers, at the deployed precision",
    "accuracy_drop": "1 - accuracy",
    "accuracy_min": "worst sample's metric, at the deployed precision",
    "accuracy_p05": "5th percentile of the per-sample metric, at the deployed precision",
    "compression_accuracy": "mean metric under evaluate.properties (f32: the compression alone)",
    "compression_accuracy_drop": "1 - compression_accuracy",
    "compression_accuracy_min": "worst sample under evaluate.properties",
    "compression_accuracy_p05": "5th percentile under evaluate.properties",
    "size_mb": "IR size on disk, MB",
}
_CMP = ("<=", ">=", "==", "!=", "<", ">")
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)"
    # the variant may be an ONNX Runtime row's: fp32@onnxruntime (runner.recipe.runtimes)
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:@[a-z]+)?(?:\.[A-Za-z0-9_]+)*)"
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


MAX_TOKENS = 256


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
        if len(tokens) > MAX_TOKENS:  # every later pass recurses over the tree it builds
            raise AssertSyntaxError(
                f"assert is longer than {MAX_TOKENS} names, numbers and operators",
                start,
                hint="split it into several assert lines",
            )
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


# Parentheses, `not` and unary minus nest the recursive descent; a real assert needs a
# handful, and Python's recursion limit (a traceback) sits a few hundred levels down.
MAX_NESTING = 32


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def nested(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise AssertSyntaxError(
                f"expression nests deeper than {MAX_NESTING} levels",
                tok.pos,
                hint="split it into several assert lines or drop redundant parentheses / not",
            )

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
            self.nested(tok)
            inner = self.not_expr()
            self.depth -= 1
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
            self.nested(tok)
            inner = self.unary()
            self.depth -= 1
            return Node("neg", tok.pos, inner.end, children=(_numeric(inner),))
        return self.atom()

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Node("num", tok.pos, tok.pos + len(tok.text), float(tok.text))
        if tok.kind == "name":
            return Node("name", tok.pos, tok.pos + len(tok.text), tuple(tok.text.split(".")))
        if tok.kind == "op" and tok.text == "(":
            self.nested(tok)
            inner = self.expr()
            self.depth -= 1
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
