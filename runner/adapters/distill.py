"""Self-distillation for quantization-aware training: the quantized student learns to match the
FP32 teacher on unlabeled text, so no labels are needed.

Feature extraction compares the attention-masked mean-pooled embeddings (mean-squared error),
the vector sentence-transformers models are used for; classification compares the logits and
text generation every unmasked token's next-token logits (KL divergence of the student's
distribution from the teacher's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

# The tokenized columns a transformers forward takes; anything else in samples.npz is ignored.
_FORWARD_KEYS = ("input_ids", "attention_mask", "token_type_ids")
# The model class each task trains, as transformers' Auto* names.
AUTO_CLASS = {
    "feature-extraction": "AutoModel",
    "text-classification": "AutoModelForSequenceClassification",
    "text-generation": "AutoModelForCausalLM",
}


def torch_batches(samples: list[dict[str, np.ndarray]], task: str) -> list[dict[str, Any]]:
    """samples.npz batches as the torch tensors the model's forward takes."""
    import torch

    keys = [k for k in _FORWARD_KEYS if not (task == "text-generation" and k == "token_type_ids")]
    return [
        {k: torch.from_numpy(np.ascontiguousarray(s[k])).long() for k in keys if k in s}
        for s in samples
    ]


def order(count: int, steps: int, seed: int) -> Iterator[int]:
    """Batch indices for ``steps`` steps: a fresh seeded permutation per pass over the data,
    so a rerun with the same seed sees the same batches in the same order."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < steps:
        for index in rng.permutation(count)[: steps - done]:
            yield int(index)
            done += 1


def loss_fn(task: str) -> Callable[[Any, Any, Any], Any]:
    """(student output, teacher output, attention mask) -> scalar loss."""
    if task == "feature-extraction":
        return _embedding_mse
    if task == "text-generation":
        return _token_kl
    return _logits_kl


def _mean_pool(hidden: Any, mask: Any) -> Any:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _embedding_mse(student: Any, teacher: Any, mask: Any) -> Any:
    import torch

    return torch.nn.functional.mse_loss(
        _mean_pool(student.last_hidden_state, mask), _mean_pool(teacher.last_hidden_state, mask)
    )


def _kl(student_logits: Any, teacher_logits: Any) -> Any:
    import torch

    f = torch.nn.functional
    return f.kl_div(
        f.log_softmax(student_logits, dim=-1),
        f.log_softmax(teacher_logits, dim=-1),
        log_target=True,
        reduction="none",
    ).sum(dim=-1)


def _logits_kl(student: Any, teacher: Any, mask: Any) -> Any:
    return _kl(student.logits, teacher.logits).mean()


def _token_kl(student: Any, teacher: Any, mask: Any) -> Any:
    per_token = _kl(student.logits, teacher.logits)  # [batch, length]
    weights = mask.to(per_token.dtype)
    return (per_token * weights).sum() / weights.sum().clamp(min=1.0)


def train(
    student: Any,
    teacher: Any,
    batches: list[dict[str, Any]],
    task: str,
    steps: int,
    lr: float,
    seed: int,
    log: Callable[[str], None],
) -> list[float]:
    """Fine-tune ``student`` in place for ``steps`` optimizer steps; returns every step's loss.

    The caller seeds torch before building the student (NNCF's initialization reads no random
    numbers, but dropout does): dropout stays off in both models, since the student must match
    the teacher's deterministic inference output, and off keeps the loss curve reproducible."""
    import torch

    compute = loss_fn(task)
    student.eval()  # no dropout; the quantizers' scales stay trainable in eval mode
    teacher.eval()
    optimizer = torch.optim.AdamW(
        [p for p in student.parameters() if p.requires_grad], lr=lr, weight_decay=0.0
    )
    every = max(1, steps // 10)
    losses: list[float] = []
    for step, index in enumerate(order(len(batches), steps, seed), start=1):
        batch = batches[index]
        with torch.no_grad():
            target = teacher(**batch)
        loss = compute(student(**batch), target, batch["attention_mask"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if step == 1 or step % every == 0 or step == steps:
            log(f"qat: step {step}/{steps} loss {losses[-1]:.6g}")
    return losses
