"""The dataset adapter with the real tokenizers of the tiny models."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from tiny_models import write_text_corpus
from transformers import AutoTokenizer

from runner.adapters import dataset as datasets
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext


def model_input(tmp: Path, model_dir: Path) -> Path:
    """An upstream task dir laid out as the export op publishes it: <dir>/model/..."""
    upstream = tmp / "upstream"
    upstream.mkdir()
    (upstream / "model").symlink_to(model_dir, target_is_directory=True)
    return upstream


def run_dataset(tmp: Path, model_dir: Path, source: Path, **params) -> tuple[dict, Path]:
    out = tmp / "out"
    out.mkdir()
    full = {"format": "text", "samples": 8, "seed": 0, "shuffle": False, "max_length": 32, **params}
    ctx = TaskContext(
        "ds", "dataset", full, {"model": model_input(tmp, model_dir)}, {"source": source}, out
    )
    return datasets.run(ctx), out


def test_first_lines_tokenized_and_padded_right(tiny_bert_dir: Path, tmp_path: Path) -> None:
    source = write_text_corpus(tmp_path / "calib.txt", 20, seed=3)
    summary, out = run_dataset(tmp_path, tiny_bert_dir, source, samples=5)

    lines = source.read_text(encoding="utf-8").splitlines()
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    expected = [tokenizer(line, truncation=True, max_length=32)["input_ids"] for line in lines[:5]]
    with np.load(out / "samples.npz") as data:
        assert sorted(data.files) == ["attention_mask", "input_ids", "token_type_ids"]
        ids = data["input_ids"]
        assert ids.dtype == np.int64
        assert ids.shape == (5, max(len(e) for e in expected))
        for row, want in enumerate(expected):
            assert ids[row, : len(want)].tolist() == want
            assert (ids[row, len(want) :] == tokenizer.pad_token_id).all()
            assert data["attention_mask"][row].sum() == len(want)
    assert summary["samples"] == 5
    assert summary["source_lines"] == 20
    assert summary["max_length"] == 32
    assert summary["mean_length"] == pytest.approx(np.mean([len(e) for e in expected]))
    assert summary["truncated"] == 0


def test_load_samples_trims_padding(tiny_bert_dir: Path, tmp_path: Path) -> None:
    source = write_text_corpus(tmp_path / "calib.txt", 12, seed=4)
    _, out = run_dataset(tmp_path, tiny_bert_dir, source, samples=12)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    samples = datasets.load_samples(out)
    lines = source.read_text(encoding="utf-8").splitlines()
    assert len(samples) == 12
    for sample, line in zip(samples, lines, strict=True):
        want = tokenizer(line, truncation=True, max_length=32)
        assert set(sample) == {"input_ids", "attention_mask", "token_type_ids"}
        assert sample["input_ids"].shape == (1, len(want["input_ids"]))
        assert sample["input_ids"][0].tolist() == want["input_ids"]
        assert (sample["attention_mask"] == 1).all()


def test_shuffle_follows_seeded_random(tiny_bert_dir: Path, tmp_path: Path) -> None:
    source = write_text_corpus(tmp_path / "calib.txt", 30, seed=5)
    _, out = run_dataset(tmp_path, tiny_bert_dir, source, samples=6, shuffle=True, seed=11)
    lines = source.read_text(encoding="utf-8").splitlines()
    random.Random(11).shuffle(lines)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    got = [s["input_ids"][0].tolist() for s in datasets.load_samples(out)]
    assert got == [
        tokenizer(line, truncation=True, max_length=32)["input_ids"] for line in lines[:6]
    ]


def test_truncation_counted_and_fewer_lines_than_asked(tiny_bert_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "few.txt"
    source.write_text(
        "a short one.\n\n   \n" + "the model reads a long letter " * 10 + "\n", "utf-8"
    )
    summary, out = run_dataset(tmp_path, tiny_bert_dir, source, samples=50, max_length=16)
    assert summary["samples"] == 2
    assert summary["source_lines"] == 2
    assert summary["truncated"] == 1
    assert [s["input_ids"].shape[1] for s in datasets.load_samples(out)][1] == 16


def test_causal_lm_tokenizer_has_no_token_type_ids(
    tiny_causal_lm_dir: Path, tmp_path: Path
) -> None:
    source = write_text_corpus(tmp_path / "calib.txt", 10, seed=6)
    summary, out = run_dataset(tmp_path, tiny_causal_lm_dir, source, samples=4)
    samples = datasets.load_samples(out)
    assert set(samples[0]) == {"input_ids", "attention_mask"}
    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_lm_dir)
    with np.load(out / "samples.npz") as data:
        lengths = data["attention_mask"].sum(axis=1)
        assert (data["input_ids"][0, lengths[0] :] == tokenizer.pad_token_id).all()
    assert summary["samples"] == 4


def test_empty_file_is_a_user_error(tiny_bert_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "empty.txt"
    source.write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(OvrunError, match="no text lines"):
        run_dataset(tmp_path, tiny_bert_dir, source)


def test_non_utf8_file_is_a_user_error(tiny_bert_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "latin1.txt"
    source.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(OvrunError, match="not UTF-8"):
        run_dataset(tmp_path, tiny_bert_dir, source)


def test_load_samples_without_dataset_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(OvrunError, match="samples.npz"):
        datasets.load_samples(tmp_path)
