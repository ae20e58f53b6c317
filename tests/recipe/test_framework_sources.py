"""tf_saved_model / tflite / paddle sources at plan time (issue 19 §1): what keys the export,
what is refused, and float-tensor synthetic data. No ML library: the files are only hashed
here, never converted (tests/e2e/test_framework_sources_e2e.py converts real ones)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from recipes_util import REPO, write

from runner.cli.main import main
from runner.core.errors import OvrunError
from runner.plan.compress import dataset_task
from runner.recipe import model_sources
from runner.session import open_session


def recipe(
    tmp: Path, source: str, extra: str = "", name: str = "r.yaml", shapes: str = "{}"
) -> Path:
    return write(
        tmp / name,
        f"""
        version: 1
        name: fw
        model:
          source: {source}
          shapes: {shapes}
        {extra}
        variants:
          fp32: {{}}
        """,
    )


def plan(recipe_file: Path, cache: Path):
    return open_session(recipe_file, cache, probe_devices=False).plan


def export_key(recipe_file: Path, cache: Path) -> str:
    return plan(recipe_file, cache).tasks["export"].key


def saved_model(root: Path) -> Path:
    """The files a Keras model.export() writes (contents do not matter for keys)."""
    (root / "variables").mkdir(parents=True)
    (root / "assets").mkdir()
    (root / "saved_model.pb").write_bytes(b"graph")
    (root / "fingerprint.pb").write_bytes(b"fp")
    (root / "variables" / "variables.index").write_bytes(b"index")
    (root / "variables" / "variables.data-00000-of-00001").write_bytes(bytes(range(200)))
    return root


def paddle_model(root: Path, suffix: str = ".pdmodel") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"m{suffix}").write_bytes(b"program")
    (root / "m.pdiparams").write_bytes(bytes(range(100)))
    return root / f"m{suffix}"


def test_every_file_of_a_saved_model_keys_the_export(tmp_path: Path) -> None:
    saved_model(tmp_path / "sm")
    r = recipe(tmp_path, "{tf_saved_model: sm}")
    first = export_key(r, tmp_path / "cache")
    keys = {first}
    for part in ("variables/variables.data-00000-of-00001", "assets/vocab.txt", "saved_model.pb"):
        (tmp_path / "sm" / part).write_bytes(b"changed " + part.encode())
        keys.add(export_key(r, tmp_path / "cache"))
    assert len(keys) == 4  # a changed variables file, a new asset, a new graph: each a new key


def test_paddle_keys_cover_program_and_params(tmp_path: Path) -> None:
    program = paddle_model(tmp_path / "pd")
    r = recipe(tmp_path, "{paddle: pd/m.pdmodel}")
    first = export_key(r, tmp_path / "cache")
    (tmp_path / "pd" / "m.pdiparams").write_bytes(b"other weights")
    second = export_key(r, tmp_path / "cache")
    program.write_bytes(b"other program")
    assert len({first, second, export_key(r, tmp_path / "cache")}) == 3


def test_tflite_keyed_by_content_and_inputs(tmp_path: Path) -> None:
    (tmp_path / "m.tflite").write_bytes(b"flatbuffer")
    plain = export_key(recipe(tmp_path, "{tflite: m.tflite}"), tmp_path / "cache")
    shaped = recipe(tmp_path, "{tflite: m.tflite, inputs: {x: [-1, 16]}}", name="s.yaml")
    export = plan(shaped, tmp_path / "cache").tasks["export"]
    assert export.key != plain
    assert export.params["source"] == {"kind": "tflite", "inputs": {"x": [-1, 16]}}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{tf_saved_model: sm}", "holds no saved_model.pb"),
        ("{paddle: pd/m.pdmodel}", "Paddle parameters not found: m.pdiparams"),
        ("{paddle: pd/m.bin}", "must name the program file (.pdmodel or .json)"),
        ("{tflite: nothere.tflite}", "TFLite file not found"),
    ],
)
def test_bad_framework_sources_are_exit_2_at_the_source_line(
    tmp_path: Path, capsys, source: str, message: str
) -> None:
    (tmp_path / "sm").mkdir()
    (tmp_path / "pd").mkdir()
    (tmp_path / "pd" / "m.pdmodel").write_bytes(b"program")  # no .pdiparams beside it
    (tmp_path / "pd" / "m.bin").write_bytes(b"x")
    assert main(["validate", str(recipe(tmp_path, source))]) == 2
    err = capsys.readouterr().err
    assert message in err and "r.yaml:4:" in err and "Traceback" not in err


def test_paddle_params_symlinked_outside_the_project_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    paddle_model(outside)
    project = tmp_path / "project"
    (project / "pd").mkdir(parents=True)
    (project / "pd" / "m.pdmodel").write_bytes(b"program")
    os.symlink(outside / "m.pdiparams", project / "pd" / "m.pdiparams")
    with pytest.raises(OvrunError, match="Paddle parameters"):
        plan(recipe(project, "{paddle: pd/m.pdmodel}"), tmp_path / "cache")


def test_missing_openvino_frontend_simulated_is_exit_2(tmp_path: Path, capsys, monkeypatch) -> None:
    """Simulated: the installed wheel has every frontend, so the lookup is made to miss.
    OpenVINO reads these formats itself; tensorflow / paddle are not needed to convert."""
    (tmp_path / "m.tflite").write_bytes(b"flatbuffer")
    assert model_sources.missing_frontend("tflite") is None  # the real install has it
    monkeypatch.setattr(model_sources, "missing_frontend", lambda kind: "tensorflow_lite")
    assert main(["validate", str(recipe(tmp_path, "{tflite: m.tflite}"))]) == 2
    err = capsys.readouterr().err
    assert "no tensorflow_lite frontend" in err and "pip install" in err
    assert "Traceback" not in err


def test_synthetic_tensors_take_model_shapes_and_need_no_export(tmp_path: Path) -> None:
    (tmp_path / "m.tflite").write_bytes(b"flatbuffer")
    extra = """
        data:
          calib: {synthetic: {dtype: float32, low: -1}, samples: 4}
          ids: {synthetic: {length: 8, vocab_size: 50}, samples: 4}"""
    r = recipe(tmp_path, "{tflite: m.tflite}", extra, shapes="{x: [1, 3, 8, 8]}")
    session = open_session(r, tmp_path / "cache", probe_devices=False)
    calib = dataset_task(session.recipe.data["calib"])
    assert calib.params["synthetic"] == {
        "dtype": "float32",
        "shapes": {"x": [3, 8, 8]},  # rows: the batch dimension is the dataset's batch
        "low": -1.0,
        "high": 1.0,
    }
    assert not calib.deps  # its shapes are in its key: no export needed first
    # token-id synthetic data keeps exactly the options written (its key is unchanged)
    assert dataset_task(session.recipe.data["ids"]).params["synthetic"] == {
        "length": 8,
        "vocab_size": 50,
    }


def test_synthetic_tensors_without_shapes_are_a_recipe_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "m.tflite").write_bytes(b"flatbuffer")
    extra = """
        data:
          calib: {synthetic: {dtype: float32}, samples: 4}"""
    assert main(["validate", str(recipe(tmp_path, "{tflite: m.tflite}", extra))]) == 2
    err = capsys.readouterr().err
    assert "need input shapes" in err and "model.shapes" in err and "Traceback" not in err


def test_validate_imports_no_ml_library_for_framework_sources(tmp_path: Path) -> None:
    """The frontend check looks on disk: validate still imports neither openvino nor a
    framework."""
    saved_model(tmp_path / "sm")
    paddle_model(tmp_path / "pd")
    (tmp_path / "m.tflite").write_bytes(b"flatbuffer")
    recipes = [
        recipe(tmp_path, source, name=f"r{i}.yaml")
        for i, source in enumerate(
            ("{tf_saved_model: sm}", "{tflite: m.tflite}", "{paddle: pd/m.pdmodel}")
        )
    ]
    code = (
        "import sys; from runner.cli.main import main; "
        "rc = max(main(['validate', path]) for path in sys.argv[1:]); "
        "heavy = [m for m in ('openvino', 'tensorflow', 'paddle', 'torch', 'networkx') "
        "if m in sys.modules]; print(heavy); sys.exit(rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, recipes)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
