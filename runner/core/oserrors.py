"""Storage failures (disk full, quota, file size limit, read-only file system) as user errors.

They are not bugs in ovrun or in an adapter: the user frees space or points the cache
elsewhere. Everything written before the failure sits in a staging dir that is discarded, so
nothing half-written is ever published."""

from __future__ import annotations

import errno
import resource
import shutil
from pathlib import Path

from runner.core.errors import OvrunError

_STORAGE = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file size limit exceeded",
    errno.EROFS: "the file system is read-only",
}
# Native writers (OpenVINO's serializer, torch) report a full disk as a generic I/O error
# ("basic_ios::clear: iostream error"); below this much free space, that is what it was.
NEARLY_FULL = 16 << 20
_NATIVE_IO_ERROR = "basic_ios::clear"
HINT = (
    "free space (or raise the limit), or point --cache-dir / OVRUN_CACHE_DIR and --out at a "
    "disk with room; nothing partial was published"
)


def storage_error(exc: BaseException, doing: str, disk: Path | None = None) -> OvrunError | None:
    """An OvrunError for ``exc`` when it is a storage failure, else None.

    ``disk``: a directory being written; an error of any kind while its file system is
    (nearly) full is reported as a full disk, with the original message."""
    if isinstance(exc, OSError) and exc.errno in _STORAGE:
        # shutil's copy puts the source in filename and the destination in filename2
        path = exc.filename2 or exc.filename
        where = f" ({path})" if path else ""
        return OvrunError(f"{_STORAGE[exc.errno]} while {doing}{where}", hint=HINT)
    if disk is None:
        return None
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        free = shutil.disk_usage(disk).free
    except OSError:
        return None
    if free < NEARLY_FULL:
        return OvrunError(
            f"{type(exc).__name__}: {first} while {doing}; the disk holding {disk} has "
            f"only {free} bytes free (disk full?)",
            hint=HINT,
        )
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        largest = max((p.stat().st_size for p in disk.rglob("*") if p.is_file()), default=0)
        # OpenVINO's serializer deletes its partial file before raising, so the file that hit
        # the limit may be gone: its generic stream error under a limit is the limit too
        if largest >= limit or _NATIVE_IO_ERROR in first:
            return OvrunError(
                f"{type(exc).__name__}: {first} while {doing}; a file reached the file size "
                f"limit of {limit} bytes (ulimit -f)",
                hint=HINT,
            )
    return None
