"""Task metrics against labels (``runner.adapters.labelled``), for one compiled model.

Beside the agreement figures (how closely a variant follows the reference), a labelled set
measures the task itself, for the reference and every variant alike:

- classification: accuracy, the share of samples whose argmax class is the gold label;
- pairs: Spearman correlation between the gold scores and the cosine similarity of the two
  sentences' embeddings (attention-masked mean of the last hidden state);
- qa: SQuAD exact match and F1 (answers normalised: lower case, no punctuation, no articles
  a/an/the, single spaces), the best span of the context with start <= end < start + 30.

All figures are fractions in [0, 1] (Spearman in [-1, 1]) so ``max_drop`` reads the same
way for every metric. ``predict`` returns the per-sample predictions (saved beside the
result, so the figures can be recomputed from them) and ``score`` turns them into figures.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_ANSWER_TOKENS = 30  # the longest span considered, as the SQuAD reference scripts do


def _classes(model: Any, batches: list, gold: dict[str, Any], pair: list | None) -> list:
    out: list[int] = []
    for batch in batches:
        logits = model.output_of(batch)  # [batch, classes]
        out.extend(int(c) for c in logits.reshape(logits.shape[0], -1).argmax(axis=-1))
    return out


def _embeddings(model: Any, batches: list) -> np.ndarray:
    rows = []
    for batch in batches:
        hidden = model.output_of(batch)  # [batch, tokens, hidden]
        weights = batch["attention_mask"].astype(np.float64)[..., None]
        rows.append((hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0))
    return np.concatenate(rows)


def _cosines(model: Any, batches: list, gold: dict[str, Any], pair: list | None) -> list:
    a, b = _embeddings(model, batches), _embeddings(model, pair or [])
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = (a * b).sum(axis=1)
    return [float(d / n) if n else 0.0 for d, n in zip(dots, norms, strict=True)]


def best_span(start: np.ndarray, end: np.ndarray, allowed: list[int]) -> tuple[int, int] | None:
    """The (start, end) token pair over ``allowed`` positions with the highest summed logit."""
    best, where = -np.inf, None
    allowed_set = set(allowed)
    for s in allowed:
        for e in range(s, s + MAX_ANSWER_TOKENS):
            if e in allowed_set and start[s] + end[e] > best:
                best, where = start[s] + end[e], (s, e)
    return where


def _answers(model: Any, batches: list, gold: dict[str, Any], pair: list | None) -> list:
    out: list[str] = []
    row = 0
    for batch in batches:
        starts = model.output_of(batch)  # [batch, tokens]
        ends = model.named_output("end_logits")
        for i in range(starts.shape[0]):
            record = gold["rows"][row]
            offsets = record["offsets"][: starts.shape[1]]
            allowed = [j for j, span in enumerate(offsets) if span is not None]
            span = best_span(starts[i], ends[i], allowed)
            if span is None:
                out.append("")
            else:
                out.append(record["context"][offsets[span[0]][0] : offsets[span[1]][1]])
            row += 1
    return out


_PREDICT: dict[str, Callable[[Any, list, dict, list | None], list]] = {
    "classification": _classes,
    "pairs": _cosines,
    "qa": _answers,
}


def predict(model: Any, batches: list, gold: dict[str, Any], pair: list | None) -> list:
    """One prediction per sample row: a class id, a cosine similarity or an answer text."""
    return _PREDICT[gold["kind"]](model, batches, gold, pair)


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    ordered = values[order]
    start = 0
    while start < len(values):
        stop = start
        while stop + 1 < len(values) and ordered[stop + 1] == ordered[start]:
            stop += 1
        ranks[order[start : stop + 1]] = (start + stop) / 2.0 + 1.0
        start = stop + 1
    return ranks


def spearman_exact(x: list[float], y: list[float]) -> float | None:
    """Pearson correlation of the average ranks; None when either side is constant."""
    rx, ry = _ranks(np.asarray(x, dtype=np.float64)), _ranks(np.asarray(y, dtype=np.float64))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = float(np.sqrt((rx * rx).sum() * (ry * ry).sum()))
    return float((rx * ry).sum() / denominator) if denominator else None


def spearman(x: list[float], y: list[float]) -> float | None:
    """scipy's spearmanr when scipy is installed (it is not a dependency), else the exact
    rank computation above; both give the tie-corrected coefficient."""
    if len(x) < 2:
        return None
    try:
        from scipy.stats import spearmanr
    except ImportError:
        return spearman_exact(x, y)
    value = float(spearmanr(x, y).statistic)
    return None if np.isnan(value) else value


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalisation: lower case, drop punctuation and articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _f1(prediction: str, answer: str) -> float:
    got, want = normalize_answer(prediction).split(), normalize_answer(answer).split()
    common = sum((Counter(got) & Counter(want)).values())
    if not got or not want:
        return float(got == want)
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def score(gold: dict[str, Any], predictions: list) -> dict[str, Any]:
    """The task figures of one model's predictions."""
    kind = gold["kind"]
    if kind == "classification":
        hits = [int(p == g) for p, g in zip(predictions, gold["labels"], strict=True)]
        return {"accuracy": sum(hits) / len(hits)}
    if kind == "pairs":
        return {"spearman": spearman(predictions, gold["scores"])}
    em, f1 = [], []
    for prediction, record in zip(predictions, gold["rows"], strict=True):
        answers = record["answers"]
        em.append(max(float(normalize_answer(prediction) == normalize_answer(a)) for a in answers))
        f1.append(max(_f1(prediction, a) for a in answers))
    return {"exact_match": sum(em) / len(em), "f1": sum(f1) / len(f1)}
