"""Confinement: a run writes only below its output dir and the cache, attempts no network
connection when HF_HUB_OFFLINE=1, follows no symlink out of a model dir, runs no code from
the recipe or (without consent) from the model, and ovrun's source has no eval/exec/pickle.

Input-path policy: every path a recipe names must resolve inside its project (the git work
tree, or the recipe's directory); only the user widens that (--allow-read, OVRUN_ALLOW_READ).
The cases are in tests/recipe/test_read_confinement.py and the corpus tests/bad_recipes.
Outputs have no recipe-controlled path: the run dir is `<recipe dir>/<name>.out` (name is a
plain file name by schema) or `--out`, never through a symlink; cache entries are named by
their key."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hardening_util import SMALL_CORPUS, SMALL_RECIPE, SMALL_TASKS, entries, run
from recipes_util import REPO, write

# Replaces socket connect/getaddrinfo in the child: loopback and unix sockets pass, anything
# else is logged and refused. PYTHONPATH puts it first, so Python imports it at startup.
NET_GUARD = """
import os, socket

_LOG = os.environ["OVRUN_NET_LOG"]
_LOCAL = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "", None)


def _local(host):
    host = host.decode() if isinstance(host, bytes) else host
    return host in _LOCAL or str(host).startswith("127.")


def _refuse(what):
    with open(_LOG, "a", encoding="utf-8") as f:
        f.write(what + "\\n")
    raise OSError(101, "network access blocked by the ovrun test guard: " + what)


_connect, _connect_ex, _getaddrinfo = (
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
)


def connect(self, address):
    if self.family != getattr(socket, "AF_UNIX", None) and not _local(address[0]):
        _refuse(f"connect {address!r}")
    return _connect(self, address)


def connect_ex(self, address):
    if self.family != getattr(socket, "AF_UNIX", None) and not _local(address[0]):
        _refuse(f"connect_ex {address!r}")
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if not _local(host):
        _refuse(f"getaddrinfo {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = (
    connect, connect_ex, getaddrinfo
)
"""


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.slow
def test_run_writes_only_out_and_cache_and_uses_no_network(tmp_path, tiny_project):
    work = tmp_path / "work"
    recipe = tiny_project(SMALL_RECIPE, SMALL_CORPUS, dir=work).recipe
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NET_GUARD, encoding="utf-8")
    net_log = tmp_path / "net.log"
    home, tmpdir = tmp_path / "home", tmp_path / "tmpdir"
    home.mkdir()
    tmpdir.mkdir()
    before = tree(tmp_path)

    done = run(
        str(recipe),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(tmp_path / "out"),
        PYTHONPATH=os.pathsep.join([str(guard), str(REPO)]),
        OVRUN_NET_LOG=str(net_log),
        HOME=str(home),
        TMPDIR=str(tmpdir),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(entries(tmp_path / "cache")) == SMALL_TASKS
    # the guard really was loaded: it would have written the log on any attempt
    assert "ovrun test guard" not in done.stderr
    assert not net_log.exists(), net_log.read_text()

    created = tree(tmp_path) - before
    allowed = ("out/", "cache/", "out", "cache")
    # tempfile.gettempdir() holds the host-wide benchmark lock (shared with other processes)
    stray = sorted(
        p
        for p in created
        if not p.startswith(allowed)
        and p not in ("tmpdir/ovrun-host.lock", "net.log")
        and not p.startswith("guard/__pycache__")
    )
    assert stray == [], f"written outside the output dir and the cache: {stray}"
    assert tree(work) == {p.relative_to(work).as_posix() for p in work.rglob("*")}
    assert not (work / "small.out").exists()  # --out given: nothing beside the recipe


def test_guard_blocks_a_real_connection(tmp_path):
    # the guard is only evidence if it catches an attempt; prove it on a plain connect
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NET_GUARD, encoding="utf-8")
    log = tmp_path / "net.log"
    import subprocess
    import sys

    code = "import socket\ntry:\n socket.create_connection(('192.0.2.1', 443), timeout=1)\nexcept OSError as e:\n print(e)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(guard), "OVRUN_NET_LOG": str(log)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "blocked by the ovrun test guard" in done.stdout, done.stdout + done.stderr
    assert "192.0.2.1" in log.read_text()


# -- symlinks --------------------------------------------------------------------------------


def _link_recipe(tmp_path: Path, tiny_project) -> Path:
    return tiny_project(
        """
        version: 1
        name: links
        model:
          source: {path: model}
        variants: {fp32: {}}
        targets: {devices: [CPU]}
        benchmark: {duration_s: 0.1, warmup: 1, seq_len: 8}
        """,
        {"calib.txt": "a b c\n"},
        name="r.yaml",
        dir=tmp_path,
    ).recipe


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_symlink_out_of_the_model_dir_is_refused_before_anything_runs(tmp_path, tiny_project, kind):
    recipe = _link_recipe(tmp_path, tiny_project)
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    (secret / "secret.txt").write_text("not part of the model", encoding="utf-8")
    target = secret / "secret.txt" if kind == "file" else secret
    (tmp_path / "model" / "linked").symlink_to(target)
    cache = tmp_path / "cache"
    out = ("--out", str(tmp_path / "out"))
    for command in (("plan", str(recipe)), (str(recipe), *out)):
        done = run(*command, "--cache-dir", str(cache))
        assert done.returncode == 2, done.stdout + done.stderr
        assert "symlink pointing outside" in done.stderr and "linked" in done.stderr
        assert "\nhint: " in done.stderr and "Traceback" not in done.stderr
    assert entries(cache) == {}  # refused before the export read anything


def test_symlink_inside_the_model_dir_is_fine(tmp_path, tiny_project):
    recipe = _link_recipe(tmp_path, tiny_project)
    (tmp_path / "model" / "sub").mkdir()
    (tmp_path / "model" / "sub" / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "model" / "alias").symlink_to(tmp_path / "model" / "sub")
    done = run("plan", str(recipe), "--cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stdout + done.stderr


# -- no code from the recipe or the model ------------------------------------------------------

EVIL_CONFIG = """
import pathlib
pathlib.Path(__file__).with_name("MARKER").write_text("remote code ran")
from transformers import BertConfig
class EvilConfig(BertConfig):
    model_type = "evil"
"""


@pytest.mark.slow
@pytest.mark.parametrize("trust", [False, True])
def test_model_code_never_runs_without_consent(tmp_path, tiny_project, trust):
    import json

    flag = "\n  trust_remote_code: true" if trust else ""
    recipe = tiny_project(
        "version: 1\nname: evil\nmodel:\n  source: {path: model}" + flag + "\n"
        "variants: {fp32: {}}\nbenchmark: {duration_s: 0.1, warmup: 1, seq_len: 8}\n",
        name="r.yaml",
        dir=tmp_path,
    ).recipe
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_evil.EvilConfig"}
    config["model_type"] = "evil"
    (tmp_path / "model" / "config.json").write_text(json.dumps(config))
    (tmp_path / "model" / "configuration_evil.py").write_text(EVIL_CONFIG)
    done = run(str(recipe), "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "model" / "MARKER").exists()
    assert not list((tmp_path / "cache").rglob("MARKER"))


def test_python_in_recipe_values_is_just_text(tmp_path, capsys):
    from runner.cli.main import main

    marker = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {marker}')"
    recipe = write(
        tmp_path / "r.yaml",
        f"""
        version: 1
        name: inert
        description: "{payload}"
        model:
          source: {{hf: "{payload}"}}
        variants:
          fp32: {{description: "{{{{ {payload} }}}}"}}
        """,
    )
    rc = main(["validate", str(recipe)])
    assert rc in (0, 2)
    assert not marker.exists()
    (tmp_path / "tagged.yaml").write_text(
        f"version: 1\nname: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    assert main(["validate", str(tmp_path / "tagged.yaml")]) == 2
    assert not marker.exists()
    capsys.readouterr()


UNSAFE = re.compile(
    r"(?<![\w.])(eval|exec|compile|__import__)\s*\("
    # the module, not the word: "--allow-pickle" and "*.pickle" name what ovrun refuses
    r"|\b(import|from)\s+(c?pickle|marshal|dill|cloudpickle|shelve)\b"
    r"|\b(c?pickle|marshal|dill|cloudpickle|shelve)\.\w"
    r"|yaml\.(unsafe_)?load\s*\((?![^)]*SafeLoader)|yaml\.(Full|Unsafe)?Loader\b"
    r"|torch\.load\s*\((?![^)]*weights_only\s*=\s*True)"
    r"|allow_pickle\s*=\s*True|trust_remote_code\s*=\s*True|shell\s*=\s*True"
)


def test_source_has_no_dynamic_code_execution():
    hits = []
    for path in sorted((REPO / "runner").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if UNSAFE.search(code):
                hits.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert hits == [], "\n".join(hits)


def test_unsafe_pattern_catches_what_it_should():
    for bad in (
        "eval(text)",
        "x = exec(code)",
        "import pickle",
        "from pickle import loads",
        "data = pickle.loads(blob)",
        "import dill",
        "marshal.loads(b)",
        "yaml.load(f)",
        "yaml.load(f, Loader=yaml.FullLoader)",
        "torch.load(path)",
        "np.load(p, allow_pickle=True)",
        "from_pretrained(p, trust_remote_code=True)",
    ):
        assert UNSAFE.search(bad), bad
    for fine in (
        "model.eval()",
        "yaml.safe_load(f)",
        "yaml.compose_all(t, Loader=yaml.SafeLoader)",
        'help="accept pickles with --allow-pickle"',
        '_PICKLED = ("*.pkl", "*.pickle")',
    ):
        assert not UNSAFE.search(fine), fine


def test_input_paths_outside_the_project_need_the_users_grant(tmp_path, capsys):
    """Policy: a recipe reads only inside its project (git work tree or recipe dir); `..` and
    absolute paths that leave it are refused unless the user passes --allow-read."""
    from runner.cli.main import main

    shared = tmp_path / "shared"
    (shared / "model").mkdir(parents=True)
    (shared / "model" / "config.json").write_text('{"model_type": "bert"}')
    (shared / "calib.txt").write_text("a\nb\n")
    recipe = write(
        tmp_path / "project" / "r.yaml",
        f"""
        version: 1
        name: outside
        model:
          source: {{path: ../shared/model}}
        data:
          calib: {{text: {shared / "calib.txt"}}}
        variants:
          int8: {{quantize: {{dataset: calib}}}}
        """,
    )
    assert main(["validate", str(recipe)]) == 2
    assert "outside the project" in capsys.readouterr().err
    assert main(["validate", str(recipe), "--allow-read", str(shared)]) == 0, (
        capsys.readouterr().err
    )


def test_log_file_names_cannot_escape_the_log_dir():
    from runner.executor.task import log_file

    logs = Path("/nowhere/logs")
    for task_id in ("bench:v:AUTO:CPU,../../../etc/x:LATENCY", "../../x", "eval:a/b"):
        path = log_file(logs, task_id)
        assert path.parent == logs and not path.name.startswith(".") and path.name != ".log"
