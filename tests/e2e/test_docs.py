from recipes_util import REPO

from runner.recipe.reference import markdown


def test_readme_recipe_reference_matches_schema():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert markdown() in readme, "regenerate with: python -m runner.recipe.reference"


def test_readme_first_screen_has_the_two_commands():
    head = (REPO / "README.md").read_text(encoding="utf-8")[:1200]
    assert "bash .ci/install && .venv/bin/ovrun recipes/quickstart.yaml" in head
    assert "bash .ci/install && .venv/bin/python -m pytest" in head
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash .ci/install" in ci and "python -m pytest" in ci
