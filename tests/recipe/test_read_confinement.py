"""Read and write confinement of a recipe, the cases a checked-in corpus file cannot hold:
symlinks, FIFOs, git work trees, the user's grants (--allow-read, OVRUN_ALLOW_READ,
--allow-pickle), --set values, output dirs and lock files that are symlinks.

Each refusal is exit 2 with one positioned error line and one hint, through the real
`main()`; nothing below imports an ML library (every refusal comes before any task)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from recipes_util import git_work_tree, write

from runner.cli.main import main
from runner.core.confine import ENV_ALLOW_READ

RECIPE = """
version: 1
name: conf
model:
  source: {{path: {model}}}
data:
  calib: {{text: {data}}}
variants:
  fp32: {{}}
  int8: {{quantize: {{dataset: calib}}}}
targets: {{devices: [CPU]}}
"""


def project(tmp: Path, model: str = "model", data: str = "calib.txt") -> Path:
    """A project dir with a model dir and a text file, and its recipe."""
    root = tmp / "project"
    (root / "model").mkdir(parents=True, exist_ok=True)
    (root / "model" / "config.json").write_text('{"model_type": "bert"}')
    (root / "calib.txt").write_text("one\ntwo\n")
    return write(root / "r.yaml", RECIPE.format(model=model, data=data))


def outside(tmp: Path) -> Path:
    """A directory next to the project, holding a secret file and a model dir."""
    elsewhere = tmp / "elsewhere"
    (elsewhere / "model").mkdir(parents=True, exist_ok=True)
    (elsewhere / "model" / "config.json").write_text('{"model_type": "bert"}')
    (elsewhere / "secret.env").write_text("SECRET_TOKEN=do-not-print-me\n")
    return elsewhere


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def refused(rc: int, out: str, err: str, where: str, needle: str) -> None:
    assert "Traceback" not in out + err
    assert rc == 2, (rc, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("hint: "), lines
    assert lines[0].startswith(where) and ": error: " in lines[0], lines
    assert needle in lines[0], lines
    assert "do-not-print-me" not in out + err


def test_inside_the_project_is_fine(tmp_path, capsys):
    rc, _, err = cli(capsys, "validate", str(project(tmp_path)))
    assert rc == 0, err


def test_symlinked_data_file_pointing_out_is_refused(tmp_path, capsys):
    secret = outside(tmp_path) / "secret.env"
    recipe = project(tmp_path, data="linked.txt")
    (recipe.parent / "linked.txt").symlink_to(secret)
    refused(*cli(capsys, "validate", str(recipe)), f"{recipe}:6:", "outside the project")


def test_symlinked_model_dir_pointing_out_is_refused(tmp_path, capsys):
    model = outside(tmp_path) / "model"
    recipe = project(tmp_path, model="linked_model")
    (recipe.parent / "linked_model").symlink_to(model, target_is_directory=True)
    refused(*cli(capsys, "validate", str(recipe)), f"{recipe}:4:", "outside the project")


def test_symlink_inside_the_project_is_fine(tmp_path, capsys):
    recipe = project(tmp_path, data="alias.txt")
    (recipe.parent / "alias.txt").symlink_to(recipe.parent / "calib.txt")
    rc, _, err = cli(capsys, "validate", str(recipe))
    assert rc == 0, err


def test_symlink_in_a_model_dir_pointing_out_is_refused_at_validate(tmp_path, capsys):
    secret = outside(tmp_path) / "secret.env"
    recipe = project(tmp_path)
    (recipe.parent / "model" / "tokenizer.json").symlink_to(secret)
    refused(*cli(capsys, "validate", str(recipe)), f"{recipe}:4:", "symlink pointing outside")


def test_fifo_as_a_data_file_is_refused_without_blocking(tmp_path, capsys):
    recipe = project(tmp_path, data="pipe.txt")
    os.mkfifo(recipe.parent / "pipe.txt")  # reading it would block forever
    refused(*cli(capsys, "validate", str(recipe)), f"{recipe}:6:", "is a FIFO")


def test_fifo_inside_a_model_dir_is_refused(tmp_path, capsys):
    recipe = project(tmp_path)
    os.mkfifo(recipe.parent / "model" / "vocab.txt")
    refused(*cli(capsys, "validate", str(recipe)), f"{recipe}:4:", "is a FIFO")


def test_symlink_loop_is_a_positioned_error(tmp_path, capsys):
    recipe = project(tmp_path, data="loop.txt")
    (recipe.parent / "loop.txt").symlink_to(recipe.parent / "loop.txt")
    rc, out, err = cli(capsys, "validate", str(recipe))
    assert rc == 2 and "Traceback" not in err and err.startswith(f"{recipe}:6:"), err


def test_project_root_is_the_git_work_tree(tmp_path, capsys):
    """Below a git work tree a recipe may read anywhere in the tree (../shared/...)."""
    root = tmp_path / "repo"
    (root / "shared" / "model").mkdir(parents=True)
    (root / "shared" / "model" / "config.json").write_text('{"model_type": "bert"}')
    (root / "shared" / "calib.txt").write_text("a\nb\n")
    recipe = write(
        root / "recipes" / "r.yaml",
        RECIPE.format(model="../shared/model", data="../shared/calib.txt"),
    )
    refused(*cli(capsys, "validate", str(recipe)), f"{recipe}:4:", "outside the project")
    git_work_tree(root)
    rc, _, err = cli(capsys, "validate", str(recipe))
    assert rc == 0, err


def test_allow_read_flag_and_env_widen_the_scope(tmp_path, capsys, monkeypatch):
    elsewhere = outside(tmp_path)
    recipe = project(tmp_path, model=str(elsewhere / "model"))
    rc, out, err = cli(capsys, "validate", str(recipe))
    refused(rc, out, err, f"{recipe}:4:", "outside the project")
    assert "--allow-read DIR" in err.splitlines()[1] and ENV_ALLOW_READ in err
    rc, _, err = cli(capsys, "validate", str(recipe), "--allow-read", str(elsewhere))
    assert rc == 0, err
    # a grant for a sibling does not cover elsewhere
    rc, _, err = cli(capsys, "validate", str(recipe), "--allow-read", str(tmp_path / "other"))
    assert rc == 2, err
    monkeypatch.setenv(ENV_ALLOW_READ, os.pathsep.join(["/nonexistent", str(elsewhere)]))
    rc, _, err = cli(capsys, "validate", str(recipe))
    assert rc == 0, err
    for command in ("plan", "graph"):
        rc, _, err = cli(capsys, command, str(recipe), "--cache-dir", str(tmp_path / "cache"))
        assert rc == 0, (command, err)


def test_a_recipe_cannot_grant_itself_reads(tmp_path, capsys):
    elsewhere = outside(tmp_path)
    recipe = project(tmp_path, data=str(elsewhere / "secret.env"))
    text = recipe.read_text() + f"allow_read: [{elsewhere}]\n"
    recipe.write_text(text)
    rc, out, err = cli(capsys, "validate", str(recipe))
    assert rc == 2 and "Traceback" not in err
    assert "do-not-print-me" not in out + err


def test_special_file_systems_stay_refused_with_a_grant(tmp_path, capsys):
    recipe = project(tmp_path, data="/proc/self/environ")
    rc, out, err = cli(capsys, "validate", str(recipe), "--allow-read", "/")
    refused(rc, out, err, f"{recipe}:6:", "kernel or device file system")


def test_set_value_is_confined_like_the_file(tmp_path, capsys):
    elsewhere = outside(tmp_path)
    recipe = project(tmp_path)
    rc, out, err = cli(
        capsys,
        "plan",
        str(recipe),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--set",
        f"data.calib.text={elsewhere / 'secret.env'}",
    )
    refused(rc, out, err, "--set data.calib.text=", "outside the project")


def test_base_recipe_paths_are_confined_too(tmp_path, capsys):
    """A base file's relative paths resolve next to the base, and are still confined."""
    root = tmp_path / "project"
    project(tmp_path)
    write(root / "base" / "base.yaml", "data:\n  calib: {text: ../../elsewhere/secret.env}\n")
    outside(tmp_path)
    child = write(root / "child.yaml", RECIPE.format(model="model", data="calib.txt"))
    child.write_text("extends: base/base.yaml\n" + child.read_text().split("data:")[0])
    child.write_text(child.read_text() + "variants: {fp32: {}}\n")
    rc, out, err = cli(capsys, "validate", str(child))
    refused(rc, out, err, f"{root / 'base' / 'base.yaml'}:2:", "outside the project")


@pytest.mark.parametrize("bad", ["nul", "long"])
def test_bad_path_in_a_base_recipe_is_positioned_in_the_base(tmp_path, capsys, bad):
    root = tmp_path / "project"
    project(tmp_path)
    value = '"x\\0y.txt"' if bad == "nul" else "d/" + "x" * 300
    write(root / "base.yaml", f"data:\n  calib: {{text: {value}}}\n")
    child = write(
        root / "child.yaml",
        "extends: base.yaml\nversion: 1\nname: c\nmodel:\n  source: {path: model}\n"
        "variants: {fp32: {}}\n",
    )
    needle = "NUL byte" if bad == "nul" else "path component of 300 bytes"
    refused(*cli(capsys, "validate", str(child)), f"{root / 'base.yaml'}:2:", needle)


# -- pickles --------------------------------------------------------------------------------


def pickle_project(tmp: Path) -> Path:
    recipe = project(tmp)
    (recipe.parent / "model" / "pytorch_model.bin").write_bytes(b"\x80\x04N.")  # pickled None
    return recipe


def test_pickle_only_model_dir_needs_allow_pickle(tmp_path, capsys):
    recipe = pickle_project(tmp_path)
    rc, out, err = cli(capsys, "validate", str(recipe))
    refused(rc, out, err, f"{recipe}:4:", "converting pickled weights runs code from the file")
    assert "--allow-pickle" in err
    rc, _, err = cli(capsys, "validate", str(recipe), "--allow-pickle")
    assert rc == 0, err


def test_pickles_beside_safetensors_are_fine(tmp_path, capsys):
    recipe = pickle_project(tmp_path)
    (recipe.parent / "model" / "model.safetensors").write_bytes(b"{}")
    rc, _, err = cli(capsys, "validate", str(recipe))
    assert rc == 0, err


# -- writes ---------------------------------------------------------------------------------


def test_symlinked_output_dir_is_refused(tmp_path, capsys):
    recipe = project(tmp_path)
    target = tmp_path / "elsewhere_out"
    target.mkdir()
    (recipe.parent / "conf.out").symlink_to(target, target_is_directory=True)
    rc, out, err = cli(capsys, "run", str(recipe), "--cache-dir", str(tmp_path / "cache"))
    assert rc == 2 and "is a symlink" in err and "\nhint: " in err, err
    assert list(target.iterdir()) == []


def test_symlink_inside_the_output_dir_is_refused(tmp_path, capsys):
    recipe = project(tmp_path)
    target = tmp_path / "elsewhere_logs"
    target.mkdir()
    (recipe.parent / "conf.out").mkdir()
    (recipe.parent / "conf.out" / "logs").symlink_to(target, target_is_directory=True)
    rc, out, err = cli(capsys, "run", str(recipe), "--cache-dir", str(tmp_path / "cache"))
    assert rc == 2 and "logs inside the output dir is a symlink" in err, err
    assert list(target.iterdir()) == []


def test_symlinked_lock_file_is_refused(tmp_path, capsys):
    recipe = project(tmp_path)
    target = tmp_path / "elsewhere.lock"
    target.write_text("keep me\n")
    (recipe.parent / "ovrun.lock").symlink_to(target)
    rc, out, err = cli(
        capsys, "lock", str(recipe), "--no-run", "--cache-dir", str(tmp_path / "cache")
    )
    assert rc == 2 and "lock file" in err and "is a symlink" in err, err
    assert target.read_text() == "keep me\n"


def test_symlinked_lock_is_not_read_by_locked_run(tmp_path, capsys):
    recipe = project(tmp_path)
    secret = outside(tmp_path) / "secret.env"
    (recipe.parent / "ovrun.lock").symlink_to(secret)
    rc, out, err = cli(
        capsys, "plan", str(recipe), "--cache-dir", str(tmp_path / "cache")
    )  # plan does not read the lock
    assert rc == 0, err
    rc, out, err = cli(
        capsys, "run", str(recipe), "--locked", "--cache-dir", str(tmp_path / "cache")
    )
    assert rc == 2 and "symlink" in err and "do-not-print-me" not in out + err, err


def test_lock_of_the_wrong_shape_is_exit_2(tmp_path, capsys):
    recipe = project(tmp_path)
    (recipe.parent / "ovrun.lock").write_text("schema: ovrun.lock/1\nrecipes: [a, b]\n")
    rc, out, err = cli(
        capsys, "run", str(recipe), "--locked", "--cache-dir", str(tmp_path / "cache")
    )
    assert rc == 2 and "Traceback" not in err and "not an ovrun lock file" in err, err


@pytest.mark.parametrize("kind", ["ir", "onnx"])
def test_weights_beside_the_named_file_may_not_link_out(tmp_path, capsys, kind):
    """The IR .bin and the ONNX .data are read because they sit beside the named file."""
    secret = outside(tmp_path) / "secret.env"
    root = tmp_path / "project"
    root.mkdir()
    name, beside = ("m.xml", "m.bin") if kind == "ir" else ("m.onnx", "m.onnx.data")
    (root / name).write_text("<net/>")
    (root / beside).symlink_to(secret)
    recipe = write(
        root / "r.yaml",
        f"version: 1\nname: w\nmodel:\n  source: {{{kind}: {name}}}\nvariants: {{fp32: {{}}}}\n",
    )
    refused(*cli(capsys, "validate", str(recipe)), f"{recipe}:4:", "outside the project")
