"""What one runtime must offer to take part in interleaved benchmark rounds.

`runner.adapters.bench_rounds` drives any number of cells round-robin through this
interface; the OpenVINO cell is `runner.adapters.ov_cell.OpenVINOCell`, and another runtime
(ONNX Runtime, ``ort_cell.py``) joins the same rounds by implementing the same three
methods. Imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Round:
    """One timed round of one cell."""

    samples: int  # inputs completed: inferences × batch
    wall_s: float  # wall time of the round, including an async queue's drain
    latencies_ms: list[float] = field(default_factory=list)  # one per inference

    @property
    def throughput(self) -> float:
        return self.samples / self.wall_s if self.wall_s > 0 else 0.0


class MeasuredCell(Protocol):
    task_id: str  # the bench:<variant>:<cell> row this cell's figures become

    def prepare(self) -> dict[str, Any]:
        """Load / compile and warm up; return static facts (compile_s, first_inference_ms,
        resolved properties, ...) that go into the cell's row as they are."""
        ...

    def round(self, seconds: float) -> Round:
        """One timed round of about ``seconds`` (a cell may run a fixed count instead)."""
        ...

    def close(self) -> None:
        """Release the compiled model / session; called once, even after a failure."""
        ...
