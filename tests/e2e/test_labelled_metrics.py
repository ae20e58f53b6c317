"""Task accuracy against labels (issue 19 §4), end to end on tiny random models: a labelled
classification set (accuracy), a QA set (exact match / F1) and sentence pairs with gold
scores (Spearman), each run through ``ovrun`` with a real int4 variant.

The figures are what the models make of the sets; the tests recompute each from the
per-sample predictions the evaluation saves, with the gold side read from the data file
here (label names mapped through the model's config, SQuAD normalisation and ranks written
out below), and check the gates: once on the given labels, then on labels equal to the
reference's own predictions (the reference scores 1.0, so any change the compression makes
is a drop), where ``max_drop: 0`` and an ``assert:`` fail with a clear message and a max_drop
at the measured drop passes."""

from __future__ import annotations

import csv
import json
import re
import shutil
import string
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from recipes_util import REPO, write
from tiny_models import make_tiny_bert, make_tiny_classifier, make_tiny_qa

from runner.cache.store import Cache
from runner.cli.main import main

DATA = REPO / "tests" / "data" / "labels"
INT4 = "compress_weights: {mode: int4_sym, ratio: 1.0, group_size: -1, all_layers: true}"

KINDS = {
    "classification": {
        "task": "text-classification",
        "file": "classification.csv",
        "data": "csv: classification.csv, field: sentence, label: sentiment",
        "metrics": ["accuracy"],
    },
    "qa": {
        "task": "question-answering",
        "file": "qa.jsonl",
        "data": "jsonl: qa.jsonl, question: question, context: context, answer: answers",
        "metrics": ["f1", "exact_match"],
    },
    "pairs": {
        "task": "feature-extraction",
        "file": "pairs.jsonl",
        "data": "jsonl: pairs.jsonl, field: s1, text_pair: s2, score: gold",
        "metrics": ["spearman"],
    },
}


# --- independent computations ---------------------------------------------------------------


def squad_normalize(text: str) -> str:
    """The SQuAD v1.1 evaluation script's normalize_answer, step by step."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def squad_f1(prediction: str, truth: str) -> float:
    pred, gold = squad_normalize(prediction).split(), squad_normalize(truth).split()
    if not pred or not gold:
        return float(pred == gold)
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    p, r = same / len(pred), same / len(gold)
    return 2 * p * r / (p + r)


def average_ranks(values: list[float]) -> list[float]:
    ranks = [0.0] * len(values)
    order = sorted(range(len(values)), key=lambda i: values[i])
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def pearson(x: list[float], y: list[float]) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    vx = sum((a - mx) ** 2 for a in x)
    vy = sum((b - my) ** 2 for b in y)
    return cov / (vx * vy) ** 0.5


def gold_of(kind: str, project: Path, model: Path) -> list:
    """The gold side, read from the data file the recipe names."""
    path = project / KINDS[kind]["file"]
    if kind == "classification":
        config = json.loads((model / "config.json").read_text())
        ids = {name: int(i) for i, name in config["id2label"].items()}
        labels = [row["sentiment"] for row in csv.DictReader(path.open())]
        return [ids[v] if v in ids else int(v) for v in labels]
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if kind == "qa":
        return [r["answers"] for r in records]
    return [float(r["gold"]) for r in records]


def recompute(kind: str, predictions: list, gold: list) -> dict[str, float]:
    if kind == "classification":
        return {"accuracy": sum(p == g for p, g in zip(predictions, gold, strict=True)) / len(gold)}
    if kind == "qa":
        em = [max(squad_normalize(p) == squad_normalize(a) for a in answers)
              for p, answers in zip(predictions, gold, strict=True)]  # fmt: skip
        f1 = [
            max(squad_f1(p, a) for a in answers)
            for p, answers in zip(predictions, gold, strict=True)
        ]
        return {"exact_match": sum(em) / len(em), "f1": sum(f1) / len(f1)}
    return {"spearman": pearson(average_ranks(predictions), average_ranks(gold))}


# --- projects and runs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    texts = [row["sentence"] for row in csv.DictReader((DATA / "classification.csv").open())]
    return {
        "classification": make_tiny_classifier(tmp_path_factory.mktemp("cls"), texts),
        "qa": make_tiny_qa(tmp_path_factory.mktemp("qa")),
        # embeddings spread wider than BERT's 0.02 initialisation gives: int4 can reorder pairs
        "pairs": make_tiny_bert(tmp_path_factory.mktemp("enc"), initializer_range=0.2),
    }


def project(root: Path, kind: str, model: Path) -> Path:
    shutil.copytree(model, root / "model")
    shutil.copy(DATA / KINDS[kind]["file"], root / KINDS[kind]["file"])
    return root


def recipe(root: Path, kind: str, max_drop: float, asserts: list[str] = ()) -> Path:
    lines = "".join(f"\n  - {json.dumps(a)}" for a in asserts)
    body = textwrap.dedent(
        f"""
        version: 1
        name: {kind}
        model:
          source: {{path: model}}
          task: {KINDS[kind]["task"]}
        data:
          gold: {{{KINDS[kind]["data"]}, samples: 20, max_length: 48}}
        variants:
          fp32: {{}}
          int4: {{{INT4}}}
        benchmark: {{duration_s: 0.1, warmup: 1, seq_len: 16, repeats: 1}}
        evaluate: {{dataset: gold, reference: fp32, max_drop: {max_drop}}}
        """
    )
    return write(root / "r.yaml", body + (f"assert:{lines}\n" if asserts else ""))


def run(root: Path, capsys) -> tuple[int, str, dict]:
    rc = main(["run", str(root / "r.yaml"), "--cache-dir", str(root / "cache")])
    out = capsys.readouterr()
    name = re.search(r"^name: (\S+)", (root / "r.yaml").read_text(), re.M)[1]
    results = json.loads((root / f"{name}.out" / "results.json").read_text())
    return rc, out.out + out.err, results


def predictions(root: Path, results: dict) -> dict:
    key = results["run"]["tasks"]["eval:int4"]["key"]
    return json.loads((Cache(root / "cache").out_dir(key) / "predictions.json").read_text())


def relabel(root: Path, kind: str, reference: list) -> None:
    """Rewrite the gold side as the reference's own predictions."""
    path = root / KINDS[kind]["file"]
    if kind == "classification":
        rows = list(csv.DictReader(path.open()))
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["sentence", "sentiment"])
            writer.writeheader()
            for row, label in zip(rows, reference, strict=True):
                writer.writerow({"sentence": row["sentence"], "sentiment": label})
        return
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for record, value in zip(records, reference, strict=True):
        if kind == "qa":
            record["answers"] = [value]
        else:
            record["gold"] = value
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.mark.slow  # three short ovrun runs per kind on tiny models
@pytest.mark.parametrize("kind", list(KINDS))
def test_labelled_metrics_and_gates(kind: str, models, tmp_path: Path, capsys) -> None:
    root = project(tmp_path, kind, models[kind])
    metrics = KINDS[kind]["metrics"]
    primary = metrics[0]

    # 1. the given labels: figures for both variants, recomputed from the saved predictions
    recipe(root, kind, max_drop=1.0, asserts=[f"fp32.{primary} >= -1"])
    rc, out, results = run(root, capsys)
    assert rc == 0, out
    ev = results["evaluations"]["int4"]
    block = ev["task_metrics"]
    saved = predictions(root, results)
    gold = gold_of(kind, root, models[kind])
    assert block["kind"] == kind and block["samples"] == len(gold) == len(saved["reference"])
    for role, figures in (("reference", block["reference"]), ("deployed", block["deployed"])):
        expected = recompute(kind, saved[role], gold)
        for name in metrics:
            assert figures[name] == pytest.approx(expected[name], abs=1e-9), (role, name)
    assert block["drop"][primary] == pytest.approx(
        block["reference"][primary] - block["deployed"][primary]
    )
    assert f"labelled {kind} set" in out  # the line under the table names every variant
    assert results["asserts"][0]["passed"] is True

    # 2. gold := the reference's predictions: the reference is perfect, the variant drops
    relabel(root, kind, saved["reference"])
    recipe(root, kind, 0.0, [f"int4.{primary} >= fp32.{primary}", f"fp32.{primary} >= 0.999"])
    rc, out, results = run(root, capsys)
    block = results["evaluations"]["int4"]["task_metrics"]
    assert block["reference"][primary] == pytest.approx(1.0)
    drop = block["drop"][primary]
    saved = predictions(root, results)
    assert saved["deployed"] != saved["reference"], "the int4 variant changed no prediction"
    assert drop > 0, block
    gate = results["gates"][0]
    assert gate["metric"] == primary and gate["passed"] is False
    assert gate["reference_value"] == pytest.approx(1.0)
    assert rc != 0
    assert f"gate FAILED: int4 {primary}" in out and f"drop {drop:.4f}, max_drop 0.0" in out
    assert "accuracy gate failed: int4 over evaluate.max_drop 0.0" in out
    verdicts = [a["passed"] for a in results["asserts"]]
    assert verdicts == [False, True]  # the variant is below the reference; the reference is 1.0
    assert f"error: assert failed: int4.{primary} >= fp32.{primary}" in out

    # 3. max_drop at the measured drop: the same figures pass
    recipe(root, kind, max_drop=float(f"{drop + 5e-5:.4f}"))
    rc, out, results = run(root, capsys)
    assert rc == 0, out
    assert results["gates"][0]["passed"] is True and f"gate passed: int4 {primary}" in out
