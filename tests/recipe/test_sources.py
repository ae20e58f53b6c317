"""Model sources at plan time: what keys the export, and the errors a recipe author sees.

No ML library is needed here: hub ids resolve through the HF cache layout with file reads,
local kinds are keyed by content digests."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from recipes_util import COMMIT_A, REPO, fake_hub, ovrun, write

from runner.core.errors import OvrunError
from runner.session import open_session

COMMIT_B = "b" * 40


def recipe_for(tmp: Path, source: str, extra_model: str = "", name: str = "r.yaml") -> Path:
    return write(
        tmp / name,
        f"""
        version: 1
        name: src
        model:
          source: {source}
          task: feature-extraction
        {extra_model}
        variants:
          fp32: {{}}
        """,
    )


def export_key(recipe: Path, cache: Path) -> str:
    return open_session(recipe, cache, probe_devices=False).plan.tasks["export"].key


# --- content keys of local sources ------------------------------------------------------


def test_one_changed_byte_changes_the_export_key_touch_does_not(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    weights = model / "model.safetensors"
    weights.write_bytes(bytes(range(256)) * 64)
    (model / "config.json").write_text('{"model_type": "bert"}')
    recipe = recipe_for(tmp_path, "{path: model}")
    cache = tmp_path / "cache"
    first = export_key(recipe, cache)

    stat = weights.stat()
    time.sleep(0.01)
    weights.touch()  # new mtime, same bytes
    assert weights.stat().st_mtime_ns != stat.st_mtime_ns
    assert export_key(recipe, cache) == first

    data = bytearray(weights.read_bytes())
    data[1000] ^= 0x01
    weights.write_bytes(bytes(data))
    changed = export_key(recipe, cache)
    assert changed != first

    data[1000] ^= 0x01  # back to the original content: back to the original key
    weights.write_bytes(bytes(data))
    assert export_key(recipe, cache) == first


def test_moving_a_model_dir_keeps_its_key(tmp_path: Path) -> None:
    for where in ("a", "b"):
        (tmp_path / where / "m").mkdir(parents=True)
        (tmp_path / where / "m" / "config.json").write_text('{"model_type": "bert"}')
    keys = {
        export_key(recipe_for(tmp_path / where, "{path: m}"), tmp_path / "cache")
        for where in ("a", "b")
    }
    assert len(keys) == 1


@pytest.mark.parametrize("kind", ["onnx", "ir"])
def test_graph_sources_are_keyed_by_content(tmp_path: Path, kind: str) -> None:
    if kind == "onnx":
        (tmp_path / "m.onnx").write_bytes(b"onnx-bytes")
        source = "{onnx: m.onnx}"
        changing = tmp_path / "m.onnx"
    else:
        (tmp_path / "m.xml").write_text("<net/>")
        (tmp_path / "m.bin").write_bytes(b"\0" * 64)
        source = "{ir: m.xml}"
        changing = tmp_path / "m.bin"  # the weights count, not only the graph
    recipe = recipe_for(tmp_path, source)
    first = export_key(recipe, tmp_path / "cache")
    changing.write_bytes(changing.read_bytes() + b"x")
    assert export_key(recipe, tmp_path / "cache") != first


def test_random_source_keyed_by_config_and_seed(tmp_path: Path, tiny_bert_dir: Path) -> None:
    shutil.copytree(tiny_bert_dir, tmp_path / "tok")
    base = "{random: {config: {model_type: bert, hidden_size: 32}, tokenizer: tok%s}}"
    keys = [
        export_key(recipe_for(tmp_path, base % extra, name=f"r{i}.yaml"), tmp_path / "cache")
        for i, extra in enumerate(("", ", seed: 0", ", seed: 1"))
    ]
    assert keys[0] == keys[1]  # the default seed spelled out changes nothing
    assert keys[1] != keys[2]


# --- hub ids through the HF cache -------------------------------------------------------


def test_hf_id_keyed_by_the_commit_it_resolves_to(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    repo = fake_hub(home, "org/tiny", {"main": COMMIT_A})
    main = recipe_for(tmp_path, "{hf: org/tiny}", name="main.yaml")
    pinned = recipe_for(tmp_path, f"{{hf: org/tiny, revision: {COMMIT_A}}}", name="pin.yaml")
    session = open_session(main, tmp_path / "cache", probe_devices=False)
    export = session.plan.tasks["export"]
    assert export.params["source"] == {"kind": "hf", "ref": "org/tiny", "commit": COMMIT_A}
    assert export_key(pinned, tmp_path / "cache") == export.key

    (repo / "snapshots" / COMMIT_B).mkdir()
    (repo / "refs" / "main").write_text(COMMIT_B)  # main moved on
    assert export_key(main, tmp_path / "cache") != export.key
    assert export_key(pinned, tmp_path / "cache") == export.key


def test_unknown_hub_id_offline_is_a_recipe_error(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path, "{hf: nobody/no-such-model}")
    env = {"HF_HOME": str(tmp_path / "empty-hf"), "HF_HUB_OFFLINE": "1"}
    for command in ("validate", "plan"):
        result = ovrun(command, str(recipe), env=env)
        assert result.returncode == 2, result.stderr
        first, hint = result.stderr.strip().splitlines()[:2]
        assert first.startswith(f"{recipe}:4:")  # the line that names the id
        assert "nobody/no-such-model" in first and "HF_HUB_OFFLINE" in first
        assert hint.startswith("hint:") and "path:" in hint
        assert "Traceback" not in result.stderr


def test_hf_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch) -> None:
    from runner.recipe.model_sources import cached_commit, hf_cache_dir

    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    assert hf_cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "direct"))
    assert hf_cache_dir() == tmp_path / "direct"
    fake_hub(tmp_path / "x", "o/m", {"v1": COMMIT_A})
    shutil.move(tmp_path / "x" / "hub", tmp_path / "direct")
    assert cached_commit("o/m", "v1") == COMMIT_A
    assert cached_commit("o/m", "v2") is None
    assert cached_commit("o/m", COMMIT_A) == COMMIT_A


# --- files that are not there -----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{onnx: missing.onnx}", "ONNX file not found: missing.onnx"),
        ("{ir: missing.xml}", "IR file not found: missing.xml"),
        ("{ir: only.xml}", "IR weights not found: only.bin"),
        ("{ir: notes.txt}", "ir: must name the .xml"),
        ("{onnx: m.onnx, tokenizer: nowhere}", "tokenizer dir not found: nowhere"),
        ("{random: {config: nope.json, tokenizer: .}}", "config file not found: nope.json"),
        ("{random: {config: {hidden_size: 8}, tokenizer: .}}", "has no model_type"),
    ],
)
def test_missing_source_files_point_at_the_recipe_line(
    tmp_path: Path, source: str, message: str
) -> None:
    (tmp_path / "only.xml").write_text("<net/>")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "m.onnx").write_bytes(b"x")
    recipe = recipe_for(tmp_path, source)
    result = ovrun("validate", str(recipe))
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{recipe}:4:"), first
    assert message in first
    assert result.stderr.splitlines()[1].startswith("hint:")


# --- remote code ------------------------------------------------------------------------


def test_trust_remote_code_needs_a_pinned_revision(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    fake_hub(tmp_path / "hf", "org/custom", {"main": COMMIT_A})
    recipe = recipe_for(tmp_path, "{hf: org/custom}", "  trust_remote_code: true")
    with pytest.raises(OvrunError) as info:
        open_session(recipe, tmp_path / "cache", probe_devices=False)
    assert "pinned to a full commit hash" in info.value.message
    assert info.value.location.line == 6
    assert COMMIT_A in info.value.hint

    pinned = recipe_for(
        tmp_path, f"{{hf: org/custom, revision: {COMMIT_A}}}", "  trust_remote_code: true"
    )
    session = open_session(pinned, tmp_path / "cache", probe_devices=False)
    assert session.plan.tasks["export"].params["trust_remote_code"] is True


def test_trust_remote_code_run_needs_allow_code_flag(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text('{"model_type": "bert"}')
    recipe = recipe_for(tmp_path, "{path: m}", "  trust_remote_code: true")
    assert ovrun("validate", str(recipe)).returncode == 0  # allowed in the recipe...
    result = ovrun("run", str(recipe), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 2  # ...but running the code needs the user's consent
    assert result.stderr.startswith(f"{recipe}:6:")
    assert "--allow-code" in result.stderr
    assert not (tmp_path / "cache" / "objects").exists() or not any(
        (tmp_path / "cache" / "objects").iterdir()
    )


def test_trust_remote_code_is_refused_for_sources_without_code(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"x")
    recipe = recipe_for(tmp_path, "{onnx: m.onnx}", "  trust_remote_code: true")
    result = ovrun("validate", str(recipe))
    assert result.returncode == 2
    assert "does not apply to a onnx: source" in result.stderr


def test_validate_imports_no_ml_library_for_new_sources(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"x")
    recipe = recipe_for(tmp_path, "{onnx: m.onnx, inputs: {input_ids: [1, -1]}}")
    code = (
        "import sys; from runner.cli.main import main; rc = main(['validate', sys.argv[1]]); "
        "heavy = [m for m in ('openvino', 'torch', 'transformers', 'huggingface_hub') "
        "if m in sys.modules]; print(heavy); sys.exit(rc)"
    )
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", code, str(recipe)],
        capture_output=True,
        text=True,
        env={**os.environ},
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
