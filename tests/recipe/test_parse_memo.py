"""The recipe parse memo (recipe/parse_memo.py) gives back exactly what the parser built, is
named by the text (an edit is a miss, so errors still come from the parser with their
positions) and reads a damaged entry as a miss."""

from __future__ import annotations

import pytest

from runner.core.errors import OvrunError
from runner.recipe import parse_memo
from runner.recipe.load import load_file, load_text

TEXT = """\
version: 1
name: memo
model:
  source: {path: model}
variants:
  fp32: {}
  int8: {quantize: {dataset: calib, subset_size: 300, fast: true, ratio: 0.5, x: null}}
targets: {devices: [CPU, GPU], hints: [LATENCY]}
"""


def _same(a, b) -> None:
    assert a.data == b.data and repr(a.data) == repr(b.data)  # types too: 300 vs 300.0
    assert a.positions == b.positions and a.key_positions == b.key_positions
    assert a.file == b.file and a.files == b.files


def test_a_recalled_parse_is_the_parse(tmp_path) -> None:
    memo = tmp_path / "memo"
    first = load_text(TEXT, "r.yaml", memo)
    assert len(list(memo.iterdir())) == 1
    recalled = parse_memo.recall(memo, TEXT, "r.yaml")
    assert recalled is not None
    _same(recalled, first)
    _same(load_text(TEXT, "r.yaml", memo), load_text(TEXT, "r.yaml"))
    line = TEXT.splitlines()[6]
    where = recalled.location(("variants", "int8", "quantize", "ratio"))
    assert (where.line, where.col) == (7, line.index("0.5") + 1)


def test_an_edit_is_parsed_again_and_its_error_has_a_position(tmp_path) -> None:
    memo = tmp_path / "memo"
    recipe = tmp_path / "r.yaml"
    recipe.write_text(TEXT)
    load_file(recipe, memo)
    recipe.write_text(TEXT.replace("  fp32: {}\n", "  fp32: {}\n  fp32: {}\n"))
    with pytest.raises(OvrunError) as err:
        load_file(recipe, memo)
    assert "duplicate key 'fp32'" in err.value.message
    assert (err.value.location.line, err.value.location.col) == (7, 3)


def test_a_damaged_entry_is_a_miss(tmp_path) -> None:
    memo = tmp_path / "memo"
    good = load_text(TEXT, "r.yaml", memo)
    (entry,) = memo.iterdir()
    for damage in ("{", '{"data": [], "positions": [], "key_positions": []}', '{"data": {}}'):
        entry.write_text(damage)
        assert parse_memo.recall(memo, TEXT, "r.yaml") is None
        _same(load_text(TEXT, "r.yaml", memo), good)  # parsed again (and re-remembered)
    assert parse_memo.recall(memo, TEXT, "r.yaml") is not None
