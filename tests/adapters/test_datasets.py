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


def reservoir(lines: list[str], count: int, seed: int) -> list[str]:
    """Algorithm R with random.Random(seed), then the sample shuffled: the documented rule."""
    rng = random.Random(seed)
    chosen: list[str] = []
    for i, line in enumerate(lines):
        if i < count:
            chosen.append(line)
        else:
            slot = rng.randrange(i + 1)
            if slot < count:
                chosen[slot] = line
    rng.shuffle(chosen)
    return chosen


def test_shuffle_is_a_seeded_reservoir_sample(tiny_bert_dir: Path, tmp_path: Path) -> None:
    source = write_text_corpus(tmp_path / "calib.txt", 30, seed=5)
    _, out = run_dataset(tmp_path, tiny_bert_dir, source, samples=6, shuffle=True, seed=11)
    lines = source.read_text(encoding="utf-8").splitlines()
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    got = [s["input_ids"][0].tolist() for s in datasets.load_samples(out)]
    assert got == [
        tokenizer(line, truncation=True, max_length=32)["input_ids"]
        for line in reservoir(lines, 6, 11)
    ]


def test_reservoir_picks_every_line_equally_often(tmp_path: Path) -> None:
    from runner.adapters.sources import select_texts

    source = tmp_path / "lines.txt"
    source.write_text("".join(f"line {i}\n" for i in range(20)), encoding="utf-8")
    counts = dict.fromkeys(range(20), 0)
    seeds = 3000
    for seed in range(seeds):
        chosen, total = select_texts("text", source, "text", None, 5, True, seed, 100)
        assert total == 20 and len(set(chosen)) == 5
        for text in chosen:
            counts[int(text.split()[1])] += 1
    # each line is kept with p = 5/20; 3000 draws: sd = sqrt(3000 * .25 * .75) ~ 24
    assert all(abs(n - seeds * 0.25) < 120 for n in counts.values()), counts


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


# -- bounded reading --------------------------------------------------------------------------


def test_long_line_is_cut_before_tokenizing_with_the_same_tokens(
    tiny_bert_dir: Path, tmp_path: Path
) -> None:
    """A line far longer than max_length tokens (and than the read chunk) is cut to
    max_length * CHARS_PER_TOKEN characters; the first max_length tokens do not change."""
    from runner.adapters.sources import _CHUNK

    words = "the model reads a long letter é "
    long_line = words * (3 * _CHUNK // len(words))
    source = tmp_path / "long.txt"
    source.write_text("short line\n" + long_line + "\nlast line\n", encoding="utf-8")
    summary, out = run_dataset(tmp_path, tiny_bert_dir, source, samples=3, max_length=16)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    want = tokenizer(long_line.strip(), truncation=True, max_length=16)["input_ids"]
    assert datasets.load_samples(out)[1]["input_ids"][0].tolist() == want
    assert summary["truncated"] == 1 and summary["source_lines"] == 3


def test_cut_inside_a_multibyte_character_is_not_a_decode_error(tmp_path: Path) -> None:
    from runner.adapters.sources import select_texts

    source = tmp_path / "utf8.txt"
    source.write_text("ab" + "é" * 50 + "\n", encoding="utf-8")
    # 4 * max_chars bytes kept: 12 bytes end inside an 'é' (2 bytes each after 'ab')
    for max_chars in (3, 4, 5):
        chosen, _ = select_texts("text", source, "text", None, 1, False, 0, max_chars)
        assert chosen == [("ab" + "é" * 50)[:max_chars]]


def test_invalid_utf8_names_the_line_not_the_bytes(tmp_path: Path) -> None:
    from runner.adapters.sources import select_texts

    source = tmp_path / "bad.txt"
    source.write_bytes(b"fine\nSECRET\xff\xfe\n")
    with pytest.raises(OvrunError) as info:
        select_texts("text", source, "text", None, 5, False, 0, 100)
    assert "line 2" in info.value.message and "SECRET" not in info.value.message


def test_jsonl_record_over_the_limit_is_an_error_not_a_memory_spike(tmp_path: Path) -> None:
    from runner.adapters import sources

    source = tmp_path / "big.jsonl"
    with open(source, "w", encoding="utf-8") as f:
        f.write('{"text": "ok"}\n{"text": "')
        f.write("x" * (sources.MAX_RECORD_BYTES + 10))
        f.write('"}\n')
    with pytest.raises(OvrunError) as info:
        sources.read_texts("jsonl", source, "text")
    assert f"{source}:2: line is longer than" in info.value.message


def test_csv_field_over_the_csv_limit_is_a_positioned_error(tmp_path: Path) -> None:
    from runner.adapters import sources

    source = tmp_path / "wide.csv"
    source.write_text("text\nfine\n" + "y" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(OvrunError) as info:
        sources.read_texts("csv", source, "text")
    assert f"{source}:3: not valid CSV" in info.value.message
    assert "yyyy" not in info.value.message


def test_streamed_npz_members_are_what_np_savez_writes(tiny_bert_dir: Path, tmp_path: Path) -> None:
    import zipfile

    from runner.adapters.token_arrays import RaggedTokens

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    texts = ["a b c", "the model reads a long letter", "x", "y z"] * 3000  # > one block
    tokens = RaggedTokens(tokenizer.pad_token_id)
    for start in range(0, len(texts), 5000):  # chunks that do not align with blocks
        tokens.add(tokenizer(texts[start : start + 5000], truncation=True, max_length=8))
    tokens.write_npz(tmp_path / "streamed.npz", 9)
    padded = tokenizer(texts, truncation=True, max_length=8, padding="max_length")
    expected = {k: np.pad(np.asarray(padded[k], dtype=np.int64), ((0, 0), (0, 1))) for k in padded}
    expected["input_ids"][:, 8] = tokenizer.pad_token_id
    # the member order the padded writer used: input_ids, attention_mask, token_type_ids
    np.savez(tmp_path / "reference.npz", **{k: expected[k] for k in datasets._KEYS})
    with (
        zipfile.ZipFile(tmp_path / "streamed.npz") as a,
        zipfile.ZipFile(tmp_path / "reference.npz") as b,
    ):
        assert sorted(a.namelist()) == sorted(b.namelist())
        for name in b.namelist():
            assert a.read(name) == b.read(name), name
    # and the whole archive, byte for byte: the dataset op's outputs did not change
    assert (tmp_path / "streamed.npz").read_bytes() == (tmp_path / "reference.npz").read_bytes()
