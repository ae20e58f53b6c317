"""Labelled sets at the adapter level: reading label columns (CSV, JSONL, parquet), label names
through the model's label2id, bad records as one-line errors naming file and row, and the
metric arithmetic (ranks with ties, SQuAD normalisation, answer spans)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tiny_models import make_tokenizer

from runner.adapters import dataset, task_metrics
from runner.adapters.labelled import LABELS_FILE, PAIR_DIR
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export-shaped dir: model/ with a tokenizer and a config naming two labels."""
    root = tmp_path_factory.mktemp("export")
    make_tokenizer(root / "model")
    config = {"model_type": "bert", "id2label": {"0": "neg", "1": "pos"}}
    (root / "model" / "config.json").write_text(
        json.dumps({**config, "label2id": {"neg": 0, "pos": 1}})
    )
    return root


def run_dataset(tmp: Path, model_dir: Path, source: Path, fmt: str, labels: dict, **extra):
    out = tmp / "out"
    out.mkdir()
    params = {"format": fmt, "samples": 10, "seed": 0, "shuffle": False, "max_length": 24,
              "labels": labels, **extra}  # fmt: skip
    ctx = TaskContext("data:x", "dataset", params, {"model": model_dir}, {"source": source}, out)
    return dataset.run(ctx), out


def test_class_labels_by_name_and_id(tmp_path: Path, model_dir: Path) -> None:
    source = tmp_path / "set.csv"
    source.write_text("text,y\nthe model reads,pos\nthe river finds,0\na cat opens,neg\n")
    summary, out = run_dataset(tmp_path, model_dir, source, "csv",
                               {"kind": "classification", "label": "y"})  # fmt: skip
    assert summary["samples"] == 3 and summary["labels"] == "classification"
    gold = json.loads((out / LABELS_FILE).read_text())
    assert gold["labels"] == [1, 0, 0] and gold["classes"] == 2


def test_unknown_label_names_file_and_row_not_the_value(tmp_path: Path, model_dir: Path) -> None:
    source = tmp_path / "set.jsonl"
    rows = [{"text": "the model reads", "y": "pos"}, {"text": "a cat", "y": "secret-label"}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(OvrunError) as info:
        run_dataset(tmp_path, model_dir, source, "jsonl", {"kind": "classification", "label": "y"})
    assert f"{source}:2: label column 'y'" in str(info.value)
    assert "secret-label" not in str(info.value) and "neg, pos" in info.value.hint


def test_non_numeric_score_is_an_error_at_its_row(tmp_path: Path, model_dir: Path) -> None:
    source = tmp_path / "pairs.csv"
    source.write_text("a,b,s\nthe model reads,the model writes,3.5\nthe river,a cat,high\n")
    with pytest.raises(OvrunError, match=r"pairs\.csv:3: score column 's' is not a finite number"):
        run_dataset(tmp_path, model_dir, source, "csv",
                    {"kind": "pairs", "text_pair": "b", "score": "s"}, field="a")  # fmt: skip


def test_pairs_from_parquet_write_both_sides(tmp_path: Path, model_dir: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    source = tmp_path / "pairs.parquet"
    table = {
        "a": ["the model reads", "the river"],
        "b": ["a cat", "the river finds"],
        "s": [1, 4.5],
    }
    pq.write_table(pa.table(table), source)
    _, out = run_dataset(tmp_path, model_dir, source, "parquet",
                         {"kind": "pairs", "text_pair": "b", "score": "s"}, field="a")  # fmt: skip
    assert json.loads((out / LABELS_FILE).read_text())["scores"] == [1.0, 4.5]
    first, second = dataset.load_samples(out), dataset.load_samples(out / PAIR_DIR)
    assert len(first) == len(second) == 2


def test_qa_offsets_point_into_the_context(tmp_path: Path, model_dir: Path) -> None:
    source = tmp_path / "qa.jsonl"
    record = {"q": "who reads?", "c": "the model reads a letter.", "a": ["the model"]}
    source.write_text(json.dumps(record) + "\n")
    _, out = run_dataset(tmp_path, model_dir, source, "jsonl",
                         {"kind": "qa", "question": "q", "context": "c", "answer": "a"})  # fmt: skip
    row = json.loads((out / LABELS_FILE).read_text())["rows"][0]
    spans = [s for s in row["offsets"] if s is not None]
    assert spans and all(0 <= a < b <= len(record["c"]) for a, b in spans)
    assert row["offsets"][0] is None  # [CLS] and the question are not answer positions
    assert record["c"][spans[0][0] : spans[-1][1]] == "the model reads a letter."


def test_spearman_fallback_matches_scipy_with_ties() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=40).astype(float).tolist()  # many ties
    y = (np.array(x) + rng.normal(0, 2, size=40)).round(0).tolist()
    expected = scipy_stats.spearmanr(x, y).statistic
    assert task_metrics.spearman_exact(x, y) == pytest.approx(expected, abs=1e-12)
    assert task_metrics.spearman(x, y) == pytest.approx(expected, abs=1e-12)
    assert task_metrics.spearman_exact([1, 1, 1], [1, 2, 3]) is None  # undefined: constant


def test_squad_normalisation_and_scores() -> None:
    assert task_metrics.normalize_answer("The  Green-Door!") == "greendoor"
    gold = {"kind": "qa", "rows": [{"answers": ["the green door", "green door"]},
                                   {"answers": ["three red apples"]}]}  # fmt: skip
    figures = task_metrics.score(gold, ["Green door.", "red apples"])
    assert figures["exact_match"] == pytest.approx(0.5)
    assert figures["f1"] == pytest.approx((1.0 + 0.8) / 2)  # 2 of 3 tokens: P 1, R 2/3


def test_best_span_keeps_start_before_end_and_inside_the_context() -> None:
    start = np.array([9.0, 0.0, 1.0, 5.0, 0.0])
    end = np.array([9.0, 3.0, 0.0, 0.0, 2.0])
    # position 0 is not context; an end before the start is never chosen
    assert task_metrics.best_span(start, end, [1, 2, 3, 4]) == (3, 4)
    assert task_metrics.best_span(start, end, []) is None
