"""The content stamp at the end of report.html: a rerun with the same results keeps the page
(and does not import the renderer to find that out)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_stamp(results: dict[str, Any]) -> str:
    """Digest of what the page shows: the results without this run's bookkeeping (task states,
    wall time), so a fully cached rerun can keep the page instead of redrawing every chart."""
    shown = {k: v for k, v in results.items() if k != "run"}
    text = json.dumps(shown, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stamp_comment(results: dict[str, Any]) -> str:
    return f"<!-- ovrun-report {content_stamp(results)} -->"
