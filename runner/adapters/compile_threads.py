"""A per-thread cap on OpenVINO CPU compile threads, for tasks that share a host
(`runner.executor.threads` says why and when)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

# The budget of the task running on this thread. The compile hook reads it per call, so an
# exclusive task on another thread of the same worker keeps the defaults.
_current = threading.local()
_hook_lock = threading.Lock()
_hooked = False


@contextlib.contextmanager
def limited(threads: int) -> Iterator[None]:
    """CPU compiles on this thread use at most ``threads`` threads, unpinned."""
    _install()
    _current.threads = threads
    try:
        yield
    finally:
        _current.threads = None


def _install() -> None:
    """Wrap ``openvino.Core.compile_model`` once per process: NNCF builds its own Cores and
    compiles there, so a property set on ours would not reach them. ``ov.compile_model``
    goes through the same method."""
    global _hooked
    with _hook_lock:
        if _hooked:
            return
        import openvino as ov

        original = ov.Core.compile_model

        def compile_model(self, model, device_name=None, config=None, **kwargs):
            threads = getattr(_current, "threads", None)
            if threads and device_name == "CPU":
                # what the caller set wins; only the defaults are narrowed
                config = {"INFERENCE_NUM_THREADS": threads, "ENABLE_CPU_PINNING": False} | dict(
                    config or {}
                )
            return original(self, model, device_name, config, **kwargs)

        ov.Core.compile_model = compile_model
        _hooked = True
