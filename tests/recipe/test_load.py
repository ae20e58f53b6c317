import pytest

from runner.core.errors import OvrunError
from runner.recipe.load import MAX_NODES, load_file, load_text


def test_positions_for_values_and_keys():
    doc = load_text("version: 1\nmodel:\n  source:\n    path: m\n", "r.yaml")
    assert doc.data == {"version": 1, "model": {"source": {"path": "m"}}}
    assert doc.positions[("model", "source", "path")] == (4, 11)
    assert doc.key_positions[("model", "source", "path")] == (4, 5)
    assert str(doc.location(("model", "source", "nope"))) == "r.yaml:3:3"


def test_duplicate_key_is_an_error_with_both_lines():
    with pytest.raises(OvrunError) as info:
        load_text("name: a\nversion: 1\nname: b\n", "r.yaml")
    err = info.value
    assert (err.location.line, err.location.col) == (3, 1)
    assert "duplicate key 'name'" in err.message and "line 1" in err.message


@pytest.mark.parametrize(
    "text, needle",
    [
        ("", "empty"),
        ("# only a comment\n", "empty"),
        ("- a\n- b\n", "mapping at the top level"),
        ("name: [unclosed\n", "invalid YAML"),
        ("a: 1\n---\nb: 2\n", "more than one YAML document"),
        ("a: !!python/object:os.system x\n", "unsupported YAML tag"),
        ("a: 1\n\x00", "NUL"),
    ],
)
def test_bad_documents(text, needle):
    with pytest.raises(OvrunError) as info:
        load_text(text, "r.yaml")
    assert needle in info.value.message
    assert info.value.location.file == "r.yaml"


def test_tab_indentation_has_tab_hint():
    with pytest.raises(OvrunError) as info:
        load_text("model:\n\tsource: x\n", "r.yaml")
    assert info.value.location.line == 2
    assert "tab" in info.value.hint.lower()


def test_alias_bomb_is_refused_quickly():
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(OvrunError) as info:
        load_text("\n".join(lines) + "\n", "bomb.yaml")
    assert str(MAX_NODES) in info.value.message


def test_deep_nesting_is_refused():
    text = "a: " + "[" * 200 + "]" * 200 + "\n"
    with pytest.raises(OvrunError) as info:
        load_text(text, "deep.yaml")
    assert "nests deeper" in info.value.message


def test_binary_file(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(OvrunError) as info:
        load_file(path)
    assert "UTF-8" in info.value.message


def test_missing_file(tmp_path):
    with pytest.raises(OvrunError) as info:
        load_file(tmp_path / "nope.yaml")
    assert "not found" in info.value.message
