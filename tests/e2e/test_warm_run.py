"""A fully cached rerun stays light (issue 14 item 6): it imports no ML library, no networkx,
no yaml parser or JSON Schema validator (their results are memoized by content) and no rich
(the run prints through report/plain.py off a terminal), and what it prints is what rich
prints. Checked through sys.modules in a fresh process, not by timing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from recipes_util import REPO

RECIPE = """
    version: 1
    name: warm
    model:
      source: {path: model}
    variants:
      fp32: {}
      w8:
        compress_weights: {mode: int8_asym}
    targets:
      devices: [CPU, GPU]
      hints: [LATENCY]
    benchmark: {duration_s: 0.1, warmup: 1, repeats: 1, seq_len: 16}
    """

NOT_ON_A_WARM_RUN = (
    "openvino",
    "nncf",
    "torch",
    "transformers",
    "optimum",
    "networkx",
    "yaml",
    "jsonschema",
    "rich.console",
    "rich.table",
    "rich.live",
    "rich.status",
)


def _run(recipe, cache, out, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    probe = (
        "import sys\nfrom runner.cli.main import main\n"
        f"code = main([{str(recipe)!r}, '--cache-dir', {str(cache)!r}, '--out', {str(out)!r}])\n"
        f"print('LOADED:' + ' '.join(m for m in {NOT_ON_A_WARM_RUN!r} if m in sys.modules))\n"
        "sys.exit(code)"
    )
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
def test_a_fully_cached_rerun_loads_nothing_it_does_not_need(tmp_path, tiny_project):
    recipe = tiny_project(RECIPE, dir=tmp_path).recipe
    cache, out = tmp_path / "cache", tmp_path / "out"
    cold = _run(recipe, cache, out)
    assert cold.returncode == 0, cold.stderr

    warm = _run(recipe, cache, out)
    assert warm.returncode == 0, warm.stderr
    *printed, loaded = warm.stdout.splitlines()
    assert loaded == "LOADED:"
    assert printed[0].startswith("cached ") and any("┏" in line for line in printed)

    # the same run printed by rich (TTY_COMPATIBLE=0: rich decides, and it is no terminal)
    by_rich = _run(recipe, cache, out, {"TTY_COMPATIBLE": "0"})
    assert by_rich.returncode == 0, by_rich.stderr
    *rich_printed, rich_loaded = by_rich.stdout.splitlines()
    assert "rich.console" in rich_loaded.removeprefix("LOADED:").split()
    assert printed == rich_printed
