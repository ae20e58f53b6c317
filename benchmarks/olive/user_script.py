"""Olive user script for benchmarks/olive_compare.py (P9): the calibration data ovrun's
`data: calib: {text: ..., samples: 300, max_length: 128}` produces, built the same way:
the first N non-empty lines of a text file (stripped), tokenized one by one with the model's tokenizer
(truncation at max_length, no padding, batch 1, numpy int64 arrays).

Imported by Olive inside its own virtualenv, never by ovrun."""

from __future__ import annotations

from pathlib import Path

from olive.data.registry import Registry


@Registry.register_dataset()
def ovrun_text_calibration(
    text_path: str, tokenizer_dir: str, samples: int = 300, max_length: int = 128
) -> list:
    """(feed, label) pairs: OpenVINOQuantization's default transform keeps the feed."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    lines = Path(text_path).read_text(encoding="utf-8").splitlines()
    lines = [line.strip() for line in lines if line.strip()][:samples]
    feeds = []
    for line in lines:
        encoded = tokenizer(line, truncation=True, max_length=max_length, return_tensors="np")
        feeds.append(({key: value.astype("int64") for key, value in encoded.items()}, 0))
    return feeds


@Registry.register_dataloader()
def ovrun_plain_dataloader(dataset: list, **kwargs) -> list:
    """The samples as they are: already batch 1, and a torch DataLoader would turn the
    numpy feeds into torch tensors."""
    return dataset
