"""`ovrun verify` on bundles someone else built: a manifest of the wrong shape is exit 2 with
one error line (it was a traceback), and member names from the archive are printed escaped."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from runner.cli.main import main


def bundle(path: Path, manifest: object, members: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {
            "manifest.json": json.dumps(manifest).encode(),
            **(members or {}),
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


SCHEMA = "ovrun.bundle/1"


@pytest.mark.parametrize(
    "manifest",
    [
        {"schema": SCHEMA, "files": ["a.txt"]},
        {"schema": SCHEMA, "files": {"a.txt": "0" * 64}},
        {"schema": SCHEMA, "files": {"a.txt": {"sha256": 5}}},
        {"schema": SCHEMA, "files": {"a.txt": None}},
        {"schema": SCHEMA, "files": "everything"},
        ["not", "a", "mapping"],
    ],
    ids=["files-list", "files-to-strings", "digest-int", "entry-null", "files-string", "list"],
)
def test_malformed_manifest_is_exit_2_without_traceback(tmp_path, capsys, manifest):
    path = bundle(tmp_path / "b.tar.gz", manifest, {"a.txt": b"x"})
    rc = main(["verify", str(path)])
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "is not an ovrun bundle" in lines[0], lines
    assert lines[1].startswith("hint: ")


def test_member_names_with_escapes_are_printed_escaped(tmp_path, capsys):
    name = "evil\x1b[2J\x1b[31m.txt"
    path = bundle(tmp_path / "b.tar.gz", {"schema": SCHEMA, "files": {}}, {name: b"x"})
    rc = main(["verify", str(path)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "\x1b" not in out + err
    assert "evil\\x1b[2J" in out
