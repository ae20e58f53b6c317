"""Ctrl-C during a Dask run: handled by ovrun between waits, never inside distributed.

A KeyboardInterrupt raised while the client waits inside distributed's ``sync()`` trips a bug
there (its cancel callback reads a future that was never assigned) and a NameError traceback
lands on the terminal. So the executor records SIGINT and its run loop raises
KeyboardInterrupt itself, at most a poll interval later. Worker processes of a LocalCluster
are started with SIGINT ignored (an ignored signal stays ignored across exec): a Ctrl-C at the
terminal reaches the whole process group, and only the client should act on it - it cancels
the tasks and closes the cluster."""

from __future__ import annotations

import signal
import threading
from types import FrameType


class DeferredInterrupt:
    def __init__(self) -> None:
        self._flag = threading.Event()
        self._previous = None
        self._active = threading.current_thread() is threading.main_thread()

    def ignore(self) -> None:
        """While child processes start: they inherit the ignored disposition."""
        if self._active and self._previous is None:
            self._previous = signal.signal(signal.SIGINT, signal.SIG_IGN)

    def defer(self) -> None:
        """From now on SIGINT only sets a flag that :meth:`check` turns into KeyboardInterrupt."""
        if not self._active:
            return
        previous = signal.signal(signal.SIGINT, self._record)
        if self._previous is None:
            self._previous = previous

    def check(self) -> None:
        if self._flag.is_set():
            raise KeyboardInterrupt

    def restore(self) -> None:
        if self._active and self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self._flag.set()
