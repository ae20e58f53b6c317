"""Import an op's heavy libraries with Python's cycle collector kept out of the way.

Importing torch, transformers, optimum and NNCF allocates about a million long-lived objects
(modules, classes, functions). While they are created, allocation counts trigger collection
after collection that can free none of them: paused, the export's imports took 3.2 s instead
of 3.9 s here. Afterwards full collections would walk them all again (optimum-intel's
exporter calls ``gc.collect()`` four times per export, 0.24 s each), so what is alive after
the imports is frozen: collections skip the permanent generation."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Iterable

_frozen_before = False


def import_all(modules: Iterable[str]) -> None:
    """Import ``modules`` (a failing one is left to the task that needs it to report)."""
    global _frozen_before
    missing = [m for m in modules if m not in sys.modules]
    if not missing:
        return
    if _frozen_before:
        # a long-lived process (a Dask worker, the local executor) may hold garbage cycles of
        # earlier tasks; collect them first, so freezing keeps only what is still alive
        gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for module in missing:
            try:
                importlib.import_module(module)
            except Exception:  # noqa: S112 - the adapter's own import raises the real error
                continue
    finally:
        gc.freeze()
        _frozen_before = True
        if enabled:
            gc.enable()
