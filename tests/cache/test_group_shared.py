"""A group-shared cache dir (the Dask section asks for one): entries and run files are written
with the user's umask, so a second user of the group reads, verifies and adds to the cache.
Runs a real second, non-root user (uid 65534) in a subprocess; needs root to switch to it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from recipes_util import REPO

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="switching to a second user needs root"
)

SECOND_USER = 65534  # nobody
GROUP = 48_211  # a group only these two users share (numeric: nothing to add to /etc/group)

WRITE_AS_FIRST = """
import sys
from pathlib import Path
from runner.cache.store import Cache
from runner.core.atomic import write_text_atomic
cache = Cache(Path(sys.argv[1]))
staging = cache.begin("ab" * 32)
(staging.out / "model.bin").write_bytes(b"weights")
cache.publish(staging, {"task_id": "export", "op": "export"})
cache.write_ref("tiny", "export", "ab" * 32, {})
run = Path(sys.argv[2]); run.mkdir()
write_text_atomic(run / "results.json", "{}")
write_text_atomic(run / "report.html", "<html></html>")
"""

WRITE_AS_SECOND = """
import sys
from pathlib import Path
from runner.cache.store import Cache
cache = Cache(Path(sys.argv[1]))
assert cache.verify("ab" * 32) == [], cache.verify("ab" * 32)
with cache.lock("ab" * 32):
    pass
staging = cache.begin("cd" * 32)
(staging.out / "model.bin").write_bytes(b"more weights")
cache.publish(staging, {"task_id": "compress:int8", "op": "compress"})
print((Path(sys.argv[2]) / "results.json").read_text())
"""


def _others_can_run(path: Path) -> bool:
    """Whether a user outside root's group can execute ``path`` (every parent searchable)."""
    path = path.resolve()
    if not path.exists() or not path.stat().st_mode & stat.S_IXOTH:
        return False
    return all(p.stat().st_mode & stat.S_IXOTH for p in path.parents)


def _second_users_python() -> list[str]:
    """This interpreter if the second user may run it, else the system one of the same
    version (a pyenv build under /root is out of its reach) on this venv's packages."""
    if _others_can_run(Path(sys.executable)):
        return [sys.executable]
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if _others_can_run(system):
        return [str(system)]
    pytest.skip("no Python interpreter the second user can execute")


def _env() -> dict[str, str]:
    # the venv's site-packages by path, for the system interpreter
    site = [p for p in sys.path if p.endswith("site-packages")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *site]), "HOME": "/tmp"}


def _python(code: str, *args: str, user: int | None = None, umask: int = 0o002):
    kwargs = {"user": user, "extra_groups": [GROUP]} if user is not None else {}
    python = _second_users_python() if user is not None else [sys.executable]
    return subprocess.run(
        [*python, "-c", code, *args],
        capture_output=True,
        text=True,
        env=_env(),
        umask=umask,
        timeout=120,
        **kwargs,
    )


@pytest.fixture
def shared_dir():
    base = Path(tempfile.mkdtemp(prefix="ovrun-group-"))
    base.chmod(0o755)  # pytest's tmp_path is 0700: the second user could not even enter it
    for name in ("cache", "runs"):
        (base / name).mkdir()
        os.chown(base / name, 0, GROUP)
        (base / name).chmod(0o2775)  # setgid: new files and dirs stay in the group
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_second_user_of_the_group_reads_and_adds_entries(shared_dir):
    cache, run = shared_dir / "cache", shared_dir / "runs" / "tiny.out"
    first = _python(WRITE_AS_FIRST, str(cache), str(run))
    assert first.returncode == 0, first.stderr
    for path in (
        cache / "objects" / "ab" / ("ab" * 32) / "meta.json",
        run / "results.json",
        run / "report.html",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o664, path  # umask 002, not mkstemp's 0600
        assert path.stat().st_gid == GROUP
    second = _python(WRITE_AS_SECOND, str(cache), str(run), user=SECOND_USER)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "{}"
    listed = subprocess.run(
        [*_second_users_python(), "-m", "runner", "cache", "verify", "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        env=_env(),
        user=SECOND_USER,
        extra_groups=[GROUP],
        timeout=120,
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "2 entries checked, 0 corrupt" in listed.stdout


def test_remove_that_is_not_permitted_is_explained(shared_dir):
    """A member outside the group cannot rename entries away: said per entry, no traceback."""
    cache, run = shared_dir / "cache", shared_dir / "runs" / "tiny.out"
    assert _python(WRITE_AS_FIRST, str(cache), str(run)).returncode == 0
    (cache / "objects" / "ab" / ("ab" * 32) / "out" / "model.bin").write_bytes(b"flipped")
    outsider = subprocess.run(
        [
            *_second_users_python(), "-m", "runner", "cache", "verify", "--remove",
            "--cache-dir", str(cache),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        user=SECOND_USER,  # not in GROUP this time
        timeout=120,
    )  # fmt: skip
    assert outsider.returncode == 1, outsider.stdout + outsider.stderr
    assert "Traceback" not in outsider.stderr
    assert "could not remove it: Permission denied" in outsider.stdout
    assert (cache / "objects" / "ab" / ("ab" * 32)).is_dir()
    gc = subprocess.run(
        [
            *_second_users_python(), "-m", "runner", "cache", "gc", "--keep-last", "0",
            "--cache-dir", str(cache),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        user=SECOND_USER,
        timeout=120,
    )  # fmt: skip
    assert gc.returncode == 1 and "Traceback" not in gc.stderr
    assert "could not remove abababababababab  export: Permission denied" in gc.stderr
