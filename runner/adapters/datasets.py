"""The ``dataset`` op: text lines to tokenized samples for calibration and evaluation.

``out/samples.npz`` holds int64 arrays ``input_ids``, ``attention_mask`` and, when the
tokenizer makes them, ``token_type_ids``, all shaped [N, L]: right-padded to the longest
sample (L <= max_length). :func:`load_samples` reads them back one unpadded sample at a time.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from runner.adapters.context import TaskContext
from runner.errors import OvrunError

SAMPLES_FILE = "samples.npz"
_KEYS = ("input_ids", "attention_mask", "token_type_ids")
_FALLBACK_MAX_LENGTH = 512  # when neither the recipe nor the tokenizer gives a usable limit


def run(ctx: TaskContext) -> dict:
    params = ctx.params
    fmt = params.get("format", "text")
    if fmt != "text":
        raise OvrunError(f"dataset format {fmt!r} is not supported", hint="use format: text")
    count = int(params.get("samples", 0))
    if count < 1:
        raise OvrunError(f"dataset samples must be at least 1, got {count}", hint="set samples: N")

    lines = _read_lines(Path(ctx.files["source"]))
    chosen = _select(lines, count, params.get("shuffle", False), int(params.get("seed", 0)))
    tokenizer = _load_tokenizer(ctx.model_dir("model"))
    max_length = _max_length(params.get("max_length"), tokenizer)

    encoded = tokenizer(chosen, truncation=True, max_length=max_length)
    full_lengths = [len(ids) for ids in tokenizer(chosen, truncation=False)["input_ids"]]
    arrays = _pad_right(encoded, tokenizer.pad_token_id)
    np.savez(ctx.out / SAMPLES_FILE, **arrays)

    lengths = arrays["attention_mask"].sum(axis=1)
    ctx.log(f"tokenized {len(chosen)} of {len(lines)} lines (max_length {max_length})")
    return {
        "samples": len(chosen),
        "max_length": max_length,
        "padded_length": int(arrays["input_ids"].shape[1]),
        "mean_length": float(lengths.mean()),
        "truncated": sum(length > max_length for length in full_lengths),
        "source_lines": len(lines),
        "keys": sorted(arrays),
    }


def load_samples(dataset_dir: Path) -> list[dict[str, np.ndarray]]:
    """One dict per sample, each array shaped [1, real_length] with the padding trimmed."""
    path = Path(dataset_dir) / SAMPLES_FILE
    if not path.is_file():
        raise OvrunError(f"no {SAMPLES_FILE} in {dataset_dir}", hint="run the dataset task first")
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    lengths = arrays["attention_mask"].sum(axis=1)
    return [
        {key: values[row : row + 1, : int(length)] for key, values in arrays.items()}
        for row, length in enumerate(lengths)
    ]


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise OvrunError(f"dataset file {path} does not exist", hint="check the data path") from err
    except UnicodeDecodeError as err:
        raise OvrunError(
            f"dataset file {path} is not UTF-8 text (byte {err.start})",
            hint="save it as UTF-8, one sample per line",
        ) from err
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise OvrunError(f"dataset file {path} has no text lines", hint="put one sample per line")
    return lines


def _select(lines: list[str], count: int, shuffle: bool, seed: int) -> list[str]:
    if shuffle:
        lines = list(lines)
        random.Random(seed).shuffle(lines)
    return lines[:count]


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


def _pad_right(encoded, pad_token_id: int | None) -> dict[str, np.ndarray]:
    rows = encoded["input_ids"]
    width = max(len(ids) for ids in rows)
    arrays = {}
    for key in _KEYS:
        if key not in encoded:
            continue
        fill = (pad_token_id or 0) if key == "input_ids" else 0
        array = np.full((len(rows), width), fill, dtype=np.int64)
        for row, values in enumerate(encoded[key]):
            array[row, : len(values)] = values
        arrays[key] = array
    if "attention_mask" not in arrays:
        # load_samples trims by the mask, so always store one.
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, ids in enumerate(rows):
            mask[row, : len(ids)] = 1
        arrays["attention_mask"] = mask
    return arrays
