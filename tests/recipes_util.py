"""Helpers for tests that write recipes and run the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def minimal_recipe(tmp: Path, body: str | None = None, name: str = "recipe.yaml") -> Path:
    """A valid recipe on a local model dir and text data inside ``tmp`` (files are created)."""
    (tmp / "model").mkdir(exist_ok=True)
    (tmp / "model" / "config.json").write_text("{}", encoding="utf-8")
    write(tmp / "calib.txt", "one sample\ntwo samples\n")
    return write(
        tmp / name,
        body
        or """
        version: 1
        name: mini
        model:
          source: {path: model}
        data:
          calib: {text: calib.txt, samples: 2}
        variants:
          fp32: {}
          int8:
            quantize: {dataset: calib}
          w4:
            compress_weights: {mode: int4_sym, ratio: 0.8, group_size: 16}
        targets:
          devices: [CPU, GPU]
          hints: [LATENCY]
        evaluate: {dataset: calib, reference: fp32, max_drop: 0.02}
        """,
    )


def ovrun(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
