"""Session-wide test setup: never touch a model hub, build the tiny models once, and make
tiny-model projects (a model copy, text corpora and a recipe in one folder).

Tests live in folders that mirror the runner's stage packages (tests/recipe, tests/plan,
tests/cache, tests/executor, tests/adapters, tests/report, tests/e2e); the shared helpers
(tiny_models, recipes_util, hardening_util) and data (tests/data, tests/bad_recipes) stay
here, and this directory is put on sys.path so every folder imports the helpers by name."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

# Set before any test imports transformers/huggingface_hub, which read these at import time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# Runs measure the host's peak once per cache (runner/host/peak.py); every test cache is
# fresh, so the suite measures the tiny size (a fraction of a second, its own memo).
os.environ.setdefault("OVRUN_TEST_PEAK_SIZE", "tiny")

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="session")
def tiny_causal_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import make_tiny_causal_lm

    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny_causal_lm"))


@dataclass(frozen=True)
class TinyProject:
    """A project folder as a user has one: ``model/`` (a copy of a tiny model), the corpora
    and the recipe side by side. ``cache`` is ``dir/cache`` (not created); ``out`` is where a
    run without ``--out`` writes (``<recipe name>.out`` beside the recipe)."""

    dir: Path
    recipe: Path
    model: Path
    cache: Path

    @property
    def out(self) -> Path:
        import yaml

        return self.dir / f"{yaml.safe_load(self.recipe.read_text())['name']}.out"

    def results(self) -> dict:
        import json

        return json.loads((self.out / "results.json").read_text())


class MakeTinyProject(Protocol):
    def __call__(
        self,
        recipe: str,
        corpus: dict[str, tuple[int, int] | str] | None = None,
        *,
        name: str | None = None,
        dir: Path | None = None,
        model: Path | None = None,
    ) -> TinyProject: ...


@pytest.fixture(scope="session")
def tiny_project(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> MakeTinyProject:
    """Factory: ``tiny_project(recipe, corpus, *, name, dir, model) -> TinyProject``.

    - ``recipe``: the recipe text (dedented, as ``recipes_util.write`` does), its model
      ``source: {path: model}``;
    - ``corpus``: file name -> ``(lines, seed)`` for ``tiny_models.write_text_corpus``, or
      the file's literal text;
    - ``name``: the recipe's file name, by default ``<its name: field>.yaml``;
    - ``dir``: the project folder (created if needed), by default a fresh temporary one;
    - ``model``: the model dir copied to ``dir/model``, by default the tiny BERT.

    Session-scoped so module-scoped fixtures can build one project for several tests."""
    import textwrap

    import yaml
    from recipes_util import write
    from tiny_models import write_text_corpus

    def make(
        recipe: str,
        corpus: dict[str, tuple[int, int] | str] | None = None,
        *,
        name: str | None = None,
        dir: Path | None = None,
        model: Path | None = None,
    ) -> TinyProject:
        root = dir if dir is not None else tmp_path_factory.mktemp("tiny_project")
        root.mkdir(parents=True, exist_ok=True)
        shutil.copytree(model or tiny_bert_dir, root / "model", dirs_exist_ok=True)
        for file, spec in (corpus or {}).items():
            if isinstance(spec, str):
                write(root / file, spec)
            else:
                lines, seed = spec
                write_text_corpus(root / file, lines, seed=seed)
        name = name or f"{yaml.safe_load(textwrap.dedent(recipe))['name']}.yaml"
        return TinyProject(root, write(root / name, recipe), root / "model", root / "cache")

    return make
