"""The object every adapter receives; kept free of heavy imports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TaskContext:
    task_id: str
    op: str
    params: dict[str, Any]  # normalized params: exactly what went into the cache key
    inputs: dict[str, Path]  # role -> published "out" dir of an upstream task
    files: dict[str, Path]  # role -> absolute input file or dir (content-digested in the key)
    out: Path  # empty temp dir; everything written here is published atomically
    device: str | None = None
    # the cache's root, for the host memos a measuring op reads (runner/host/peak.py);
    # None outside a cache (an adapter called directly), where nothing is memoized
    cache_root: Path | None = None
    log: Callable[[str], None] = field(default=lambda message: None)

    def model_dir(self, role: str = "model") -> Path:
        """The optimum-style model dir of an upstream model-producing task."""
        return self.inputs[role] / "model"
