"""The schema editors validate against (schemas/recipe.editor.schema.json, named by the
yaml-language-server line of every recipe) accepts what composition allows: a child recipe
with extends: and ${param} where a number or boolean stands. Checked here the way an editor
does it: the raw YAML file against that schema, before any composition."""

from __future__ import annotations

import json
import textwrap

import jsonschema
import pytest
import yaml
from recipes_util import REPO, git_work_tree, minimal_recipe, write

from runner.recipe import editor_schema
from runner.recipe.resolve import load_recipe
from runner.recipe.schema import load_schema

EDITOR = REPO / "schemas" / "recipe.editor.schema.json"


def _editor_errors(text: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(EDITOR.read_text()))
    data = yaml.safe_load(textwrap.dedent(text))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


def test_editor_schema_is_generated_from_the_strict_one():
    assert EDITOR.read_text() == editor_schema.render(), (
        "schemas/recipe.editor.schema.json is out of date: "
        "run `python -m runner.recipe.editor_schema`"
    )
    jsonschema.Draft202012Validator.check_schema(json.loads(EDITOR.read_text()))


@pytest.mark.parametrize("recipe", sorted((REPO / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_recipe_is_clean_in_an_editor(recipe):
    assert recipe.read_text().startswith(
        "# yaml-language-server: $schema=../schemas/recipe.editor.schema.json\n"
    )
    assert _editor_errors(recipe.read_text()) == []


CHILD = """
extends: ../base/base.yaml
name: child-${variant}
params: {samples: 3, variant: int8, strict: true, drop: 0.02}
data:
  calib: {text: ../base/calib.txt, samples: "${samples}"}
evaluate: {dataset: calib, reference: fp32, max_drop: "${drop}"}
variants:
  int8:
    quantize: {dataset: calib, fast_bias_correction: "${strict}"}
"""


def test_composed_child_with_params_is_clean_in_an_editor_and_loads(tmp_path):
    git_work_tree(tmp_path)  # child/ extends ../base/: both inside one project
    (tmp_path / "base").mkdir()
    minimal_recipe(tmp_path / "base", name="base.yaml")
    child = write(tmp_path / "child" / "child.yaml", CHILD)
    assert _editor_errors(child.read_text()) == []  # no "Missing property version", no type error
    recipe = load_recipe(child)  # and ovrun composes and validates it strictly
    assert recipe.name == "child-int8" and recipe.data["calib"].samples == 3


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("name: x\nmodel: {source: {path: m}}\nvariants: {a: {}}\n", "'version' is a required"),
        ("extends: b.yaml\nbenchmark: {duration_s: soon}\n", "duration_s"),
        ("extends: b.yaml\nbenchmark: {duration_s: '${1bad}'}\n", "duration_s"),
        ("extends: b.yaml\nbenchmarks: {}\n", "benchmarks"),
    ],
)
def test_editor_schema_still_flags_real_mistakes(text, complaint):
    errors = _editor_errors(text)
    assert errors and any(complaint in e for e in errors), errors


def test_ovrun_itself_still_validates_strictly():
    strict = jsonschema.Draft202012Validator(load_schema())
    base = yaml.safe_load((REPO / "recipes" / "quickstart.yaml").read_text())
    base["benchmark"] = {**base.get("benchmark", {}), "duration_s": "${d}"}
    assert not strict.is_valid(base)  # substitution happens before ovrun validates
