"""The console is ovrun's: library chatter (NNCF's bit-width table, progress bars, warnings)
goes to the task's log file; `-v` streams it as before."""

from __future__ import annotations

from recipes_util import ovrun

RECIPE = """
version: 1
name: quiet
model:
  source: {path: model}
variants:
  fp32: {}
  w8: {compress_weights: {mode: int8_sym}}
targets: {devices: [CPU], hints: [LATENCY]}
benchmark: {duration_s: 0.1, warmup: 1, seq_len: 16}
"""
NNCF_TABLE = "Statistics of the bitwidth distribution"


def test_library_output_goes_to_the_task_log_and_v_streams_it(tmp_path, tiny_project):
    project = tiny_project(RECIPE, dir=tmp_path)
    where = ("--cache-dir", str(project.cache), "--out", str(tmp_path / "out"))

    quiet = ovrun(str(project.recipe), *where)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert NNCF_TABLE not in quiet.stdout + quiet.stderr
    assert quiet.stderr == ""  # nothing from the libraries, no warnings
    # ovrun's own view is still there: one line per task, the table
    assert "compress:w8" in quiet.stdout and "results:" in quiet.stdout
    log = (tmp_path / "out" / "logs" / "compress_w8.log").read_text(encoding="utf-8")
    assert NNCF_TABLE in log
    assert not (tmp_path / "out" / "logs" / "report.log").exists()  # silent tasks: no empty log

    loud = ovrun(str(project.recipe), *where, "--force", "compress:w8", "-v")
    assert loud.returncode == 0, loud.stderr[-2000:]
    assert NNCF_TABLE in loud.stdout + loud.stderr
