"""ovrun.lock: a real run is locked, then one thing changes and `run --locked` names it."""

from __future__ import annotations

import copy
import difflib
import json
import platform
import shutil
from dataclasses import replace

import pytest
import yaml
from recipes_util import ovrun

from runner.cache.key import lib_version
from runner.cli import main as cli
from runner.plan.ops import OPS
from runner.recipe import schema as schema_mod

RECIPE = """
version: 1
name: tiny
model: {source: {path: model}}
data:
  calib: {text: calib.txt, samples: 20, max_length: 16}
variants:
  fp32: {}
  int8: {quantize: {dataset: calib}}
targets: {devices: [CPU], hints: [LATENCY]}
benchmark: {duration_s: 0.2, warmup: 1, seq_len: 16}
evaluate: {dataset: calib, reference: fp32}
"""


@pytest.fixture(scope="module")
def locked(tmp_path_factory, tiny_project) -> dict:
    project = tiny_project(RECIPE, {"calib.txt": (20, 4)}, dir=tmp_path_factory.mktemp("lock"))
    recipe, cache = project.recipe, project.cache
    result = ovrun("lock", str(recipe), "--cache-dir", str(cache))
    assert result.returncode == 0, result.stdout + result.stderr
    return {"recipe": recipe, "cache": cache, "lock": project.dir / "ovrun.lock"}


def _run_locked(locked: dict, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["run", str(locked["recipe"]), "--cache-dir", str(locked["cache"]), "--locked"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _diff_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("  ")]


def test_lock_records_resolution(locked):
    doc = yaml.safe_load(locked["lock"].read_text())
    entry = doc["recipes"]["tiny.yaml"]
    tasks = entry["tasks"]
    int8 = tasks["compress:int8"]
    # defaults filled by ovrun and resolved by the adapter (NNCF's preset rule) are both there
    assert int8["params"]["subset_size"] == 300
    assert int8["resolved"]["nncf_params"]["preset"] == "performance"
    assert int8["libs"]["nncf"] == lib_version("nncf")
    assert entry["datasets"]["calib"]["sha256"] == tasks["data:calib"]["files"]["source"]["sha256"]
    assert "config.json" in tasks["export"]["files"]["model"]["files"]
    assert entry["model"]["sha256"] == tasks["export"]["files"]["model"]["sha256"]
    assert entry["packages"]["openvino"] == lib_version("openvino")
    assert entry["environment"]["python"] == platform.python_version()


def test_lock_is_quiet_in_git(locked):
    """Relative paths, nothing measured, no anchors: what makes a re-lock a zero-line diff."""
    text = locked["lock"].read_text()
    doc = yaml.safe_load(text)
    entry = doc["recipes"]["tiny.yaml"]
    assert entry["model"]["ref"] == "model"
    assert entry["tasks"]["export"]["files"]["model"]["path"] == "model"
    assert str(locked["recipe"].parent) not in text  # no absolute path of this clone
    assert str(locked["cache"]) not in text
    for measured in ("throughput_per_s:", "compile_s:", "latency_ms", "p50"):
        assert measured not in text, measured
    assert "results" not in entry and all("summary" not in t for t in entry["tasks"].values())
    assert "&id" not in text and "*id" not in text
    assert list(entry["tasks"]["compress:int8"]) == sorted(entry["tasks"]["compress:int8"])


def test_unchanged_recipe_passes_locked_and_runs_nothing(locked):
    result = ovrun("run", str(locked["recipe"]), "--cache-dir", str(locked["cache"]), "--locked")
    assert result.returncode == 0, result.stdout + result.stderr
    out = locked["recipe"].parent / "tiny.out" / "results.json"
    states = {t["state"] for t in json.loads(out.read_text())["run"]["tasks"].values()}
    assert states == {"cached"}


def test_edited_data_file_is_named(locked):
    calib = locked["recipe"].parent / "calib.txt"
    original = calib.read_text()
    try:
        calib.write_text(original.replace("\n", " changed\n", 1))
        result = ovrun(
            "run", str(locked["recipe"]), "--cache-dir", str(locked["cache"]), "--locked"
        )
        assert result.returncode == 2, result.stdout + result.stderr
        lines = _diff_lines(result.stderr)
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("file calib.txt (data:calib source): content changed")
        assert (
            "1 difference(s)" in result.stderr
            and "hint: accept them with `ovrun lock" in result.stderr
        )
        assert "Traceback" not in result.stderr
    finally:
        calib.write_text(original)


def test_edited_file_inside_model_dir_is_named(locked):
    tokenizer = locked["recipe"].parent / "model" / "tokenizer_config.json"
    original = tokenizer.read_text()
    try:
        tokenizer.write_text(original + "\n")
        result = ovrun(
            "run", str(locked["recipe"]), "--cache-dir", str(locked["cache"]), "--locked"
        )
        assert result.returncode == 2
        assert _diff_lines(result.stderr) == [
            line
            for line in _diff_lines(result.stderr)
            if line.startswith("file model/tokenizer_config.json (export model): content changed")
        ]
        assert len(_diff_lines(result.stderr)) == 1
    finally:
        tokenizer.write_text(original)


def test_changed_default_is_named(locked, monkeypatch, capsys):
    # An ovrun upgrade that changes a schema default changes what the recipe resolves to.
    schema = copy.deepcopy(schema_mod.load_schema())
    quantize = schema["properties"]["variants"]["additionalProperties"]["properties"]["quantize"]
    quantize["properties"]["subset_size"]["default"] = 200
    monkeypatch.setattr(schema_mod, "load_schema", lambda: schema)
    code, text = _run_locked(locked, capsys)
    assert code == 2
    lines = _diff_lines(text)
    assert "task compress:int8: params.subset_size: 300 -> 200" in lines
    # the report carries each variant's settings, so it names the same change; nothing else
    assert all(line.endswith("subset_size: 300 -> 200") for line in lines), lines


def test_bumped_package_is_named(locked, monkeypatch, capsys, tmp_path):
    """A real dist-info on sys.path; the report op keys on it (as ops key on nncf etc.)."""
    site = tmp_path / "site"
    _fake_dist(site, "1.0")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setitem(OPS, "report", replace(OPS["report"], libs=("ovrunfakelib",)))
    lib_version.cache_clear()
    try:
        # relock with the op using the package (the report re-runs: it is pure Python)
        code = cli.main(["lock", str(locked["recipe"]), "--cache-dir", str(locked["cache"])])
        assert code == 0
        assert _run_locked(locked, capsys)[0] == 0
        shutil.rmtree(site)
        _fake_dist(site, "2.0")
        lib_version.cache_clear()
        code, text = _run_locked(locked, capsys)
        assert code == 2
        assert _diff_lines(text) == ["package ovrunfakelib: 1.0 -> 2.0 (keys report)"]
    finally:
        lib_version.cache_clear()
        monkeypatch.undo()
        cli.main(["lock", str(locked["recipe"]), "--cache-dir", str(locked["cache"])])


def _edit_lock(locked: dict, edit) -> str:
    """Apply ``edit`` to the recipe's entry; returns the original text to restore."""
    original = locked["lock"].read_text()
    doc = yaml.safe_load(original)
    edit(doc["recipes"]["tiny.yaml"])
    locked["lock"].write_text(yaml.safe_dump(doc))
    return original


def test_changed_task_key_is_named(locked, capsys):
    def edit(entry):
        entry["tasks"]["data:calib"]["key"] = "0" * 64

    original = _edit_lock(locked, edit)
    try:
        code, text = _run_locked(locked, capsys)
        assert code == 2
        lines = _diff_lines(text)
        # named once, at its cause; the consumers' keys follow from it and are not listed
        assert len(lines) == 1, lines
        assert lines[0].startswith("task data:calib: key 000000000000 -> "), lines
    finally:
        locked["lock"].write_text(original)


def test_changed_python_version_is_named(locked, capsys):
    def edit(entry):
        entry["environment"]["python"] = "3.9.0"

    original = _edit_lock(locked, edit)
    try:
        code, text = _run_locked(locked, capsys)
        assert code == 2
        assert _diff_lines(text) == [f"environment python: 3.9.0 -> {platform.python_version()}"]
    finally:
        locked["lock"].write_text(original)


def test_successful_run_refreshes_the_lock(locked):
    """Without --locked a run accepts what moved and rewrites the recipe's entry, as dvc repro
    rewrites dvc.lock; an unchanged resolution leaves the file untouched."""
    original = _edit_lock(locked, lambda entry: entry["environment"].update(python="3.9.0"))
    try:
        result = ovrun("run", str(locked["recipe"]), "--cache-dir", str(locked["cache"]))
        assert result.returncode == 0, result.stdout + result.stderr
        assert locked["lock"].read_text() == original
        assert f"updated {locked['lock']}" in result.stdout
        before = locked["lock"].stat().st_mtime_ns
        result = ovrun("run", str(locked["recipe"]), "--cache-dir", str(locked["cache"]))
        assert result.returncode == 0
        assert locked["lock"].stat().st_mtime_ns == before
        assert "updated" not in result.stdout
    finally:
        locked["lock"].write_text(original)


def test_damaged_lock_stops_locked_at_its_position(locked, capsys):
    original = locked["lock"].read_text()
    try:
        locked["lock"].write_text(original + "schema: ovrun.lock/1\n")  # a duplicate key
        code, text = _run_locked(locked, capsys)
        assert code == 2
        last_line = len(original.splitlines()) + 1
        assert f"ovrun.lock:{last_line}:1: error: duplicate key 'schema'" in text
    finally:
        locked["lock"].write_text(original)


@pytest.mark.slow  # a second full tiny run in another clone
def test_two_clones_write_byte_identical_locks(locked, tmp_path):
    """Team B clones elsewhere, with its own cache, and re-locks: not one byte differs."""
    clone = tmp_path / "elsewhere" / "clone-b"
    shutil.copytree(
        locked["recipe"].parent,
        clone,
        ignore=shutil.ignore_patterns("cache", "*.out", "ovrun.lock"),
    )
    result = ovrun("lock", str(clone / "tiny.yaml"), "--cache-dir", str(tmp_path / "cache-b"))
    assert result.returncode == 0, result.stdout + result.stderr
    mine, theirs = locked["lock"].read_text(), (clone / "ovrun.lock").read_text()
    assert theirs == mine, "\n".join(difflib.unified_diff(mine.splitlines(), theirs.splitlines()))


def test_relock_keeps_what_a_collected_task_resolved():
    """A task whose key did not move keeps its recorded resolution when the cache no longer
    has its result (gc, or a partial --only run): re-locking is not a diff."""
    from runner.cache.lockfile import _keep_resolved

    old = {"tasks": {"compress:int8": {"key": "k1", "resolved": {"nncf_params": {"p": 1}}}}}
    same = {"tasks": {"compress:int8": {"key": "k1"}}}
    moved = {"tasks": {"compress:int8": {"key": "k2"}}}
    _keep_resolved(old, same)
    _keep_resolved(old, moved)
    assert same["tasks"]["compress:int8"]["resolved"] == {"nncf_params": {"p": 1}}
    assert "resolved" not in moved["tasks"]["compress:int8"]


def test_missing_lock_is_exit_2(tmp_path):
    from recipes_util import minimal_recipe

    path = minimal_recipe(tmp_path)
    result = ovrun("run", str(path), "--cache-dir", str(tmp_path / "c"), "--locked")
    assert result.returncode == 2
    assert "no ovrun.lock" in result.stderr and "ovrun lock" in result.stderr


def _fake_dist(site, version: str) -> None:
    dist = site / f"ovrunfakelib-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: ovrunfakelib\nVersion: {version}\n"
    )


def test_extends_child_locks_byte_identical_from_two_clones(tmp_path):
    """Team A's base.yaml + child.yaml (extends:), resolved without running in two clones at
    different depths with different caches: the same bytes, and no absolute path."""
    from recipes_util import git_work_tree, minimal_recipe, write

    texts = []
    for clone in (tmp_path / "a", tmp_path / "deeper" / "b"):
        git_work_tree(clone)  # a clone: the project root teams/ and base/ share
        (clone / "base").mkdir(parents=True)
        minimal_recipe(clone / "base", name="base.yaml")
        child = write(
            clone / "teams" / "child.yaml",
            "extends: ../base/base.yaml\nname: child\nbenchmark: {duration_s: 1}\n",
        )
        result = ovrun("lock", str(child), "--no-run", "--cache-dir", str(clone / "cache"))
        assert result.returncode == 0, result.stderr
        texts.append((clone / "teams" / "ovrun.lock").read_text())
    assert texts[0] == texts[1]
    entry = yaml.safe_load(texts[0])["recipes"]["child.yaml"]
    assert entry["model"]["ref"] == "../base/model"
    assert str(tmp_path) not in texts[0]
