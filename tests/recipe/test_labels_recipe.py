"""Label columns of a ``data:`` entry (issue 19 §4): a bad combination is exit 2 at the
position of the key at fault, with a hint; labels key the dataset and so the evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
from recipes_util import write

from runner.cli.main import main
from runner.session import open_session

HEADER = "sentence,sentiment,other\nthe model reads,positive,x\n"


def recipe(tmp: Path, data: str, task: str = "text-classification", extra: str = "") -> Path:
    write(tmp / "set.csv", HEADER)
    write(tmp / "plain.txt", "the model reads\n")
    (tmp / "model").mkdir(exist_ok=True)
    (tmp / "model" / "config.json").write_text('{"model_type": "bert"}')
    return write(
        tmp / "r.yaml",
        f"""
        version: 1
        name: r
        model:
          source: {{path: model}}
          task: {task}
        data:
          gold: {data}
        variants:
          fp32: {{}}
          w8: {{compress_weights: {{mode: int8_asym}}}}
        evaluate: {{dataset: gold, reference: fp32}}
        {extra}
        """,
    )


def refused(capsys, path: Path) -> str:
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("hint: "), lines
    return lines[0]


CASES = [
    # (data entry, task, extra, "LINE:COL" of the key (or value) at fault, message part);
    # line 7 is the `gold:` entry, line 12 the assert: line
    ("{text: plain.txt, label: sentiment}", "text-classification", "",
     "7:27", "label columns need a source with columns, not text"),
    ("{csv: set.csv, field: sentence, text_pair: other}", "feature-extraction", "",
     "7:41", "text_pair needs score too"),
    ("{csv: set.csv, field: sentence, label: sentiment, question: other}",
     "text-classification", "", "7:59", "mixes classification and qa label columns"),
    ("{csv: set.csv, field: sentence, label: sentiment}", "feature-extraction", "",
     "7:41", "classification labels need model.task text-classification"),
    ("{csv: set.csv, field: sentence, label: sentence}", "text-classification", "",
     "7:48", "label names the text column 'sentence'"),
    ("{csv: set.csv, field: sentence, label: 3}", "text-classification", "",
     "7:48", "expected string"),
    ("{csv: set.csv, field: sentence, label: sentiment}", "text-classification",
     'assert: ["w8.spearman >= 0.5"]', "12:11", "w8.spearman needs a labelled evaluation set"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "task", "extra", "where", "message"), CASES)
def test_bad_label_config_is_exit_2_at_its_position(
    tmp_path: Path, capsys, data: str, task: str, extra: str, where: str, message: str
) -> None:
    line = refused(capsys, recipe(tmp_path, data, task, extra))
    assert f"r.yaml:{where}: error: " in line, line
    assert message in line, line


def test_a_valid_labelled_set_validates(tmp_path: Path, capsys) -> None:
    path = recipe(
        tmp_path,
        "{csv: set.csv, field: sentence, label: sentiment}",
        extra='assert: ["w8.accuracy >= fp32.accuracy - 0.01"]',
    )
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def keys(path: Path, cache: Path) -> dict[str, str]:
    tasks = open_session(path, cache, probe_devices=False).plan.tasks
    return {tid: tasks[tid].key for tid in ("data:gold", "eval:w8")}


def test_label_column_and_label_data_key_the_evaluation(tmp_path: Path) -> None:
    """The evaluate op's key covers the label data: the column choice and the file's bytes
    (through the dataset task, whose key is part of the evaluation's)."""
    cache = tmp_path / "cache"
    path = recipe(tmp_path, "{csv: set.csv, field: sentence, label: sentiment}")
    first = keys(path, cache)
    path.write_text(path.read_text().replace("label: sentiment", "label: other"))
    other_column = keys(path, cache)
    assert all(first[t] != other_column[t] for t in first)
    path.write_text(path.read_text().replace("label: other", "label: sentiment"))
    assert keys(path, cache) == first  # back to the same choice: the same keys
    (tmp_path / "set.csv").write_text(HEADER.replace("positive", "negative"))
    assert all(first[t] != k for t, k in keys(path, cache).items())
