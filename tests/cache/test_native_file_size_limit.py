"""`ulimit -f` hit inside OpenVINO's own writer: it raises a bare
`RuntimeError: basic_ios::clear: iostream error` and deletes its partial file, so no file on
disk shows the limit. ovrun still reports the file size limit (exit 2), not a task bug."""

from __future__ import annotations

import subprocess
import sys

from recipes_util import REPO

CHILD = r"""
import resource, signal, sys, tempfile
from pathlib import Path
import numpy as np, openvino as ov
from openvino import opset13 as ops
from runner.core.oserrors import storage_error

x = ops.parameter([1, 1024], np.float32)
weights = ops.constant(np.random.default_rng(0).random((1024, 1024), dtype=np.float32))  # 4 MiB
model = ov.Model([ops.matmul(x, weights, False, False)], [x])
out = Path(tempfile.mkdtemp())
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill, as in ovrun
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
try:
    ov.save_model(model, out / "model.xml", compress_to_fp16=False)
except Exception as exc:
    print("raised:", type(exc).__name__, str(exc).splitlines()[0])
    print("files left:", sorted(p.name for p in out.iterdir()))
    error = storage_error(exc, "writing its output", out)
    print("exit:", error.exit_code if error else None)
    print(error.render() if error else "not a storage error")
    sys.exit(0)
print("no error: the limit did not bite")
sys.exit(3)
"""


def test_openvino_writer_failing_at_the_file_size_limit_is_exit_2():
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "raised: RuntimeError" in done.stdout  # the native writer's own error
    assert "files left: []" in done.stdout  # so no file shows the limit
    assert "exit: 2" in done.stdout, done.stdout
    assert "file size limit of 1048576 bytes (ulimit -f)" in done.stdout
