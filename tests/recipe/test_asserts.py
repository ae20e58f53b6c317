"""`assert:` lines: the grammar, load-time name checks with positions, and the verdicts
(values with the spread of their repeats). End-to-end exit codes:
tests/report/test_report_html.py."""

from __future__ import annotations

import pytest
from recipes_util import minimal_recipe

from runner.core.errors import OvrunError
from runner.recipe.assert_names import parse_recipe_asserts
from runner.recipe.asserts import AssertSyntaxError, parse, tokenize
from runner.recipe.resolve import load_recipe
from runner.report.asserts import check

BODY = """
version: 1
name: mini
model:
  source: {{path: model}}
data:
  calib: {{text: calib.txt, samples: 2}}
variants:
  fp32: {{}}
  int8:
    quantize: {{dataset: calib}}
targets:
  devices: [CPU]
  hints: [LATENCY, THROUGHPUT]
evaluate: {{dataset: calib, reference: fp32}}
assert:
  - {line}
"""


def _recipe(tmp_path, line: str):
    return minimal_recipe(tmp_path, BODY.format(line=line))


def _error(tmp_path, line: str) -> OvrunError:
    with pytest.raises(OvrunError) as info:
        load_recipe(_recipe(tmp_path, line))
    return info.value


def test_tokenizer_reads_dotted_names_numbers_and_operators():
    kinds = [(t.kind, t.text) for t in tokenize("int8.CPU.LATENCY.throughput>=1.5e0*x.y")]
    assert kinds == [
        ("name", "int8.CPU.LATENCY.throughput"),
        ("op", ">="),
        ("num", "1.5e0"),
        ("op", "*"),
        ("name", "x.y"),
        ("end", ""),
    ]


def test_precedence_and_boolean_structure():
    tree = parse("a.b + 2 * c.d >= 1 and not e.f < 3 or g.h == 1")
    assert tree.kind == "or"
    left, right = tree.children
    assert left.kind == "and" and left.children[1].kind == "not"
    cmp = left.children[0]
    assert cmp.kind == "cmp" and cmp.value == ">="
    total = cmp.children[0]
    assert total.value == "+" and total.children[1].value == "*"
    assert right.kind == "cmp" and right.value == "=="


@pytest.mark.parametrize(
    ("text", "pos", "message"),
    [
        ("a.b >= 1 ; x", 9, "unexpected character ';'"),
        ("(a.b >= 1", 9, "missing ')'"),
        ("a.b * 2", 0, "an assert must be a comparison"),
        ("a.b >= ", 7, "expected a number or a name, got end of line"),
        ("(a.b < 1) + 2 > 1", 0, "a comparison cannot be used as a number"),
        ("__import__('os') > 1", 11, 'unexpected character "\'"'),
    ],
)
def test_syntax_errors_have_positions(text, pos, message):
    with pytest.raises(AssertSyntaxError) as info:
        parse(text)
    assert info.value.message == message
    assert info.value.pos == pos


def test_valid_asserts_load(tmp_path):
    recipe = load_recipe(
        _recipe(
            tmp_path, '"int8.CPU.THROUGHPUT.throughput >= 1.5 * fp32.CPU.THROUGHPUT.throughput"'
        )
    )
    (a,) = recipe.asserts
    assert [(r.variant, r.cell, r.metric) for r in a.refs] == [
        ("int8", "CPU:THROUGHPUT", "throughput"),
        ("fp32", "CPU:THROUGHPUT", "throughput"),
    ]
    assert str(a.location).endswith(":16:6")  # after the opening quote


@pytest.mark.parametrize(
    ("line", "col", "message", "hint"),
    [
        ("int9.accuracy_drop <= 0.01", 5, "unknown variant 'int9'", "did you mean 'int8'?"),
        (
            "'int8.CPU.LATENCY.throughput > fp32.GPU.LATENCY.throughput'",
            36,
            "no benchmark cell 'GPU.LATENCY'",
            "did you mean 'CPU.LATENCY'?",
        ),
        (
            "int8.CPU.LATENCY.througput > 1",
            5,
            "unknown benchmark metric 'througput'",
            "did you mean 'throughput'?",
        ),
        ("int8.acuracy_drop <= 0.01", 5, "unknown variant metric 'acuracy_drop'", "accuracy_drop"),
        ("int8.accuracy_drop <= 0.01 andd 1 > 0", 32, "unexpected 'andd'", "grammar"),
    ],
)
def test_bad_names_are_exit_2_at_their_column(tmp_path, line, col, message, hint):
    err = _error(tmp_path, line)
    assert err.message == f"assert: {message}"
    assert hint in err.hint
    assert (err.location.line, err.location.col) == (16, col)


def test_accuracy_needs_an_evaluate_section(tmp_path):
    path = minimal_recipe(
        tmp_path,
        BODY.format(line="int8.accuracy_drop <= 0.01").replace(
            "evaluate: {dataset: calib, reference: fp32}\n", ""
        ),
    )
    with pytest.raises(OvrunError, match="needs an evaluate: section"):
        load_recipe(path)


def _results(int8_runs, fp32_runs, drop=0.004):
    def row(variant, runs):
        ordered = sorted(runs)
        return {
            "task": f"bench:{variant}:CPU:THROUGHPUT",
            "variant": variant,
            "device": "CPU",
            "hint": "THROUGHPUT",
            "cell": "CPU:THROUGHPUT",
            "status": "ok",
            "throughput": ordered[len(ordered) // 2],
            "latency_ms": {"median": 1.0},
            "repeats": [{"throughput": t, "latency_ms": {"median": 1.0}} for t in runs],
            "size_bytes": 1_000_000 if variant == "int8" else 4_000_000,
        }

    return {
        "reference": "fp32",
        "benchmarks": [row("int8", int8_runs), row("fp32", fp32_runs)],
        "evaluations": {"int8": {"value": 1 - drop, "accuracy_drop": drop}},
    }


def _assertion(tmp_path, line):
    recipe = load_recipe(_recipe(tmp_path, line))
    return parse_recipe_asserts(recipe)[0]


def test_verdict_says_significant_or_within_noise(tmp_path):
    a = _assertion(
        tmp_path, "'int8.CPU.THROUGHPUT.throughput >= 1.5 * fp32.CPU.THROUGHPUT.throughput'"
    )
    # separated ranges: 150-160 vs 1.5 * (90-99) = 135-148.5 -> significant
    record = check(a, _results([150, 155, 160], [90, 95, 99]))
    assert record["passed"] is True
    (c,) = record["comparisons"]
    assert c["noise"] == "significant"
    assert c["left"] == 155 and c["right"] == pytest.approx(142.5)
    assert c["right_range"] == pytest.approx([135, 148.5])
    # a pass whose ranges overlap could flip on another run
    record = check(a, _results([140, 146, 170], [90, 95, 100]))
    assert record["passed"] is True and record["comparisons"][0]["noise"] == "within noise"
    # a failure
    record = check(a, _results([100, 110, 120], [90, 95, 100]))
    assert record["passed"] is False and record["comparisons"][0]["noise"] == "significant"
    # one repeat: no spread known
    record = check(a, _results([200], [100]))
    assert record["comparisons"][0]["noise"] == "noise not measured (1 repeat)"


def test_variant_metrics_and_booleans(tmp_path):
    a = _assertion(tmp_path, "int8.accuracy_drop <= 0.01 and int8.size_mb < 0.5 * fp32.size_mb")
    record = check(a, _results([1, 2], [1, 2], drop=0.004))
    assert record["passed"] is True
    assert [c["noise"] for c in record["comparisons"]] == [None, None]
    record = check(a, _results([1, 2], [1, 2], drop=0.02))
    assert record["passed"] is False
    assert [c["passed"] for c in record["comparisons"]] == [False, True]


def test_skipped_cell_is_not_evaluated(tmp_path):
    a = _assertion(tmp_path, "int8.CPU.LATENCY.throughput > 0")
    results = _results([1, 2], [1, 2])
    results["benchmarks"].append(
        {
            "task": "bench:int8:CPU:LATENCY",
            "variant": "int8",
            "status": "missing",
            "reason": "task did not produce a result",
        }
    )
    record = check(a, results)
    assert record["passed"] is None and "missing" in record["reason"]
