"""Every data: source format through the real dataset op and the recipe loader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from recipes_util import REPO, ovrun, write
from tiny_models import corpus_lines, write_text_corpus
from transformers import AutoTokenizer

from runner.adapters import dataset as datasets
from runner.core.errors import OvrunError
from runner.plan.build import build_plan
from runner.plan.context import TaskContext
from runner.recipe.resolve import load_recipe

FIXTURES = REPO / "tests" / "data"
SENTENCES = [
    "the model reads a long letter",
    "a small robot builds the green door",
    "my neighbour watches the blue sky",
    "the compiler counts every small detail",
    "our team writes a short story",
    "the river carries a wooden chair",
]


def _upstream(tmp: Path, model_dir: Path) -> Path:
    up = tmp / "upstream"
    up.mkdir(exist_ok=True)
    if not (up / "model").exists():
        (up / "model").symlink_to(model_dir, target_is_directory=True)
    return up


def _run(tmp: Path, model_dir: Path | None, source: Path | None, **params) -> tuple[dict, Path]:
    out = tmp / f"out{len(list(tmp.glob('out*')))}"
    out.mkdir()
    full = {"samples": 50, "seed": 0, "shuffle": False, "max_length": 32, **params}
    inputs = {"model": _upstream(tmp, model_dir)} if model_dir else {}
    files = {"source": source} if source else {}
    return datasets.run(TaskContext("ds", "dataset", full, inputs, files, out)), out


def _ids(out: Path) -> list[list[int]]:
    return [s["input_ids"][0].tolist() for s in datasets.load_samples(out)]


def _expected(model_dir: Path, texts: list[str]) -> list[list[int]]:
    tok = AutoTokenizer.from_pretrained(model_dir)
    return [tok(t, truncation=True, max_length=32)["input_ids"] for t in texts]


def test_jsonl_csv_tsv_read_the_named_field(tiny_bert_dir: Path, tmp_path: Path) -> None:
    texts = corpus_lines(8, seed=3)
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("".join(json.dumps({"id": i, "body": t}) + "\n" for i, t in enumerate(texts)))
    csv = tmp_path / "d.csv"
    csv.write_text("id,body\n" + "".join(f'{i},"{t}"\n' for i, t in enumerate(texts)))
    tsv = tmp_path / "d.tsv"
    tsv.write_text("id\tbody\n" + "".join(f"{i}\t{t}\n" for i, t in enumerate(texts)))
    want = _expected(tiny_bert_dir, texts)
    for fmt, path in (("jsonl", jsonl), ("csv", csv), ("tsv", tsv)):
        summary, out = _run(tmp_path, tiny_bert_dir, path, format=fmt, field="body")
        assert summary["samples"] == 8 and summary["format"] == fmt
        assert _ids(out) == want


def test_jsonl_missing_field_names_the_line(tiny_bert_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "fine"}\n{"other": "no text"}\n')
    with pytest.raises(OvrunError, match=r"d.jsonl:2: no field 'text'"):
        _run(tmp_path, tiny_bert_dir, path, format="jsonl")


def test_parquet_file_and_directory(tiny_bert_dir: Path, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(pa.table({"text": SENTENCES[:3]}), folder / "a.parquet")
    pq.write_table(pa.table({"text": SENTENCES[3:]}), folder / "b.parquet")
    _, out = _run(tmp_path, tiny_bert_dir, folder, format="parquet")
    assert _ids(out) == _expected(tiny_bert_dir, SENTENCES)
    _, out = _run(tmp_path, tiny_bert_dir, folder / "b.parquet", format="parquet")
    assert _ids(out) == _expected(tiny_bert_dir, SENTENCES[3:])


def test_datasets_save_to_disk_dirs(tiny_bert_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    # Written by datasets 5.2.0's save_to_disk (tests/data/README.md).
    _, out = _run(
        tmp_path,
        tiny_bert_dir,
        FIXTURES / "hf_saved_dataset",
        format="datasets_dir",
        field="sentence",
    )
    assert _ids(out) == _expected(tiny_bert_dir, SENTENCES)
    _, out = _run(
        tmp_path,
        tiny_bert_dir,
        FIXTURES / "hf_saved_dataset_dict",
        format="datasets_dir",
        field="sentence",
        split="validation",
    )
    assert _ids(out) == _expected(tiny_bert_dir, SENTENCES[:3])
    with pytest.raises(OvrunError, match="split 'test' is not one of"):
        _run(
            tmp_path,
            tiny_bert_dir,
            FIXTURES / "hf_saved_dataset_dict",
            format="datasets_dir",
            field="sentence",
            split="test",
        )


def test_npz_ready_tensors_need_no_model(tmp_path: Path) -> None:
    ids = np.arange(40, dtype=np.int32).reshape(4, 10)
    mask = np.ones_like(ids)
    mask[1, 6:] = 0
    np.savez(tmp_path / "t.npz", input_ids=ids, attention_mask=mask)
    summary, out = _run(tmp_path, None, tmp_path / "t.npz", format="npz", max_length=8)
    samples = datasets.load_samples(out)
    assert [s["input_ids"].shape for s in samples] == [(1, 8), (1, 6), (1, 8), (1, 8)]
    assert samples[1]["input_ids"][0].tolist() == list(range(10, 16))
    assert samples[0]["input_ids"].dtype == np.int64 and summary["samples"] == 4


def test_synthetic_is_seeded_and_in_vocab(tiny_bert_dir: Path, tmp_path: Path) -> None:
    vocab = json.loads((tiny_bert_dir / "config.json").read_text())["vocab_size"]

    def synthetic(seed: int):
        return _run(
            tmp_path,
            tiny_bert_dir,
            None,
            format="synthetic",
            samples=5,
            synthetic={"length": 12},
            seed=seed,
        )

    a, out_a = synthetic(3)
    _, out_b = synthetic(3)
    _, out_c = synthetic(4)
    ids = np.array(_ids(out_a))
    assert ids.shape == (5, 12) and ids.min() >= 0 and ids.max() < vocab
    assert _ids(out_a) == _ids(out_b) != _ids(out_c)
    assert a["vocab_size"] == vocab


def test_padding_max_length_and_batches(tiny_bert_dir: Path, tmp_path: Path) -> None:
    source = write_text_corpus(tmp_path / "c.txt", 7, seed=2)
    summary, out = _run(tmp_path, tiny_bert_dir, source, padding="max_length", batch=3)
    items = datasets.load_samples(out)
    assert [item["input_ids"].shape for item in items] == [(3, 32), (3, 32), (1, 32)]
    assert summary["batches"] == 3
    want = _expected(tiny_bert_dir, source.read_text().splitlines())
    assert items[0]["input_ids"][1, : len(want[1])].tolist() == want[1]
    assert items[0]["attention_mask"][1].sum() == len(want[1])
    _, out = _run(tmp_path, tiny_bert_dir, source, batch=2)  # longest: trimmed per batch
    first = datasets.load_samples(out)[0]
    assert first["input_ids"].shape == (2, max(len(want[0]), len(want[1])))


# --- recipe side: sources, keys, errors --------------------------------------------------


def _recipe(tmp: Path, data: str) -> Path:
    (tmp / "model").mkdir(exist_ok=True)
    (tmp / "model" / "config.json").write_text("{}")
    return write(
        tmp / "r.yaml",
        f"""
        version: 1
        name: r
        model:
          source: {{path: model}}
        data:
        {data}
        variants:
          fp32: {{}}
          int8: {{quantize: {{dataset: calib}}}}
        """,
    )


def test_two_sources_in_one_entry_is_exit_2_at_the_entry(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "x\n")
    path = _recipe(tmp_path, "  calib: {text: a.txt, jsonl: a.txt}")
    result = ovrun("validate", str(path))
    assert result.returncode == 2
    assert f"{path}:6:3: error: dataset 'calib' names 2 sources (text, jsonl)" in result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr


def test_npz_and_synthetic_datasets_do_not_depend_on_the_model(tmp_path: Path) -> None:
    np.savez(tmp_path / "t.npz", input_ids=np.ones((2, 4), dtype=np.int64))
    path = _recipe(
        tmp_path,
        "  calib: {npz: t.npz}\n          syn: {synthetic: {length: 8, vocab_size: 100}}",
    )
    plan = build_plan(load_recipe(path))
    assert plan.tasks["data:calib"].deps == {}
    assert plan.tasks["data:calib"].params["format"] == "npz"
    assert "data:syn" not in plan.tasks  # unused datasets are not planned


@pytest.mark.slow  # a full tiny run first (~45 s on a busy 2-core box)
def test_editing_one_calibration_line_reruns_only_its_readers(tiny_project, tmp_path: Path) -> None:
    project = tiny_project(
        """
        version: 1
        name: edit
        model:
          source: {path: model}
        data:
          calib: {text: calib.txt, samples: 20, max_length: 32}
          eval: {text: eval.txt, samples: 10, max_length: 32}
        variants:
          fp32: {}
          int8: {quantize: {dataset: calib, subset_size: 20}}
          w8: {compress_weights: {mode: int8_asym}}
        benchmark: {duration_s: 0.2, warmup: 1, seq_len: 16, repeats: 1}
        evaluate: {dataset: eval, reference: fp32}
        """,
        {"calib.txt": (20, 1), "eval.txt": (10, 2)},
        dir=tmp_path,
    )
    recipe, cache = project.recipe, str(project.cache)
    assert ovrun(str(recipe), "--cache-dir", cache).returncode == 0
    lines = (tmp_path / "calib.txt").read_text().splitlines()
    lines[3] = "a completely different third sample line"
    (tmp_path / "calib.txt").write_text("\n".join(lines) + "\n")
    plan = ovrun("plan", str(recipe), "--cache-dir", cache)
    assert plan.returncode == 0, plan.stderr
    # lines: "<key prefix>  <task id>  cached | will run (reason)"
    state = {
        line.split()[1]: ("will run" if "will run" in line else "cached")
        for line in plan.stdout.splitlines()
        if len(line.split()) > 2 and len(line.split()[0]) == 12
    }
    rerun = {task for task, s in state.items() if s == "will run"}
    assert {"data:calib", "compress:int8", "eval:int8"} <= rerun
    allowed = ("data:calib", "compress:int8", "eval:int8", "bench:int8", "report")
    assert all(t.startswith(allowed) for t in rerun), (rerun, plan.stdout)
    for kept in ("export", "data:eval", "compress:w8", "eval:w8", "bench:fp32:CPU:LATENCY"):
        assert state.get(kept) == "cached", (kept, plan.stdout)
    assert "changed: files.source" in plan.stdout
