"""Tiny random-weight Hugging Face models built fully offline, for fast real-inference tests.

Every builder trains its tokenizer with the ``tokenizers`` library on a corpus generated
here, so nothing is ever fetched from a hub, and seeds make every artifact reproducible.
"""

from __future__ import annotations

import random
from pathlib import Path

_SUBJECTS = (
    "the model",
    "a small robot",
    "my neighbour",
    "the old teacher",
    "our team",
    "the compiler",
    "a curious cat",
    "the river",
    "every student",
    "the engineer",
    "a quiet child",
    "the server",
    "the scientist",
    "her brother",
    "the library",
    "a tired runner",
    "the network",
    "the farmer",
)
_VERBS = (
    "reads",
    "builds",
    "measures",
    "watches",
    "carries",
    "paints",
    "follows",
    "explains",
    "finds",
    "opens",
    "counts",
    "writes",
    "compresses",
    "quantizes",
    "answers",
    "visits",
    "cleans",
    "repairs",
    "describes",
    "remembers",
    "sends",
    "collects",
    "tests",
    "loads",
)
_OBJECTS = (
    "a long letter",
    "the green door",
    "three red apples",
    "the weather report",
    "a strange noise",
    "the morning train",
    "every small detail",
    "a new language",
    "the final score",
    "the blue sky",
    "a wooden chair",
    "the last page",
    "the hidden garden",
    "a warm coat",
    "the broken clock",
    "the evening news",
    "a short story",
    "the heavy box",
    "the bright lamp",
    "a paper map",
)
_ENDINGS = (
    "before lunch",
    "after the storm",
    "without a word",
    "in the kitchen",
    "near the station",
    "during the winter",
    "with great care",
    "at the market",
    "under the bridge",
    "every friday",
    "for the first time",
    "on a rainy day",
    "by the window",
    "across the city",
    "in silence",
    "at midnight",
    "with two friends",
    "faster than before",
    "as expected",
    "once again",
)
_EXTRA = (
    "Numbers like 12, 305 and 4096 appear in benchmarks.",
    "Latency, throughput and accuracy are measured on the CPU.",
    "Why does the cache miss when the parameters change?",
    "OpenVINO runs inference with int8 and fp16 weights.",
    'She said: "quantization keeps the accuracy close to fp32!"',
    "Tokens, vectors, layers and heads form a transformer.",
)


def _sentence(rng: random.Random) -> str:
    text = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"
    if rng.random() < 0.7:
        text += f" {rng.choice(_ENDINGS)}"
    if rng.random() < 0.3:
        text += f" and {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"
    text = text[0].upper() + text[1:] + rng.choice((".", ".", ".", "!", "?"))
    if rng.random() < 0.1:
        text += " " + rng.choice(_EXTRA)
    return text


def corpus_lines(lines: int, seed: int) -> list[str]:
    """Deterministic English-ish sentences of varied length."""
    rng = random.Random(seed)
    return [_sentence(rng) for _ in range(lines)]


def write_text_corpus(path: Path, lines: int, seed: int) -> Path:
    """Write ``lines`` sentences, one per line, to ``path`` (UTF-8); return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(corpus_lines(lines, seed)) + "\n", encoding="utf-8")
    return path


def _training_text() -> list[str]:
    # Word lists plus sentences make every corpus word a whole vocabulary entry.
    words = [*_SUBJECTS, *_VERBS, *_OBJECTS, *_ENDINGS, *_EXTRA]
    return words * 4 + corpus_lines(2000, seed=1234)


def _wordpiece_vocab(vocab_size: int = 800) -> dict[str, int]:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
    tok.train_from_iterator(_training_text(), trainer=trainer)
    return tok.get_vocab()


def make_tokenizer(dir: Path) -> Path:
    """Train a BERT-style WordPiece tokenizer and save it in ``dir``; return ``dir``."""
    from transformers import BertTokenizerFast

    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizerFast(vocab=_wordpiece_vocab(), model_max_length=128)
    tokenizer.save_pretrained(dir)
    return dir


def make_tiny_bert(dir: Path, seed: int = 0, initializer_range: float = 0.02) -> Path:
    """A random-weight 2-layer BertModel (hidden 32) with its tokenizer, saved in ``dir``."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    dir = make_tokenizer(dir)
    tokenizer = AutoTokenizer.from_pretrained(dir)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=initializer_range,
    )
    torch.manual_seed(seed)
    BertModel(config).eval().save_pretrained(dir)
    return dir


def _bpe_tokenizer(dir: Path, vocab_size: int = 600):
    """Train a GPT-2 style byte-level BPE and save it as a GPT2Tokenizer with a pad token."""
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2TokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|pad|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_training_text(), trainer=trainer)
    trained = json.loads(tok.to_str())["model"]
    # Rebuilding through the named class gives a tokenizer_config that every loader knows.
    tokenizer = GPT2TokenizerFast(
        vocab=trained["vocab"],
        merges=[
            tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]
        ],
        pad_token="<|pad|>",
        model_max_length=128,
    )
    tokenizer.save_pretrained(dir)
    return tokenizer


def make_tiny_causal_lm(dir: Path, seed: int = 0) -> Path:
    """A random-weight 2-layer LlamaForCausalLM (hidden 32) with a byte-level BPE tokenizer."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    tokenizer = _bpe_tokenizer(dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(dir)
    return dir


def tiny_encoder(vocab: int):
    """A tiny token encoder (embedding, layer norm, two linear layers) with BERT's inputs:
    ONNX sources are made from it (tracing transformers 5's BertModel to ONNX fails in its
    mask utilities)."""
    import torch

    class TinyEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(vocab, 32)
            self.types = torch.nn.Embedding(2, 32)
            self.norm = torch.nn.LayerNorm(32)
            self.up = torch.nn.Linear(32, 64)
            self.down = torch.nn.Linear(64, 32)

        def forward(self, input_ids, attention_mask, token_type_ids):
            x = self.norm(self.embed(input_ids) + self.types(token_type_ids))
            x = x + self.down(torch.nn.functional.gelu(self.up(x)))
            return x * attention_mask.unsqueeze(-1).to(x.dtype)

    torch.manual_seed(0)
    return TinyEncoder().eval()


def _head_config(tokenizer, **extra):
    from transformers import BertConfig

    # initializer_range 0.2 (not BERT's 0.02): outputs that differ from sample to sample, so
    # predictions (classes, answer spans) vary and compression can change some of them
    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.2,
        **extra,
    )


def make_tiny_classifier(dir: Path, texts: list[str], seed: int = 0) -> Path:
    """A random 2-class BertForSequenceClassification (labels negative / positive) whose bias
    centres the decision boundary on ``texts``, so its predictions split them."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    dir = make_tokenizer(dir)
    tokenizer = AutoTokenizer.from_pretrained(dir)
    config = _head_config(
        tokenizer,
        id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1},
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config).eval()
    with torch.no_grad():
        pooled = model.bert(**tokenizer(texts, padding=True, return_tensors="pt")).pooler_output
        model.classifier.bias.copy_(-(model.classifier.weight @ pooled.mean(0)))
    model.save_pretrained(dir)
    return dir


def make_tiny_qa(dir: Path, seed: int = 0) -> Path:
    """A random BertForQuestionAnswering (start / end logits per token) with its tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertForQuestionAnswering

    dir = make_tokenizer(dir)
    tokenizer = AutoTokenizer.from_pretrained(dir)
    torch.manual_seed(seed)
    BertForQuestionAnswering(_head_config(tokenizer, num_labels=2)).eval().save_pretrained(dir)
    return dir
