"""The bad-recipe corpus: every malformed recipe in tests/bad_recipes/ is refused with exit 2,
exactly one `FILE:LINE:COL: error: ...` line naming the problem, one `hint:` line, and never a
traceback.

Each corpus file starts with a header line `# expect: LINE:COL: SUBSTRING` (the header is line 1,
so the positions count it). Cases that cannot live in a small checked-in file (over the size
limit, thousands of nodes, a cycle of `extends:` files) are generated below."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from recipes_util import REPO, ovrun

from runner.cli.main import main
from runner.recipe.load import MAX_BYTES, MAX_DEPTH, MAX_NODES

CORPUS = REPO / "tests" / "bad_recipes"
HEADER = re.compile(rb"^# expect: (\d+):(\d+): (.+?)\r?\n")
CASES = sorted(CORPUS.glob("*.yaml"))


def expectation(path: Path) -> tuple[int, int, str]:
    match = HEADER.match(path.read_bytes())
    assert match, f"{path.name}: first line must be '# expect: LINE:COL: SUBSTRING'"
    return int(match[1]), int(match[2]), match[3].decode("utf-8")


def check_refusal(rc: int, out: str, err: str, file: str, line: int, col: int, needle: str):
    assert "Traceback" not in out + err
    assert rc == 2, f"exit {rc}; stderr: {err!r}"
    lines = err.strip().splitlines()
    errors = [x for x in lines if ": error: " in x]
    hints = [x for x in lines if x.startswith("hint: ")]
    assert len(errors) == 1, lines
    assert len(hints) == 1 and len(hints[0]) > len("hint: "), lines
    assert len(lines) == 2, lines
    prefix = f"{file}:{line}:{col}: error: "
    assert errors[0].startswith(prefix), f"expected {prefix!r}, got {errors[0]!r}"
    assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"


def validate(capsys, path: Path | str) -> tuple[int, str, str]:
    rc = main(["validate", str(path)])  # any exception escaping main() fails the test
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


# Lines of files outside the project that corpus cases name: none may be echoed.
OUTSIDE_FILES = (Path("/etc/passwd"), Path("/etc/hostname"))


def _outside_lines() -> list[str]:
    lines = []
    for file in OUTSIDE_FILES:
        if file.is_file():
            lines += [x for x in file.read_text().splitlines() if len(x.strip()) >= 6]
    return lines


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_corpus_case(path, capsys):
    line, col, needle = expectation(path)
    before = _tree(CORPUS)
    rc, out, err = validate(capsys, path)
    check_refusal(rc, out, err, str(path), line, col, needle)
    # sandbox: validate writes nothing and echoes no content of a file the recipe names
    assert _tree(CORPUS) == before
    leaked = [x for x in _outside_lines() if x in out + err]
    assert leaked == [], leaked


# A sample through the real console entry point in a subprocess: same output, no traceback.
SUBPROCESS_SAMPLE = [
    "empty",
    "tab_indentation",
    "duplicate_nested_key",
    "binary_garbage",
    "alias_bomb",
    "unknown_dataset_reference",
]


@pytest.mark.parametrize("name", SUBPROCESS_SAMPLE)
def test_corpus_sample_through_real_cli(name):
    path = CORPUS / f"{name}.yaml"
    line, col, needle = expectation(path)
    result = ovrun("validate", str(path), timeout=120)
    check_refusal(result.returncode, result.stdout, result.stderr, str(path), line, col, needle)


# -- generated cases ------------------------------------------------------------------------


def test_over_size_limit(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    filler = "# " + "x" * 98 + "\n"
    path.write_text("version: 1\n" + filler * (MAX_BYTES // len(filler) + 10), encoding="utf-8")
    rc, out, err = validate(capsys, path)
    check_refusal(rc, out, err, str(path), 1, 1, f"over the {MAX_BYTES} byte limit")


def test_too_many_nodes_without_aliases(tmp_path, capsys):
    # small in bytes, but more nodes than any recipe has
    path = tmp_path / "wide.yaml"
    path.write_text("version: 1\nname: [" + "1," * (MAX_NODES + 5) + "1]\n", encoding="utf-8")
    assert path.stat().st_size < MAX_BYTES
    rc, out, err = validate(capsys, path)
    col = 2 * MAX_NODES + 2  # the node that crossed the limit
    check_refusal(rc, out, err, str(path), 2, col, f"more than {MAX_NODES} YAML nodes")


def test_deep_block_nesting(tmp_path, capsys):
    path = tmp_path / "deep.yaml"
    text = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5)
    path.write_text(text + "leaf\n", encoding="utf-8")
    rc, out, err = validate(capsys, path)
    assert rc == 2 and "nests deeper" in err, err


def test_very_deep_flow_nesting_hits_no_recursion_error(tmp_path, capsys):
    # deeper than Python's recursion limit inside PyYAML's composer
    path = tmp_path / "deeper.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    rc, out, err = validate(capsys, path)
    assert rc == 2 and "nests deeper" in err and "Traceback" not in err, err
    assert err.startswith(f"{path}:1:") and len(err.strip().splitlines()) == 2


def test_missing_file(tmp_path, capsys):
    path = tmp_path / "nope.yaml"
    rc, out, err = validate(capsys, path)
    assert rc == 2 and "Traceback" not in err
    assert err.startswith(f"{path}: error: recipe file not found") and "\nhint: " in err


def test_directory_instead_of_file(tmp_path, capsys):
    rc, out, err = validate(capsys, tmp_path)
    assert rc == 2 and f"{tmp_path}: error: " in err and "\nhint: " in err


def test_extends_cycle(tmp_path, capsys):
    from runner.recipe.schema import load_schema

    if "extends" not in load_schema()["properties"]:
        pytest.skip("extends: is not part of the recipe format yet")
    (tmp_path / "a.yaml").write_text(
        "version: 1\nname: a\nextends: b.yaml\nvariants: {fp32: {}}\n", encoding="utf-8"
    )
    (tmp_path / "b.yaml").write_text(
        "version: 1\nname: b\nextends: a.yaml\nmodel:\n  source: {hf: org/m}\n",
        encoding="utf-8",
    )
    rc, out, err = validate(capsys, tmp_path / "a.yaml")
    assert "Traceback" not in out + err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("hint: "), lines
    assert re.match(rf"^{re.escape(str(tmp_path))}/[ab]\.yaml:\d+:\d+: error: .*cycle", lines[0])


def test_extends_self(tmp_path, capsys):
    from runner.recipe.schema import load_schema

    if "extends" not in load_schema()["properties"]:
        pytest.skip("extends: is not part of the recipe format yet")
    path = tmp_path / "self.yaml"
    path.write_text(
        "version: 1\nname: a\nextends: self.yaml\nmodel:\n  source: {hf: org/m}\n"
        "variants: {fp32: {}}\n",
        encoding="utf-8",
    )
    rc, out, err = validate(capsys, path)
    assert rc == 2 and "Traceback" not in err
    assert re.match(rf"^{re.escape(str(path))}:3:\d+: error: .*cycle", err), err
