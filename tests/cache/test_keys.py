import json
import subprocess
import sys
from pathlib import Path

from recipes_util import REPO, minimal_recipe

from runner.cache.decide import assign_keys
from runner.cache.digest import DigestMemo
from runner.cache.key import canonical, key_of, lib_version, preimage
from runner.plan.build import build_plan
from runner.plan.ops import OPS, Op
from runner.recipe.resolve import load_recipe


def _keys(recipe_path: Path, memo_dir: Path) -> dict[str, str]:
    plan = build_plan(load_recipe(recipe_path))
    assign_keys(plan, DigestMemo(memo_dir / "memo.json"))
    return {t.id: t.key for t in plan.order()}


def test_canonical_is_order_independent():
    assert canonical({"b": 1, "a": [1.5, "x"]}) == canonical({"a": [1.5, "x"], "b": 1})
    assert key_of({"a": 1}) != key_of({"a": 1.5})


def test_golden_key_is_stable_across_processes(tmp_path):
    code = (
        "from runner.cache.key import key_of, preimage; from runner.plan.ops import Op;"
        "op = Op('x', 'm:f', 3, ());"
        "print(key_of(preimage(op, {'ratio': 0.8, 'mode': 'int4_sym'}, {'model': 'ab'}, {'f': 'cd'}, None)))"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
        ).stdout.strip()
        for seed in (1, 2)
    }
    expected = key_of(
        preimage(
            Op("x", "m:f", 3, ()),
            {"mode": "int4_sym", "ratio": 0.8},
            {"model": "ab"},
            {"f": "cd"},
            None,
        )
    )
    assert runs == {expected}
    # the golden value: if this changes, every user's cache is invalidated — bump KEY_SCHEMA on purpose
    assert expected == "af48df6e6af0e1da6ab3f5b57ed25835da47e3749b37946b80927988ca089c93"


def test_param_change_changes_key_and_downstream_only(tmp_path):
    path = minimal_recipe(tmp_path)
    before = _keys(path, tmp_path)
    path.write_text(path.read_text().replace("ratio: 0.8", "ratio: 0.9"))
    after = _keys(path, tmp_path)
    changed = {t for t in before if before[t] != after[t]}
    assert changed == {
        "compress:w4",
        "bench:w4:CPU:LATENCY",
        "bench:w4:GPU:LATENCY",
        "eval:w4",
        "report",
    }


def test_spelled_out_default_gives_same_key(tmp_path):
    path = minimal_recipe(tmp_path)
    before = _keys(path, tmp_path)
    text = path.read_text()
    text = text.replace(
        "quantize: {dataset: calib}",
        "quantize: {dataset: calib, preset: performance, subset_size: 300}",
    )
    text = text.replace("ratio: 0.8", "ratio: 0.80")
    text = text.replace(
        "hints: [LATENCY]", "hints: [LATENCY]\nbenchmark: {duration_s: 10.0, seq_len: 128}"
    )
    path.write_text(text)
    assert _keys(path, tmp_path) == before


def test_input_file_content_changes_key_but_touch_does_not(tmp_path):
    path = minimal_recipe(tmp_path)
    before = _keys(path, tmp_path)
    calib = tmp_path / "calib.txt"
    calib.write_text(calib.read_text())  # same bytes, new mtime
    assert _keys(path, tmp_path) == before
    calib.write_text("one sample\ntwo sampleS\n")
    after = _keys(path, tmp_path)
    changed = {t for t in before if before[t] != after[t]}
    assert "data:calib" in changed and "compress:int8" in changed and "export" not in changed
    assert "compress:w4" not in changed  # w4 reads no data


def test_model_dir_byte_change_changes_export_key(tmp_path):
    path = minimal_recipe(tmp_path)
    before = _keys(path, tmp_path)
    (tmp_path / "model" / "config.json").write_text("{ }")
    assert _keys(path, tmp_path)["export"] != before["export"]


def test_library_version_changes_key(tmp_path, monkeypatch):
    site = tmp_path / "site"
    dist = site / "ovrunfakelib-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ovrunfakelib\nVersion: 1.0\n")
    monkeypatch.syspath_prepend(str(site))
    op = Op("x", "m:f", 1, ("ovrunfakelib",))
    lib_version.cache_clear()
    first = key_of(preimage(op, {}, {}, {}, None))
    assert preimage(op, {}, {}, {}, None)["libs"] == {"ovrunfakelib": "1.0"}
    dist.rename(site / "ovrunfakelib-2.0.dist-info")
    (site / "ovrunfakelib-2.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ovrunfakelib\nVersion: 2.0\n"
    )
    lib_version.cache_clear()
    assert key_of(preimage(op, {}, {}, {}, None)) != first
    lib_version.cache_clear()


def test_device_is_keyed_only_for_device_ops():
    bench, export = OPS["benchmark"], OPS["export"]
    assert key_of(preimage(bench, {}, {}, {}, "CPU")) != key_of(preimage(bench, {}, {}, {}, "GPU"))
    assert preimage(export, {}, {}, {}, "CPU")["device"] is None


def test_preimage_is_json_roundtrip():
    pre = preimage(OPS["quantize"], {"preset": "mixed"}, {"model": "k"}, {}, None)
    assert json.loads(canonical(pre)) == pre
