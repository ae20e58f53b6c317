"""A secret file next to the project: no recipe, through no command, gets its content onto
the console, into the run dir or into the cache.

The recipes try every field that names a file (data sources of each kind, model sources,
tokenizer, random config, extends, --set). Without a grant each one is refused at its
position. With the user's --allow-read (the secret is then readable on purpose), a reader
that fails on it still names only the file and the line, never what is in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from recipes_util import write

from runner.cli.main import main

SECRET = "SECRET_TOKEN=hunter2-do-not-print"
SECRET_PART = "hunter2"

HEAD = "version: 1\nname: leak\n"
MODEL = "model:\n  source: {path: model}\n"
VARIANTS = "variants:\n  fp32: {}\n  int8: {quantize: {dataset: calib}}\n"

# field -> recipe text; {secret} becomes the path of the secret (relative or absolute)
ATTEMPTS = {
    "text": HEAD + MODEL + "data:\n  calib: {text: {secret}}\n" + VARIANTS,
    "csv": HEAD + MODEL + "data:\n  calib: {csv: {secret}, field: nope}\n" + VARIANTS,
    "tsv": HEAD + MODEL + "data:\n  calib: {tsv: {secret}, field: nope}\n" + VARIANTS,
    "jsonl": HEAD + MODEL + "data:\n  calib: {jsonl: {secret}}\n" + VARIANTS,
    "npz": HEAD + MODEL + "data:\n  calib: {npz: {secret}}\n" + VARIANTS,
    "parquet": HEAD + MODEL + "data:\n  calib: {parquet: {secret}}\n" + VARIANTS,
    "extends": HEAD + "extends: {secret}\n" + MODEL + "variants: {fp32: {}}\n",
    "onnx": HEAD + "model:\n  source: {onnx: {secret}}\nvariants: {fp32: {}}\n",
    "ir": HEAD + "model:\n  source: {ir: {secret}}\nvariants: {fp32: {}}\n",
    "random_config": HEAD
    + "model:\n  source: {random: {config: {secret}, tokenizer: model}}\n"
    + "variants: {fp32: {}}\n",
}
COMMANDS = ("validate", "plan", "graph", "explain", "run", "lock")


def make_project(tmp: Path) -> tuple[Path, Path]:
    secret = tmp / "secret.env"
    secret.write_text(SECRET + "\nSECOND_LINE=" + SECRET_PART + "\n", encoding="utf-8")
    project = tmp / "project"
    (project / "model").mkdir(parents=True)
    (project / "model" / "config.json").write_text('{"model_type": "bert"}')
    (project / "calib.txt").write_text("a b\nc d\n")
    return project, secret


def argv(command: str, recipe: Path, tmp: Path) -> list[str]:
    cache = ["--cache-dir", str(tmp / "cache")]
    return {
        "validate": ["validate", str(recipe)],
        "plan": ["plan", str(recipe), *cache],
        "graph": ["graph", str(recipe), *cache],
        "explain": ["explain", str(recipe), "export", *cache],
        "run": ["run", str(recipe), *cache, "--out", str(tmp / "out")],
        "lock": ["lock", str(recipe), "--no-run", *cache],
    }[command]


def files_holding_the_secret(tmp: Path, secret: Path) -> list[str]:
    found = []
    for path in tmp.rglob("*"):
        regular = path.is_file() and not path.is_symlink() and path != secret
        if regular and SECRET_PART.encode() in path.read_bytes():
            found.append(str(path))
    return found


@pytest.mark.parametrize("spelling", ["relative", "absolute"])
@pytest.mark.parametrize("field", sorted(ATTEMPTS))
def test_no_command_prints_the_secret_next_to_the_project(tmp_path, capsys, field, spelling):
    project, secret = make_project(tmp_path)
    ref = "../secret.env" if spelling == "relative" else str(secret)
    recipe = write(project / "r.yaml", ATTEMPTS[field].replace("{secret}", ref))
    for command in COMMANDS:
        rc = main(argv(command, recipe, tmp_path))
        out, err = capsys.readouterr()
        assert rc == 2, (command, out, err)
        assert "outside the project" in err, (command, err)
        assert SECRET_PART not in out + err, (command, out, err)
        assert "Traceback" not in out + err
    assert files_holding_the_secret(tmp_path, secret) == []
    assert not (tmp_path / "out").exists()


def test_set_cannot_point_a_path_at_the_secret(tmp_path, capsys):
    project, secret = make_project(tmp_path)
    recipe = write(
        project / "r.yaml", HEAD + MODEL + "data:\n  calib: {text: calib.txt}\n" + VARIANTS
    )
    for command in ("plan", "run"):
        rc = main([*argv(command, recipe, tmp_path), "--set", f"data.calib.text={secret}"])
        out, err = capsys.readouterr()
        assert rc == 2 and SECRET_PART not in out + err, (command, out, err)
    assert files_holding_the_secret(tmp_path, secret) == []


def test_symlink_to_the_secret_inside_the_project(tmp_path, capsys):
    project, secret = make_project(tmp_path)
    (project / "innocent.csv").symlink_to(secret)
    recipe = write(
        project / "r.yaml",
        HEAD + MODEL + "data:\n  calib: {csv: innocent.csv, field: nope}\n" + VARIANTS,
    )
    for command in COMMANDS:
        rc = main(argv(command, recipe, tmp_path))
        out, err = capsys.readouterr()
        assert rc == 2 and SECRET_PART not in out + err, (command, out, err)
    assert files_holding_the_secret(tmp_path, secret) == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["csv", "tsv", "jsonl"])
def test_a_reader_error_on_a_granted_file_names_no_content(tmp_path, tiny_project, kind):
    """The user allowed the read; the recipe's `field` does not exist: exit 2, the file and
    line are named, the header / keys (the secret) are not, on the console or in any file."""
    from hardening_util import run

    secret = tmp_path / "secrets" / f"secret.{kind}"
    secret.parent.mkdir()
    if kind == "jsonl":
        secret.write_text(json.dumps({SECRET: "x"}) + "\n", encoding="utf-8")
    else:
        secret.write_text(SECRET + "\nvalue\n", encoding="utf-8")
    project = tiny_project(
        f"""
        version: 1
        name: leak
        model:
          source: {{path: model}}
        data:
          calib: {{{kind}: {secret}, field: nope, samples: 2}}
        variants:
          fp32: {{}}
          int8: {{quantize: {{dataset: calib, subset_size: 2}}}}
        targets: {{devices: [CPU]}}
        benchmark: {{duration_s: 0.1, warmup: 1, seq_len: 8, repeats: 1}}
        """,
        dir=tmp_path / "project",
    )
    done = run(
        str(project.recipe),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--allow-read",
        str(secret.parent),
        "--keep-going",
    )
    output = done.stdout + done.stderr
    assert done.returncode in (1, 2), output
    assert "no column 'nope'" in output or "no field 'nope'" in output, output
    assert str(secret) in output and "Traceback" not in output
    assert SECRET_PART not in output, output
    assert files_holding_the_secret(tmp_path, secret) == []
