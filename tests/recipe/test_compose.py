"""Recipe composition: extends (deep merge, list replacement), ${params}, --set overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from recipes_util import git_work_tree, minimal_recipe, ovrun, write

from runner.cache.decide import assign_keys
from runner.cache.digest import DigestMemo
from runner.core.errors import OvrunError
from runner.plan.build import build_plan
from runner.recipe.compose import Overrides, deep_merge
from runner.recipe.resolve import load_recipe

BASE = """
version: 1
name: base
model:
  source: {path: model}
data:
  calib: {text: calib.txt, samples: 2}
variants:
  fp32: {}
  int8:
    quantize: {dataset: calib, subset_size: 2}
targets:
  devices: [CPU, GPU]
  hints: [LATENCY]
benchmark: {duration_s: 3, seq_len: 16}
"""


def _team(tmp: Path) -> Path:
    """base/ holds the shared recipe and its files; child.yaml extends it from elsewhere in
    the same git work tree (the project root both may read in)."""
    git_work_tree(tmp)
    (tmp / "base").mkdir()
    minimal_recipe(tmp / "base", BASE, name="base.yaml")
    return tmp / "base" / "base.yaml"


def _keys(recipe) -> dict[str, str]:
    plan = build_plan(recipe)
    assign_keys(plan, DigestMemo(None))
    return {t.id: t.key for t in plan.order()}


def test_deep_merge_replaces_lists_and_merges_mappings():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    assert deep_merge(base, {"a": {"y": [3]}, "c": 2}) == {
        "a": {"x": 1, "y": [3]},
        "b": 1,
        "c": 2,
    }
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}  # inputs untouched


def test_extends_merges_and_resolves_base_paths_next_to_the_base(tmp_path):
    _team(tmp_path)
    child = write(
        tmp_path / "team" / "child.yaml",
        """
        extends: ../base/base.yaml
        name: child
        targets: {devices: [CPU]}
        variants:
          w8: {compress_weights: {mode: int8_asym}}
        benchmark: {duration_s: 1}
        """,
    )
    recipe = load_recipe(child)
    assert recipe.name == "child"
    assert list(recipe.variants) == ["fp32", "int8", "w8"]
    assert recipe.targets.devices == ["CPU"]  # a list replaces the base's list whole
    assert recipe.targets.hints == ["LATENCY"]  # sibling keys of a merged mapping survive
    assert (recipe.benchmark.duration_s, recipe.benchmark.seq_len) == (1.0, 16)
    assert recipe.data["calib"].text == (tmp_path / "base" / "calib.txt").resolve()
    assert recipe.model.source.local_dir == (tmp_path / "base" / "model").resolve()


def test_extended_recipe_has_the_same_keys_as_its_flat_equivalent(tmp_path):
    base = _team(tmp_path)
    child = write(tmp_path / "base" / "child.yaml", "extends: base.yaml\n")
    assert _keys(load_recipe(child)) == _keys(load_recipe(base))


def test_error_in_base_points_at_the_base_file(tmp_path):
    base = _team(tmp_path)
    base.write_text(base.read_text().replace("seq_len: 16", "seq_len: -4"))
    child = write(tmp_path / "child.yaml", "extends: base/base.yaml\nname: child\n")
    with pytest.raises(OvrunError) as info:
        load_recipe(child)
    loc = info.value.location
    assert loc.file == str(base)
    line = base.read_text().splitlines()[loc.line - 1]
    assert "seq_len: -4" in line


def test_error_in_child_points_at_the_child(tmp_path):
    _team(tmp_path)
    child = write(
        tmp_path / "child.yaml", "extends: base/base.yaml\nname: child\nbenchmark: {warmup: x}\n"
    )
    with pytest.raises(OvrunError) as info:
        load_recipe(child)
    assert (info.value.location.file, info.value.location.line) == (str(child), 3)


def test_extends_cycle_is_exit_2(tmp_path):
    write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\nname: b\n")
    result = ovrun("validate", str(tmp_path / "a.yaml"))
    assert result.returncode == 2
    assert "extends cycle: a.yaml -> b.yaml -> a.yaml" in result.stderr
    assert f"{tmp_path / 'b.yaml'}:1:10: error" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_base_is_positioned(tmp_path):
    write(tmp_path / "a.yaml", "version: 1\nextends: nope.yaml\n")
    with pytest.raises(OvrunError) as info:
        load_recipe(tmp_path / "a.yaml")
    assert "base recipe not found" in info.value.message
    assert info.value.location.line == 2


PARAMS = """
version: 1
name: p-${variant}
params: {samples: 2, variant: int8, device: CPU}
model:
  source: {path: model}
data:
  calib:
    text: calib.txt
    samples: ${samples}  # in flow style {...} a ${...} value must be quoted
variants:
  fp32: {}
  int8:
    quantize: {dataset: calib}
targets: {devices: ["${device}"]}
"""


def test_params_substitute_typed_and_can_be_overridden(tmp_path):
    path = minimal_recipe(tmp_path, PARAMS)
    recipe = load_recipe(path)
    assert recipe.data["calib"].samples == 2 and recipe.name == "p-int8"
    assert recipe.targets.devices == ["CPU"]
    over = load_recipe(path, Overrides(params=["samples=7", "device=GPU"]))
    assert over.data["calib"].samples == 7 and over.targets.devices == ["GPU"]


def test_params_errors(tmp_path):
    path = minimal_recipe(tmp_path, PARAMS.replace("samples: ${samples}", "samples: ${sample}"))
    with pytest.raises(OvrunError) as info:
        load_recipe(path)
    assert "unknown parameter ${sample}" in info.value.message
    assert info.value.hint == "did you mean 'samples'?"
    assert info.value.location.line == 9
    good = minimal_recipe(tmp_path, PARAMS)
    with pytest.raises(OvrunError, match="expected int"):
        load_recipe(good, Overrides(params=["samples=many"]))
    with pytest.raises(OvrunError, match="declares no parameter 'bogus'"):
        load_recipe(good, Overrides(params=["bogus=1"]))


def test_set_is_typed_by_the_schema(tmp_path):
    path = minimal_recipe(tmp_path)
    recipe = load_recipe(
        path,
        Overrides(
            sets=[
                "benchmark.duration_s=2",
                "targets.devices=[CPU]",
                "variants.int8.quantize.subset_size=5",
                "name=123",  # a string key stays a string even when it looks like a number
            ]
        ),
    )
    assert recipe.benchmark.duration_s == 2.0
    assert recipe.targets.devices == ["CPU"]
    assert recipe.variants["int8"].quantize["subset_size"] == 5
    assert recipe.name == "123"


def test_set_errors_point_at_the_command_line(tmp_path):
    path = minimal_recipe(tmp_path)
    result = ovrun(
        "plan", str(path), "--cache-dir", str(tmp_path / "c"), "--set", "benchmark.duration_s=abc"
    )
    assert result.returncode == 2
    assert result.stderr.startswith(
        "--set benchmark.duration_s=abc: error: benchmark.duration_s: expected number"
    )
    unknown = ovrun(
        "plan", str(path), "--cache-dir", str(tmp_path / "c"), "--set", "benchmark.durations=1"
    )
    assert unknown.returncode == 2 and "no such key in the recipe schema" in unknown.stderr


def test_set_changes_keys_like_editing_the_file(tmp_path):
    path = minimal_recipe(tmp_path)
    via_set = _keys(load_recipe(path, Overrides(sets=["variants.w4.compress_weights.ratio=0.9"])))
    path.write_text(path.read_text().replace("ratio: 0.8", "ratio: 0.9"))
    assert via_set == _keys(load_recipe(path))
