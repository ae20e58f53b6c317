"""Offline clarity: whatever is not available here (a hub model not in the local cache, a data
file, the evaluation's device, a Python package or an optional extra) ends the command with
exit 2, one `error:` line saying what is missing and a `hint:` line saying what to do, and no
traceback. (Benchmark cells on an absent device are skipped with the reason instead: one
recipe serves many hosts; tests/e2e/test_e2e_tiny.py covers that.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hardening_util import entries, run
from recipes_util import REPO, write

from runner.cli.main import main

ERROR = re.compile(r"^\S.*:\d+:\d+: error: \S")


def refused(capsys, *argv: str) -> str:
    rc = main(list(argv))
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and ERROR.match(lines[0]) and lines[1].startswith("hint: "), lines
    return err


def _text(model: str, extra: str = "") -> str:
    return (
        "version: 1\nname: offline\nmodel:\n"
        f"  source: {model}\n"
        "variants: {fp32: {}}\nbenchmark: {duration_s: 0.1, warmup: 1, seq_len: 8}\n" + extra
    )


def _recipe(tmp: Path, model: str, extra: str = "") -> Path:
    return write(tmp / "r.yaml", _text(model, extra))


@pytest.mark.parametrize("command", ["validate", "plan", "run"])
def test_hub_model_not_in_the_local_cache(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    recipe = _recipe(tmp_path, "{hf: some-org/some-model}")
    extra = () if command == "validate" else ("--cache-dir", str(tmp_path / "cache"))
    err = refused(capsys, command, str(recipe), *extra)
    assert f"{recipe}:4:" in err and "some-org/some-model" in err
    assert "HF_HUB_OFFLINE" in err and "download" in err and "path:" in err


def test_package_not_installed(tmp_path, capsys):
    recipe = _recipe(tmp_path, "{package: ovrun_absent_pkg/model}")
    err = refused(capsys, "run", str(recipe), "--cache-dir", str(tmp_path / "cache"))
    assert "'ovrun_absent_pkg' is not installed" in err and "pip install" in err


def test_data_file_missing(tmp_path, capsys, tiny_project):
    text = _text("{path: model}", "data:\n  calib: {text: nowhere/calib.txt}\n")
    recipe = tiny_project(text, name="r.yaml", dir=tmp_path).recipe
    err = refused(capsys, "run", str(recipe), "--cache-dir", str(tmp_path / "cache"))
    assert "nowhere/calib.txt" in err and "relative to the recipe" in err


def test_evaluation_device_absent_is_refused_before_anything_runs(tmp_path, capsys, tiny_project):
    text = _text(
        "{path: model}",
        "data:\n  calib: {text: calib.txt}\n"
        "evaluate: {dataset: calib, reference: fp32, device: NPU}\n",
    )
    recipe = tiny_project(text, {"calib.txt": "one\ntwo\n"}, name="r.yaml", dir=tmp_path).recipe
    text = recipe.read_text().replace(
        "variants: {fp32: {}}", "variants: {fp32: {}, w8: {compress_weights: {}}}"
    )
    recipe.write_text(text)
    cache = tmp_path / "cache"
    err = refused(capsys, "run", str(recipe), "--cache-dir", str(cache))
    assert "evaluate.device: device NPU not available (available: CPU" in err
    line = text.splitlines().index(next(x for x in text.splitlines() if "evaluate:" in x)) + 1
    assert err.startswith(f"{recipe}:{line}:")
    assert "hint: set evaluate.device: to one of CPU" in err
    assert entries(cache) == {}  # nothing was built first


BLOCK_PYARROW = "import sys\nsys.modules['pyarrow'] = None\n"


@pytest.mark.slow
def test_optional_extra_missing_simulated(tmp_path, tiny_project):
    """pyarrow (the parquet reader) hidden from the run, as if the extra were not installed."""
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    text = _text(
        "{path: model}",
        "data:\n  calib: {parquet: d.parquet}\nevaluate: {dataset: calib, reference: fp32}\n",
    )
    recipe = tiny_project(text, name="r.yaml", dir=tmp_path).recipe
    pq.write_table(pa.table({"text": ["one sample", "two samples"]}), tmp_path / "d.parquet")
    recipe.write_text(
        recipe.read_text().replace(
            "variants: {fp32: {}}", "variants: {fp32: {}, w8: {compress_weights: {}}}"
        )
    )
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(BLOCK_PYARROW, encoding="utf-8")
    done = run(
        str(recipe),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(tmp_path / "out"),
        PYTHONPATH=f"{guard}:{REPO}",
    )
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "Traceback" not in text
    assert "needs pyarrow, which is not installed" in text and "pip install pyarrow" in text
