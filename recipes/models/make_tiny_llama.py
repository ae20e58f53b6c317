"""Regenerate recipes/models/tiny-llama/: a Llama config and a byte-level BPE tokenizer.

The files are committed, so recipes run offline from a clean clone; this script only
documents (and can redo) how they were made. No weights are stored: the recipe's
``random:`` source initialises them from a seed at export time.

    python recipes/models/make_tiny_llama.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))


def main(dest: Path = HERE / "tiny-llama") -> None:
    from tiny_models import _bpe_tokenizer

    dest.mkdir(parents=True, exist_ok=True)
    tokenizer = _bpe_tokenizer(dest)
    vocab = -(-len(tokenizer) // 64) * 64  # round up: embedding rows in whole 64-row blocks
    config = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "vocab_size": vocab,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 256,
        "rms_norm_eps": 1e-6,
        "tie_word_embeddings": False,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
