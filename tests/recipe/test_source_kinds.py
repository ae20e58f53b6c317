"""The model.source error names every kind that exists (issue 19 §1): one list
(``model_sources.SOURCE_KINDS``) feeds the message, and it must match the schema's kinds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from recipes_util import REPO, write

from runner.cli.main import main
from runner.recipe.model_sources import SOURCE_KINDS


def schema_kinds() -> list[str]:
    schema = json.loads((REPO / "schemas" / "recipe.schema.json").read_text(encoding="utf-8"))
    branches = schema["properties"]["model"]["properties"]["source"]["oneOf"]
    return [branch["required"][0] for branch in branches]


def test_the_one_list_is_the_schemas_kinds() -> None:
    assert list(SOURCE_KINDS) == schema_kinds()


def refusal(tmp_path: Path, capsys, source: str) -> str:
    recipe = write(
        tmp_path / "r.yaml",
        f"""
        version: 1
        name: r
        model:
          source: {source}
        variants: {{fp32: {{}}}}
        """,
    )
    assert main(["validate", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_unknown_kind_lists_every_kind(tmp_path: Path, capsys) -> None:
    err = refusal(tmp_path, capsys, "{url: https://example.com/model}")
    assert f"needs exactly one of: {', '.join(schema_kinds())}" in err
    assert "r.yaml:4:11: error:" in err  # the source mapping's position


@pytest.mark.parametrize("kind", ["onnx", "ir", "random"])
def test_a_later_kind_with_a_bad_option_reports_that_option(
    tmp_path: Path, capsys, kind: str
) -> None:
    """Before, only path/package/hf were known here: a typo beside onnx: fell through to the
    'needs exactly one of' message, which named three kinds and not the typo."""
    value = "{config: {model_type: bert}}" if kind == "random" else "m.bin"
    err = refusal(tmp_path, capsys, f"{{{kind}: {value}, bogus_option: 1}}")
    assert "bogus_option" in err and "needs exactly one" not in err
