"""What NNCF said while it compressed: its log records of the calling thread, DEBUG included,
captured without printing more than NNCF normally prints. The weight-compression summary reads
them to report which algorithm NNCF applied to how many layers, or why it skipped it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0  # nested or concurrent captures (Dask worker threads) share one logger setup
_saved: tuple[int, list[tuple[logging.Handler, int]]] | None = None


class _Keep(logging.Handler):
    def __init__(self, thread: int) -> None:
        super().__init__(logging.DEBUG)
        self.thread = thread
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:  # another worker thread's compression is not ours
            self.messages.append(record.getMessage())


@contextmanager
def captured() -> Iterator[list[str]]:
    """Yield the list NNCF's messages of this thread are appended to while the block runs."""
    global _active, _saved
    logger = logging.getLogger("nncf")
    keep = _Keep(threading.get_ident())
    with _lock:
        if _active == 0:
            # NNCF's own handlers keep printing only what they printed before
            shown = logger.getEffectiveLevel()
            _saved = (logger.level, [(h, h.level) for h in logger.handlers])
            for handler, level in _saved[1]:
                handler.setLevel(max(level, shown))
            logger.setLevel(logging.DEBUG)
        _active += 1
        logger.addHandler(keep)
    try:
        yield keep.messages
    finally:
        with _lock:
            logger.removeHandler(keep)
            _active -= 1
            if _active == 0 and _saved is not None:
                level, handlers = _saved
                logger.setLevel(level)
                for handler, handler_level in handlers:
                    handler.setLevel(handler_level)
                _saved = None
