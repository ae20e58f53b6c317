"""What a run returns to Python: the exit code, the results document and its paths, with
per-cell rows as a pandas DataFrame and the report shown inline in Jupyter."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ROW_FIELDS = (
    "task",
    "variant",
    "device",
    "hint",
    "batch",
    "seq_len",
    "status",
    "precision",
    "throughput",
    "latency_median_ms",
    "speedup_vs_reference",
    "speedup_verdict",
    "runtime",  # onnxruntime cells (targets.runtimes); openvino rows leave it unset
    "speedup_vs_onnxruntime",
    "size_bytes",
    "reason",
)


@dataclass(frozen=True)
class Results:
    exit_code: int  # what `ovrun run` would exit with (0 ok, 1 a task or gate failed, ...)
    doc: dict[str, Any]  # the results document, as written to results_file
    out_dir: Path
    results_file: Path
    report_html: Path | None

    @classmethod
    def load(cls, out_dir: str | Path) -> Results:
        """The results of an earlier run from its run dir (``exit_code`` is not recorded
        there: it is derived from the task states, gates and assertions)."""
        out = Path(out_dir)
        path = out / "results.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        page = out / "report.html"
        return cls(_exit_code(doc), doc, out, path, page if page.is_file() else None)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def benchmarks(self) -> list[dict[str, Any]]:
        """One row per benchmark cell, as in results.json (skipped and failed cells included,
        with their reason)."""
        return list(self.doc.get("benchmarks") or [])

    @property
    def evaluations(self) -> dict[str, dict[str, Any]]:
        """Variant -> its evaluation (agreement with the reference; ``task_metrics`` such as
        accuracy, f1 or spearman when the evaluation set has labels)."""
        return dict(self.doc.get("evaluations") or {})

    @property
    def gates(self) -> list[dict[str, Any]]:
        """The accuracy gate verdicts (``passed`` is None when it could not be evaluated)."""
        return list(self.doc.get("gates") or [])

    @property
    def asserts(self) -> list[dict[str, Any]]:
        return list(self.doc.get("asserts") or [])

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        """Each task's state (ran, cached, skipped, failed, blocked) and reason."""
        return dict((self.doc.get("run") or {}).get("tasks") or {})

    def rows(self) -> list[dict[str, Any]]:
        """Per-cell rows flattened for a table (the figures the terminal table shows)."""
        flat = []
        for row in self.benchmarks:
            latency = row.get("latency_ms") or {}
            merged = {**row, "latency_median_ms": latency.get("median")}
            flat.append({name: merged.get(name) for name in _ROW_FIELDS})
        return flat

    def table(self) -> Any:
        """The per-cell rows as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "Results.table() needs pandas (pip install pandas); Results.rows() gives the "
                "same rows as dicts"
            ) from exc
        return pd.DataFrame(self.rows(), columns=list(_ROW_FIELDS))

    def __repr__(self) -> str:
        verdict = "ok" if self.ok else f"exit code {self.exit_code}"
        return (
            f"<ovrun Results {self.doc.get('recipe', '?')!r}: {verdict}, "
            f"{len(self.benchmarks)} benchmark cells, {len(self.gates)} gates, "
            f"{self.results_file}>"
        )

    def _repr_html_(self) -> str:
        """Jupyter shows the run's own report.html inline (sandboxed, self-contained)."""
        if self.report_html is not None:
            try:
                page = self.report_html.read_text(encoding="utf-8")
            except OSError:
                page = None
            if page is not None:
                return (
                    f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
                    'style="width:100%;height:640px;border:1px solid #ccc"></iframe>'
                )
        return f"<pre>{html.escape(repr(self))}</pre>"


def _exit_code(doc: dict[str, Any]) -> int:
    tasks = (doc.get("run") or {}).get("tasks") or {}
    failed = (
        any(t.get("state") == "failed" for t in tasks.values())
        or any(g.get("passed") is False for g in doc.get("gates") or [])
        or any(a.get("passed") is False for a in doc.get("asserts") or [])
    )
    return 1 if failed else 0
