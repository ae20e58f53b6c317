"""The console is ovrun's: what the libraries print while a task runs (NNCF's bit-width
tables, transformers' TracerWarnings, progress bars, OpenVINO's C++ messages) goes to the
task's log file instead.

The redirect is at the file-descriptor level, because C++ code and logging handlers that
captured ``sys.stdout`` when they were created write past any Python-level redirect. The
console itself writes to a duplicate of the original stdout (`console_stream`), so ovrun's
own live view is unaffected. One task at a time owns the descriptors of a process: a second
thread of a multi-threaded Dask worker runs without a redirect of its own (its output lands
in the log of the task that owns them, never on the console)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_owner = threading.Lock()


def console_stream() -> IO[str]:
    """A text stream on a duplicate of stdout's descriptor: it keeps reaching the terminal
    (or pipe) while a task's output is redirected. When Python's stdout is not the process's
    own (a notebook's, pytest's capture) that stream is the console: it is not descriptor 1."""
    if sys.stdout is not sys.__stdout__:
        return sys.stdout
    try:
        fd = os.dup(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return sys.stdout
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    return os.fdopen(fd, "w", buffering=1, encoding=encoding, errors="replace")


@contextlib.contextmanager
def to_log(log_file: Path, stream: bool) -> Iterator[None]:
    """While the block runs, stdout and stderr (descriptors 1 and 2, and Python's streams)
    append to ``log_file``; with ``stream`` (-v) nothing is redirected."""
    if stream or not _owner.acquire(blocking=False):
        yield
        return
    try:
        with _redirected(log_file):
            yield
    finally:
        _owner.release()


@contextlib.contextmanager
def _redirected(log_file: Path) -> Iterator[None]:
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_file, "ab")  # noqa: SIM115 - closed below, after the descriptors return
    except OSError:
        yield  # no log possible (read-only out dir): better chatter than a failed task
        return
    existed = log_file.stat().st_size > 0
    saved: list[tuple[int, int]] = []
    wrappers: list = []
    try:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for fd in _descriptors():
            saved.append((fd, os.dup(fd)))
            os.dup2(log.fileno(), fd)
        out, err = (_python_stream(s, log, wrappers) for s in (sys.stdout, sys.stderr))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for wrapper in wrappers:
            wrapper.flush()
            wrapper.detach()  # the log is closed below, once
        for fd, copy in reversed(saved):
            os.dup2(copy, fd)
            os.close(copy)
        empty = log.tell() == 0 and not existed
        log.close()
        if empty:  # nothing said: no empty log per task
            with contextlib.suppress(OSError):
                log_file.unlink()


def _descriptors() -> list[int]:
    """1 and 2 (where C++ code and the process's own streams write), when they exist."""
    found = []
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            found.append(stream.fileno())
        except (AttributeError, OSError, ValueError):
            continue
    return sorted(set(found))


def _python_stream(current: IO[str], log: IO[bytes], wrappers: list) -> IO[str]:
    """The stream Python code should print to: the process's own stream, whose descriptor
    now reaches the log, or else (a notebook's, pytest's) a text wrapper on the log itself."""
    if current is sys.__stdout__ or current is sys.__stderr__:
        return current
    import io

    wrapper = io.TextIOWrapper(log, encoding="utf-8", errors="replace", write_through=True)
    wrappers.append(wrapper)
    return wrapper
