"""ovrun: declarative, cached OpenVINO optimization workflows.

``from runner import run`` is the Python API (`runner.api`); it is loaded on first use so
that ``ovrun --help`` and ``ovrun validate`` stay light."""

from __future__ import annotations

from typing import Any

__all__ = ["Results", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        import runner.api

        return getattr(runner.api, name)
    raise AttributeError(f"module 'runner' has no attribute {name!r}")
