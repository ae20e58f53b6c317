"""Same key, same bytes: every artifact a cache key names (export IR + tokenizer IRs, data
npz, weight statistics, quantize, compress_weights, deploy dirs and bundle) is byte-identical
whichever executor or process built it. OpenVINO's process-global node counter used to leak
into the .xml (``Convert_262858`` vs ``Convert_18753``) and NNCF wrote the cache path of the
statistics into rt_info, so the local executor, a Dask worker and a fresh process gave three
different openvino_model.xml for one ``compress:`` key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from recipes_util import ovrun

pytestmark = pytest.mark.slow

RECIPE = """
    version: 1
    name: same
    model: {source: {path: model}}
    data:
      calib: {text: calib.txt, samples: 16, max_length: 16}
    variants:
      fp32: {}
      int8: {quantize: {dataset: calib, subset_size: 16}}
      int8_wo: {compress_weights: {mode: int8_asym}}
      w4: {compress_weights: {mode: int4_sym, ratio: 0.8, group_size: 16, dataset: calib}}
    targets: {devices: [CPU], hints: [LATENCY]}
    benchmark: {duration_s: 0.1, warmup: 1, seq_len: 16}
    deploy: {variants: [int8_wo, w4]}
    """
# Measurements (bench, eval) and the report that holds them are not artifacts of a key.
MEASURING_OPS = ("benchmark", "generate", "evaluate", "report")
COMPRESS = ["compress:int8", "compress:int8_wo", "compress:w4"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _artifacts(cache: Path) -> dict[str, dict[str, str]]:
    """task id -> {file below out/: sha256 of the bytes on disk} for every artifact entry."""
    found = {}
    for meta_file in (cache / "objects").glob("*/*/meta.json"):
        meta = json.loads(meta_file.read_text())
        if meta["op"] not in MEASURING_OPS:
            found[meta["task_id"]] = {"key": meta["key"], **_tree(meta_file.parent / "out")}
    return found


def _deployed(out: Path) -> dict[str, str]:
    tree = _tree(out / "deploy")
    del tree["ovms/README.md"]  # names the run dir's absolute path in its command line
    return tree


def _run(recipe: Path, cache: Path, out: Path, *args: str) -> None:
    result = ovrun(str(recipe), "--cache-dir", str(cache), "--out", str(out), *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_local_dask_fresh_process_and_force_give_identical_bytes(tmp_path, tiny_project):
    recipe = tiny_project(RECIPE, {"calib.txt": (16, 3)}, dir=tmp_path).recipe

    # one process builds everything, export first: the node counter is far along by compress
    _run(recipe, tmp_path / "c_local", tmp_path / "o_local")
    local = _artifacts(tmp_path / "c_local")
    assert {"export", "data:calib", "wstats:calib:128", *COMPRESS, "deploy:w4"} <= set(local)

    # Dask workers: other processes, warmed imports, tasks interleaved across two workers
    _run(recipe, tmp_path / "c_dask", tmp_path / "o_dask", "--executor", "dask", "--workers", "2")
    # fresh processes: export alone, then the rest in a process that never ran the export
    _run(recipe, tmp_path / "c_fresh", tmp_path / "o_fresh", "--only", "export")
    _run(recipe, tmp_path / "c_fresh", tmp_path / "o_fresh")
    for name in ("dask", "fresh"):
        assert _artifacts(tmp_path / f"c_{name}") == local, name
        assert _deployed(tmp_path / f"o_{name}") == _deployed(tmp_path / "o_local"), name

    # --force rebuilds the compressions and deploys on top of a cached export, republishing
    # the same keys: the new entries must hold the same bytes as the ones they replace
    forced = [*COMPRESS, "deploy:int8_wo", "deploy:w4"]
    _run(recipe, tmp_path / "c_local", tmp_path / "o_local", "--force", *forced)
    tasks = json.loads((tmp_path / "o_local" / "results.json").read_text())["run"]["tasks"]
    assert all(tasks[t]["state"] == "ran" for t in forced)
    assert tasks["export"]["state"] == "cached"
    assert _artifacts(tmp_path / "c_local") == local
