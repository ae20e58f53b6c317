"""The ``dataset`` op: a ``data:`` entry to ready model inputs for calibration and evaluation.

Sources (``params["format"]``): the text formats of :mod:`runner.adapters.sources`
(tokenized with the model's tokenizer), ``npz`` (arrays that are already token ids) and
``synthetic`` (seeded random token ids of a fixed length, for tests and smoke runs).

``out/samples.npz`` holds int64 arrays ``input_ids``, ``attention_mask`` and, when the
source has them, ``token_type_ids``, all shaped [N, L]: right-padded to the longest sample
(``padding: longest``) or to ``max_length`` (``padding: max_length``, static shapes).
``out/dataset.json`` records the padding policy and batch size; :func:`load_samples`
reads both back and yields one feed-ready item per batch.

Models whose inputs are not token ids take *tensors* (``"tensors": true`` in dataset.json):
``samples.npz`` then holds one array per model input, named as the input, rows first
([N, ...], any dtype), from an ``npz`` without ``input_ids`` or from ``synthetic`` with a
``dtype`` (seeded uniform values shaped by model.shapes). Items are rows ``batch`` at a time.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from runner.adapters.sources import TEXT_FORMATS, select_texts
from runner.adapters.token_arrays import RaggedTokens
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext

SAMPLES_FILE = "samples.npz"
LAYOUT_FILE = "dataset.json"
_KEYS = ("input_ids", "attention_mask", "token_type_ids")
_FALLBACK_MAX_LENGTH = 512  # when neither the recipe nor the tokenizer gives a usable limit
PADDINGS = ("longest", "max_length")
# A line is cut to this many characters per max_length token before tokenizing: no tokenizer
# spends more characters on one token, so the first max_length tokens are unchanged.
CHARS_PER_TOKEN = 64
_TOKENIZE_CHUNK = 4096


def run(ctx: TaskContext) -> dict:
    params = ctx.params
    fmt = params.get("format", "text")
    count = int(params.get("samples", 0))
    if count < 1:
        raise OvrunError(f"dataset samples must be at least 1, got {count}", hint="set samples: N")
    padding = params.get("padding", "longest")
    if padding not in PADDINGS:
        raise OvrunError(f"unknown padding {padding!r}", hint=f"use one of {', '.join(PADDINGS)}")
    batch = int(params.get("batch", 1))
    if batch < 1:
        raise OvrunError(f"dataset batch must be at least 1, got {batch}", hint="e.g. batch: 1")

    layout = {"padding": padding, "batch": batch}
    tensors = _tensors(ctx, fmt, count)
    if tensors is not None:
        arrays, summary = tensors
        np.savez(ctx.out / SAMPLES_FILE, **arrays)
        layout["tensors"] = True
        (ctx.out / LAYOUT_FILE).write_text(json.dumps(layout), encoding="utf-8")
        rows = len(next(iter(arrays.values())))
        return {
            "format": fmt,
            "samples": rows,
            "batches": -(-rows // batch),
            **layout,
            **summary,
            "shapes": {name: list(values.shape[1:]) for name, values in arrays.items()},
            "keys": sorted(arrays),
        }
    if params.get("labels"):  # a labelled test set: tokens plus labels.json
        tokens, width, summary = _from_labelled(ctx, padding, layout)
        tokens.write_npz(ctx.out / SAMPLES_FILE, width)
        lengths, keys = tokens.all_lengths(), tokens.keys()
    elif fmt in TEXT_FORMATS:  # streamed into samples.npz: never padded in memory
        tokens, width, summary = _from_text(ctx, fmt, count, padding)
        tokens.write_npz(ctx.out / SAMPLES_FILE, width)
        lengths, keys = tokens.all_lengths(), tokens.keys()
    else:
        if fmt == "npz":
            arrays, summary = _from_npz(ctx, count, padding)
        elif fmt == "synthetic":
            arrays, summary = _synthetic(ctx, count)
        else:
            known = ", ".join((*TEXT_FORMATS, "npz", "synthetic"))
            raise OvrunError(f"dataset format {fmt!r} is not supported", hint=f"use one of {known}")
        np.savez(ctx.out / SAMPLES_FILE, **arrays)
        lengths, keys = arrays["attention_mask"].sum(axis=1), list(arrays)
        width = int(arrays["input_ids"].shape[1])
    (ctx.out / LAYOUT_FILE).write_text(json.dumps(layout), encoding="utf-8")
    rows = len(lengths)
    return {
        "format": fmt,
        "samples": rows,
        "batches": -(-rows // batch),
        **layout,
        "padded_length": width,
        "mean_length": float(lengths.mean()),
        **summary,
        "keys": sorted(keys),
    }


def load_samples(dataset_dir: Path) -> list[dict[str, np.ndarray]]:
    """One dict per batch, each array shaped [batch, length].

    ``padding: longest`` trims every batch to its longest sample (batch 1: no padding at
    all); ``padding: max_length`` keeps the stored static width."""
    path = Path(dataset_dir) / SAMPLES_FILE
    if not path.is_file():
        raise OvrunError(f"no {SAMPLES_FILE} in {dataset_dir}", hint="run the dataset task first")
    layout_file = Path(dataset_dir) / LAYOUT_FILE
    layout = (
        json.loads(layout_file.read_text(encoding="utf-8"))
        if layout_file.is_file()
        else {"padding": "longest", "batch": 1}
    )
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    batch = int(layout.get("batch", 1))
    if layout.get("tensors"):  # named input tensors, rows first: no padding to trim
        rows = len(next(iter(arrays.values())))
        return [
            {key: values[start : start + batch] for key, values in arrays.items()}
            for start in range(0, rows, batch)
        ]
    lengths = arrays["attention_mask"].sum(axis=1)
    static = layout.get("padding") == "max_length"
    items = []
    for start in range(0, len(lengths), batch):
        stop = start + batch
        width = arrays["input_ids"].shape[1] if static else int(lengths[start:stop].max())
        items.append({key: values[start:stop, :width] for key, values in arrays.items()})
    return items


def _tensors(ctx: TaskContext, fmt: str, count: int) -> tuple[dict, dict] | None:
    """Input tensors for a model that does not take token ids; None for token data."""
    params = ctx.params
    spec = params.get("synthetic") or {}
    if fmt == "synthetic" and "dtype" in spec:
        rng = np.random.default_rng(int(params.get("seed", 0)))
        arrays = {
            name: rng.uniform(spec["low"], spec["high"], size=(count, *dims)).astype(spec["dtype"])
            for name, dims in sorted(spec["shapes"].items())
        }
        ctx.log(f"synthetic: {count} rows of {', '.join(sorted(arrays))} ({spec['dtype']})")
        return arrays, {"dtype": spec["dtype"]}
    if fmt != "npz":
        return None
    stored = _read_npz(Path(ctx.files["source"]))
    if "input_ids" in stored:
        return None
    source = Path(ctx.files["source"])
    if not stored:
        raise OvrunError(f"{source} holds no arrays", hint="save inputs with numpy.savez")
    counts = {name: values.shape[0] if values.ndim else 0 for name, values in stored.items()}
    if len(set(counts.values())) != 1 or 0 in counts.values():
        shown = ", ".join(f"{name} {list(stored[name].shape)}" for name in sorted(stored))
        raise OvrunError(
            f"{source}: input arrays must share their first (row) dimension, got {shown}",
            hint="store each model input as [samples, ...] with the same number of samples",
        )
    rows = _select(
        list(range(next(iter(counts.values())))),
        count,
        params.get("shuffle", False),
        int(params.get("seed", 0)),
    )
    arrays = {name: values[rows] for name, values in sorted(stored.items())}
    return arrays, {"source_lines": next(iter(counts.values()))}


def _read_npz(source: Path) -> dict[str, np.ndarray]:
    try:
        # allow_pickle stays off: object arrays would unpickle code from the file
        with np.load(source) as data:
            return {key: np.asarray(data[key]) for key in data.files}
    except (OSError, ValueError) as err:
        raise OvrunError(
            f"cannot read {source} as .npz ({type(err).__name__})", hint="save with numpy.savez"
        ) from err


def _select(items: list, count: int, shuffle: bool, seed: int) -> list:
    if shuffle:
        items = list(items)
        random.Random(seed).shuffle(items)
    return items[:count]


def _from_text(
    ctx: TaskContext, fmt: str, count: int, padding: str
) -> tuple[RaggedTokens, int, dict]:
    """The chosen samples tokenized (ragged), the padded width, and the summary."""
    params = ctx.params
    tokenizer = _load_tokenizer(ctx.model_dir("model"))
    max_length = _max_length(params.get("max_length"), tokenizer)
    chosen, total = select_texts(
        fmt,
        Path(ctx.files["source"]),
        params.get("field", "text"),
        params.get("split"),
        count,
        params.get("shuffle", False),
        int(params.get("seed", 0)),
        max_chars=max_length * CHARS_PER_TOKEN,
    )
    tokens = RaggedTokens(tokenizer.pad_token_id or 0)
    truncated = 0
    for start in range(0, len(chosen), _TOKENIZE_CHUNK):
        part = chosen[start : start + _TOKENIZE_CHUNK]
        tokens.add(tokenizer(part, truncation=True, max_length=max_length))
        # one token more tells whether truncation cut anything (also bounded)
        longer = tokenizer(part, truncation=True, max_length=max_length + 1)["input_ids"]
        truncated += sum(len(ids) > max_length for ids in longer)
        chosen[start : start + _TOKENIZE_CHUNK] = [""] * len(part)  # the text is done with
    lengths = tokens.all_lengths()
    width = max_length if padding == "max_length" else int(lengths.max())
    ctx.log(f"tokenized {len(chosen)} of {total} {fmt} samples (max_length {max_length})")
    summary = {"max_length": max_length, "truncated": truncated, "source_lines": total}
    return tokens, width, summary


def _from_labelled(ctx: TaskContext, padding: str, layout: dict) -> tuple[RaggedTokens, int, dict]:
    """A labelled set (runner.adapters.labelled); a pair set's second sentences are written
    to pair/ in the same layout, so load_samples reads them back batch for batch."""
    from runner.adapters.labelled import PAIR_DIR, tokenize_labelled

    tokenizer = _load_tokenizer(ctx.model_dir("model"))
    max_length = _max_length(ctx.params.get("max_length"), tokenizer)
    tokens, summary, pair = tokenize_labelled(
        ctx.params,
        Path(ctx.files["source"]),
        ctx.model_dir("model"),
        tokenizer,
        max_length,
        ctx.out,
        ctx.log,
    )
    if pair is not None:
        (ctx.out / PAIR_DIR).mkdir()
        pair_width = max_length if padding == "max_length" else int(pair.all_lengths().max())
        pair.write_npz(ctx.out / PAIR_DIR / SAMPLES_FILE, pair_width)
        (ctx.out / PAIR_DIR / LAYOUT_FILE).write_text(json.dumps(layout), encoding="utf-8")
    width = max_length if padding == "max_length" else int(tokens.all_lengths().max())
    return tokens, width, summary


def _from_npz(ctx: TaskContext, count: int, padding: str) -> tuple[dict[str, np.ndarray], dict]:
    """Ready token ids: select rows, cut to max_length, keep (or add) the attention mask."""
    params = ctx.params
    source = Path(ctx.files["source"])
    stored = _read_npz(source)
    if "input_ids" not in stored:
        raise OvrunError(
            f"{source} has no input_ids array ({len(stored)} other arrays)",
            hint="npz: takes arrays input_ids [N, L] and optionally attention_mask, token_type_ids",
        )
    ids = stored["input_ids"]
    if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
        raise OvrunError(
            f"{source}: input_ids must be a 2-D integer array, got {ids.dtype} {list(ids.shape)}",
            hint="store token ids shaped [samples, length]",
        )
    arrays = {key: stored[key].astype(np.int64) for key in _KEYS if key in stored}
    for key, values in arrays.items():
        if values.shape != ids.shape:
            raise OvrunError(
                f"{source}: {key} is {list(values.shape)}, input_ids is {list(ids.shape)}",
                hint="every array must have the shape of input_ids",
            )
    arrays.setdefault("attention_mask", np.ones_like(arrays["input_ids"]))
    rows = _select(
        list(range(ids.shape[0])), count, params.get("shuffle", False), int(params.get("seed", 0))
    )
    max_length = int(params.get("max_length") or ids.shape[1])
    arrays = {key: values[rows, :max_length] for key, values in arrays.items()}
    if padding == "max_length" and arrays["input_ids"].shape[1] < max_length:
        extra = max_length - arrays["input_ids"].shape[1]
        arrays = {key: np.pad(values, ((0, 0), (0, extra))) for key, values in arrays.items()}
    # A sample's real tokens must come first: load_samples trims by the mask's row sums.
    mask = arrays["attention_mask"]
    real = mask.sum(axis=1)
    if any(mask[row, : real[row]].min(initial=1) == 0 for row in range(mask.shape[0])):
        raise OvrunError(
            f"{source}: attention_mask has padding before real tokens",
            hint="store samples right-padded (mask 1...1 0...0)",
        )
    return arrays, {"max_length": max_length, "source_lines": int(ids.shape[0])}


def _synthetic(ctx: TaskContext, count: int) -> tuple[dict[str, np.ndarray], dict]:
    """Seeded random ids in [0, vocab) with a full mask: shapes and ranges only, no meaning."""
    params = ctx.params
    spec = params.get("synthetic") or {}
    length = int(spec.get("length", params.get("max_length") or 32))
    vocab = spec.get("vocab_size") or _vocab_size(ctx.model_dir("model"))
    rng = np.random.default_rng(int(params.get("seed", 0)))
    ids = rng.integers(0, int(vocab), size=(count, length), dtype=np.int64)
    ctx.log(f"synthetic: {count} samples of {length} random ids below {vocab}")
    return {"input_ids": ids, "attention_mask": np.ones_like(ids)}, {
        "max_length": length,
        "vocab_size": int(vocab),
    }


def _vocab_size(model_dir: Path) -> int:
    config = model_dir / "config.json"
    try:
        vocab = json.loads(config.read_text(encoding="utf-8")).get("vocab_size")
    except (OSError, ValueError):
        vocab = None
    if not isinstance(vocab, int) or vocab < 1:
        raise OvrunError(
            f"cannot read vocab_size from {config}",
            hint="set synthetic: {length: N, vocab_size: V}",
        )
    return vocab


def _load_tokenizer(model_dir: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    except (OSError, ValueError, KeyError) as err:
        raise OvrunError(
            f"cannot load a tokenizer from {model_dir}",
            hint="the model must ship tokenizer files (tokenizer.json / tokenizer_config.json)",
        ) from err


def _max_length(requested: int | None, tokenizer) -> int:
    if requested is not None:
        if int(requested) < 1:
            raise OvrunError(f"max_length must be at least 1, got {requested}", hint="e.g. 128")
        return int(requested)
    # Tokenizers without a limit report a huge sentinel as model_max_length.
    limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if limit and limit <= 100_000 else _FALLBACK_MAX_LENGTH
