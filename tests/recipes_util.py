"""Helpers for tests that write recipes and run the CLI in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def git_work_tree(path: Path) -> Path:
    """Make ``path`` a git work tree: the project root that recipes below it may read in."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
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


# The tiny project of the end-to-end runs: tiny_project(tiny_recipe(), TINY_CORPUS) (conftest).
TINY_CORPUS = {"calib.txt": (40, 1), "eval.txt": (20, 2)}


def tiny_recipe(extra_variant: str = "", task: str = "feature-extraction") -> str:
    """fp32, int8 PTQ and int8 weights on CPU and an (absent) GPU, with an accuracy gate."""
    return f"""
        version: 1
        name: tiny
        model:
          source: {{path: model}}
          task: {task}
        data:
          calib: {{text: calib.txt, samples: 40, max_length: 32}}
          eval: {{text: eval.txt, samples: 20, max_length: 32}}
        variants:
          fp32: {{}}
          int8:
            quantize: {{dataset: calib, subset_size: 40}}
          w8:
            compress_weights: {{mode: int8_asym}}
        {extra_variant}
        targets:
          devices: [CPU, GPU]
          hints: [LATENCY]
        benchmark: {{duration_s: 0.3, warmup: 2, seq_len: 32}}
        evaluate: {{dataset: eval, reference: fp32, max_drop: 0.5}}
        """


COMMIT_A = "a" * 40


def fake_hub(home: Path, repo_id: str, refs: dict[str, str], files: Path | None = None) -> Path:
    """The huggingface_hub cache layout: refs/<name> holds a commit, snapshots/<commit>/."""
    repo = home / "hub" / f"models--{repo_id.replace('/', '--')}"
    for ref, commit in refs.items():
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
        snapshot = repo / "snapshots" / commit
        if files is not None:
            shutil.copytree(files, snapshot, dirs_exist_ok=True)
        else:
            snapshot.mkdir(parents=True, exist_ok=True)
    return repo


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
