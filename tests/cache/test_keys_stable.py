"""Task keys survive refactoring: the shipped recipes' keys, recorded with the code before the
stage-package layout (tests/cache/fixtures/keys_before_layout.json), are computed again here.

Library versions go into every key, so the recorded versions stand in for the installed ones:
what this guards is that ovrun itself derives the same keys from the same inputs. A key may
change only with a deliberate bump (KEY_SCHEMA, an op version), never by moving code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cache import key as key_mod
from runner.session import open_session

ROOT = Path(__file__).resolve().parents[2]
RECORDED = json.loads((Path(__file__).parent / "fixtures" / "keys_before_layout.json").read_text())


@pytest.mark.parametrize("name", sorted(RECORDED["keys"]))
def test_recipe_keys_match_the_recorded_ones(name: str, tmp_path, monkeypatch) -> None:
    libs = RECORDED["libs"]
    monkeypatch.setattr(key_mod, "lib_version", lambda dist: libs.get(dist, "absent"))
    recipe, _, devices = name.partition("@")
    session = open_session(
        ROOT / "recipes" / f"{recipe}.yaml",
        tmp_path / "cache",
        probe_devices=False,
        devices=[devices] if devices else None,
    )
    keys = {task.id: task.key for task in session.plan.order()}
    assert keys == RECORDED["keys"][name]
