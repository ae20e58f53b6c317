"""Tokenized samples held ragged and written to ``samples.npz`` a block at a time.

A million samples padded to int64 [N, L] arrays, three of them, plus the tokenizer's Python
lists, took gigabytes; the padded arrays only ever need to exist on disk. Here the token ids
stay flat int32 (with per-sample lengths) while tokenizing, the attention mask is implied by
the lengths (an unpadded sample is all real tokens), and each ``.npy`` member of the archive
is streamed row block by row block, in the layout ``np.savez`` writes and ``np.load`` reads.
"""

from __future__ import annotations

import itertools
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

KEYS = ("input_ids", "attention_mask", "token_type_ids")
_BLOCK_ROWS = 8192
# Held compactly until written as int64: vocabularies fit int32, segment ids int16.
_HELD = {"input_ids": np.int32, "token_type_ids": np.int16}


@dataclass
class RaggedTokens:
    """Samples of varying length: ``lengths[i]`` ids per sample, flat per key."""

    pad_id: int
    lengths: list[np.ndarray] = field(default_factory=list)
    flat: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, encoded) -> None:
        """Append one tokenizer output (lists of ids per sample, no padding)."""
        ids = encoded["input_ids"]
        self.lengths.append(np.fromiter(map(len, ids), dtype=np.int32, count=len(ids)))
        for key, dtype in _HELD.items():
            if key in encoded:
                values = itertools.chain.from_iterable(encoded[key])
                self.flat.setdefault(key, []).append(np.fromiter(values, dtype=dtype))

    @property
    def rows(self) -> int:
        return sum(len(x) for x in self.lengths)

    def all_lengths(self) -> np.ndarray:
        return np.concatenate(self.lengths) if self.lengths else np.zeros(0, np.int32)

    def keys(self) -> list[str]:
        return [k for k in KEYS if k == "attention_mask" or k in self.flat]

    def write_npz(self, path: Path, width: int) -> None:
        """``path``: what np.savez(input_ids=..., attention_mask=..., ...) would hold, each
        [rows, width] int64, right-padded (input_ids with pad_id, the rest with 0)."""
        with zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED) as archive:
            for key in self.keys():
                header = {
                    "descr": np.lib.format.dtype_to_descr(np.dtype(np.int64)),
                    "fortran_order": False,
                    "shape": (self.rows, width),
                }
                with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array_header_1_0(member, header)
                    for block in self._blocks(key, width):
                        member.write(block.tobytes())

    def _blocks(self, key: str, width: int):
        fill = self.pad_id if key == "input_ids" else 0
        for chunk, lengths in enumerate(self.lengths):
            flat = self.flat[key][chunk] if key != "attention_mask" else None
            starts = np.concatenate(([0], np.cumsum(lengths, dtype=np.int64)[:-1]))
            for first in range(0, len(lengths), _BLOCK_ROWS):
                rows = lengths[first : first + _BLOCK_ROWS]
                block = np.full((len(rows), width), fill, dtype=np.int64)
                mask = np.arange(width) < rows[:, None]  # real-token positions
                if flat is None:
                    block[mask] = 1
                else:
                    offset = starts[first]
                    block[mask] = flat[offset : offset + int(rows.sum())]
                yield block
