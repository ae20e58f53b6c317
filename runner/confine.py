"""Keep libraries' own caches inside ovrun's cache, so a run writes only below its output
dir and the cache dir (tests/test_confinement.py checks the whole file system tree).

matplotlib (the HTML report's charts) builds a font list under ~/.cache/matplotlib and
~/.config/matplotlib unless MPLCONFIGDIR says otherwise."""

from __future__ import annotations

import os
from pathlib import Path


def library_dirs(cache_root: Path) -> None:
    os.environ.setdefault("MPLCONFIGDIR", str(cache_root / "memo" / "matplotlib"))
