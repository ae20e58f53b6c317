"""`ovrun report` and `ovrun compare` read results.json files they did not write: a results
document of a run whose cells failed renders; old, partial (--only), foreign, truncated or
non-UTF-8 files are exit 2 with one line naming what is wrong, never a traceback."""

from __future__ import annotations

import json

import jsonschema
import pytest
from recipes_util import REPO

from runner.cli.main import main


def failed_run_doc() -> dict:
    """What `ovrun run` writes when one cell failed and the other was blocked."""
    return {
        "schema": "ovrun.results/2",
        "recipe": "tiny",
        "reference": "fp32",
        "metric": "cosine",
        "variants": {"fp32": {"compression": None}, "w8": {"compression": None}},
        "benchmarks": [
            {
                "task": "bench:fp32:CPU:LATENCY",
                "variant": "fp32",
                "device": "CPU",
                "hint": "LATENCY",
                "cell": "CPU:LATENCY",
                "status": "failed",
                "reason": "compile on CPU rejected the config",
            },
            {
                "task": "bench:w8:CPU:LATENCY",
                "variant": "w8",
                "device": "CPU",
                "hint": "LATENCY",
                "cell": "CPU:LATENCY",
                "status": "blocked",
                "reason": "run stopped after a failure (use --keep-going)",
            },
        ],
        "evaluations": {},
        "gates": [
            {
                "variant": "w8",
                "metric": "cosine",
                "value": None,
                "accuracy_drop": None,
                "max_drop": 0.5,
                "passed": None,
                "reason": "not evaluated (eval:w8 blocked)",
            }
        ],
        "missing": {
            "bench:fp32:CPU:LATENCY": {"state": "failed", "reason": "compile rejected"},
            "bench:w8:CPU:LATENCY": {"state": "blocked", "reason": "run stopped"},
            "eval:w8": {"state": "blocked", "reason": "run stopped"},
        },
        "host": None,
        "run": {"started": 1.0, "seconds": 2.0, "tasks": {}},
    }


def _write(tmp_path, content) -> str:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    file = run_dir / "results.json"
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        file.write_text(json.dumps(content, indent=1), encoding="utf-8")
    return str(run_dir)


def test_a_run_with_failed_cells_matches_the_schema_and_renders(tmp_path, capsys):
    doc = failed_run_doc()
    schema = json.loads((REPO / "schemas" / "results.schema.json").read_text())
    jsonschema.validate(doc, schema)
    run_dir = _write(tmp_path, doc)
    assert main(["report", run_dir]) == 0
    html = (tmp_path / "run" / "report.html").read_text()
    assert "compile on CPU rejected the config" in html
    assert "gate not evaluated (eval:w8 blocked): w8" in html
    assert main(["compare", run_dir, run_dir]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_the_schema_describes_a_run_without_a_report():
    schema = json.loads((REPO / "schemas" / "results.schema.json").read_text())
    partial = {
        k: v for k, v in failed_run_doc().items() if k in ("schema", "recipe", "host", "run")
    }
    jsonschema.validate(partial, schema)
    with pytest.raises(jsonschema.ValidationError):  # the report's fields come together
        jsonschema.validate({**partial, "benchmarks": []}, schema)


def _partial() -> dict:
    doc = {k: v for k, v in failed_run_doc().items() if k in ("schema", "recipe", "host", "run")}
    doc["run"]["left_out"] = ["bench:w8:CPU:LATENCY", "report"]
    return doc


def _bad_status() -> dict:
    doc = failed_run_doc()
    doc["benchmarks"][0]["status"] = "exploded"
    return doc


def _truncated() -> bytes:
    text = json.dumps(failed_run_doc(), indent=1).encode()
    return text[: len(text) // 2]


BAD_FILES = {
    "partial": (
        _partial(),
        "no report in these results (its --only selection left the report out): "
        "'benchmarks' is missing",
    ),
    "old": ({**failed_run_doc(), "schema": "ovrun.results/1"}, "results format ovrun.results/1"),
    "list": ([1, 2, 3], "a JSON array, not an ovrun results object"),
    "foreign": ({"name": "x", "values": [1]}, 'not an ovrun results file (no "schema"'),
    "not utf-8": (b'{"schema": "ovrun.results/2", "recipe": "\xff\xfe"}', "not UTF-8 text"),
    "truncated": (_truncated(), "not valid JSON"),
    "schema violation": (
        _bad_status(),
        "does not match the results schema at $.benchmarks[0].status: 'exploded' is not one of",
    ),
    "no run": (
        {k: v for k, v in failed_run_doc().items() if k != "run"},
        "does not match the results schema at $: 'run' is a required property",
    ),
}


@pytest.mark.parametrize("command", ["report", "compare"])
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_results_files_are_one_line_and_exit_2(tmp_path, capsys, command, case):
    content, expected = BAD_FILES[case]
    run_dir = _write(tmp_path, content)
    args = [command, run_dir] if command == "report" else [command, run_dir, run_dir]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    first = err.strip().splitlines()[0]
    assert first.startswith("error: ") or ": error: " in first, err
    assert expected in err, err
    assert str(tmp_path / "run" / "results.json") in first
    assert not (tmp_path / "run" / "report.html").exists()  # nothing half-written
