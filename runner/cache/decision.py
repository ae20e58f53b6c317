"""What a session decided for one task, and why: the data every later stage reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """Whether a task is cached, will run or is skipped, and the reason shown for it."""

    state: str  # cached | run | skipped
    reason: str  # for a person: why it runs ("changed: params.mode ..."), where it came from
