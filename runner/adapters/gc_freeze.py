"""Keep Python's cycle collector off the objects heavy imports leave behind.

Importing torch, transformers and optimum creates about a million long-lived objects
(modules, classes, functions). A full collection walks all of them: optimum-intel's exporter
calls ``gc.collect()`` four times per export, 0.24 s each here, and allocation-triggered full
collections pay the same during compression. Freezing moves what is alive after the imports
into the permanent generation, which collections skip."""

from __future__ import annotations

import gc

_done = False


def after_heavy_imports() -> None:
    """Once per process: collect what is garbage now (so nothing collectable is frozen), then freeze."""
    global _done
    if _done:
        return
    gc.collect()
    gc.freeze()
    _done = True
