"""TensorFlow SavedModel, TFLite and Paddle sources through whole `ovrun` runs (issue 19 §1).

The models are built at test time with each framework, in a child process (one TensorFlow
import builds both the SavedModel and its TFLite conversion; Paddle saves the .pdmodel
format, which this OpenVINO's Paddle frontend reads). Their inputs are float tensors, not
token ids: calibration, benchmark and evaluation run from synthetic tensors shaped by
model.shapes, or from an npz of named arrays."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from recipes_util import ovrun, write

from runner.cache.store import Cache

pytestmark = pytest.mark.slow  # each test is a whole CLI run on converted models

_TF_BUILD = """
import sys, tensorflow as tf
out = sys.argv[1]
tf.keras.utils.set_random_seed(0)
x = tf.keras.Input(shape=(8, 8, 3), name="image")
y = tf.keras.layers.Conv2D(8, 3, activation="relu")(x)
y = tf.keras.layers.GlobalAveragePooling2D()(y)
y = tf.keras.layers.Dense(16, activation="relu")(y)
model = tf.keras.Model(x, tf.keras.layers.Dense(4)(y))
model.export(out + "/saved")  # SavedModel: saved_model.pb, variables/, assets/
tflite = tf.lite.TFLiteConverter.from_saved_model(out + "/saved").convert()
open(out + "/model.tflite", "wb").write(tflite)
# height and width dynamic too: only model.shapes can make this one static
x = tf.keras.Input(shape=(None, None, 3), name="image")
y = tf.keras.layers.GlobalAveragePooling2D()(tf.keras.layers.Conv2D(4, 3)(x))
tf.keras.Model(x, y).export(out + "/dynamic")
"""

_PADDLE_BUILD = """
import sys, paddle
paddle.seed(0)
class Net(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.a = paddle.nn.Linear(16, 32)
        self.b = paddle.nn.Linear(32, 4)
    def forward(self, x):
        return self.b(paddle.nn.functional.relu(self.a(x)))
net = Net()
net.eval()
spec = [paddle.static.InputSpec([None, 16], "float32", "x")]
paddle.jit.save(net, sys.argv[1] + "/pd/model", input_spec=spec)
"""


def _require(framework: str) -> None:
    # find_spec, not import: importing TensorFlow here (beside torch and OpenVINO) can crash
    # the test process, so the frameworks only ever load in the builder child process
    if importlib.util.find_spec(framework) is None:
        pytest.skip(f"{framework} is not installed (the test extra installs it)")


def _build(script: str, out: Path, env: dict | None = None) -> None:
    builder = out / "build.py"  # a file, not -c: paddle.jit reads the layer's source back
    builder.write_text(textwrap.dedent(script), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(builder), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def tf_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require("tensorflow")
    out = tmp_path_factory.mktemp("tf")
    _build(_TF_BUILD, out)
    return out


@pytest.fixture(scope="module")
def paddle_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require("paddle")
    out = tmp_path_factory.mktemp("paddle")
    # .pdmodel: OpenVINO 2026.4's Paddle frontend does not read PIR .json programs
    _build(_PADDLE_BUILD, out, {"FLAGS_enable_pir_api": "0"})
    return out / "pd" / "model.pdmodel"


def run_int8(tmp: Path, source: str, shapes: str, data: str, task: str) -> dict:
    recipe = write(
        tmp / "fw.yaml",
        f"""
        version: 1
        name: fw
        model:
          source: {source}
          task: {task}
          shapes: {shapes}
        data:
          calib: {data}
        variants:
          fp32: {{}}
          int8: {{quantize: {{dataset: calib, subset_size: 16}}}}
        benchmark: {{duration_s: 0.2, warmup: 1, repeats: 1}}
        evaluate: {{dataset: calib, reference: fp32}}
        """,
    )
    cache = tmp / "cache"
    result = ovrun(str(recipe), "--cache-dir", str(cache))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads((tmp / "fw.out" / "results.json").read_text())
    rows = {row["variant"]: row for row in results["benchmarks"]}
    assert set(rows) == {"fp32", "int8"}
    for row in rows.values():
        assert row["status"] == "ok" and row["throughput"] > 0
    evaluation = results["evaluations"]["int8"]
    assert 0.5 < evaluation["value"] <= 1.0 + 1e-6  # INT8 still follows the FP32 model
    # the INT8 IR really is quantized: FakeQuantize nodes in the cached artifact
    import openvino as ov

    key = results["run"]["tasks"]["compress:int8"]["key"]
    xml = Cache(cache).out_dir(key) / "model" / "openvino_model.xml"
    kinds = [op.get_type_name() for op in ov.Core().read_model(xml).get_ordered_ops()]
    assert kinds.count("FakeQuantize") >= 2
    return results


def test_saved_model_int8_from_synthetic_tensors(tmp_path: Path, tf_models: Path) -> None:
    shutil.copytree(tf_models / "saved", tmp_path / "saved")
    results = run_int8(
        tmp_path,
        "{tf_saved_model: saved}",
        "{image: [1, 8, 8, 3]}",
        "{synthetic: {dtype: float32}, samples: 16}",
        "feature-extraction",
    )
    assert results["evaluations"]["int8"]["metric"] == "cosine"


def test_tflite_classifier_int8_from_npz_tensors(tmp_path: Path, tf_models: Path) -> None:
    shutil.copy(tf_models / "model.tflite", tmp_path / "model.tflite")
    # TFLite names its input after the signature: an npz array under that name feeds it
    images = np.random.default_rng(1).uniform(size=(16, 8, 8, 3)).astype(np.float32)
    np.savez(tmp_path / "images.npz", **{"serving_default_image:0": images})
    results = run_int8(
        tmp_path,
        "{tflite: model.tflite}",
        "{'serving_default_image:0': [1, 8, 8, 3]}",
        "{npz: images.npz, samples: 16}",
        "text-classification",  # a classifier-shaped output: top-1 agreement
    )
    assert results["evaluations"]["int8"]["metric"] == "top1_agreement"


def test_paddle_int8_from_synthetic_tensors(tmp_path: Path, paddle_model: Path) -> None:
    shutil.copytree(paddle_model.parent, tmp_path / "pd")
    run_int8(
        tmp_path,
        "{paddle: pd/model.pdmodel}",
        "{x: [2, 16]}",
        "{synthetic: {dtype: float32, low: -1}, samples: 16, batch: 2}",
        "feature-extraction",
    )


def test_dynamic_input_without_shapes_is_a_clear_benchmark_error(tf_models: Path) -> None:
    """A dynamic batch alone is filled from benchmark.batch; other dynamic dims need
    model.shapes, and the cell says so instead of failing inside OpenVINO. (Checked on the
    converted models directly: how a cell error reaches the CLI is tested elsewhere.)"""
    import openvino as ov

    from runner.adapters.benchmark import _static_shapes
    from runner.core.errors import OvrunError

    batch_only = ov.convert_model(str(tf_models / "saved"))  # image: [?, 8, 8, 3]
    assert _static_shapes(batch_only, 4, 128) == {"image": [4, 8, 8, 3]}
    dynamic = ov.convert_model(str(tf_models / "dynamic"))  # image: [?, ?, ?, 3]
    with pytest.raises(OvrunError, match="has the dynamic shape") as err:
        _static_shapes(dynamic, 1, 128)
    assert "model.shapes: {image: [...]}" in (err.value.hint or "")


def test_paddle_pir_json_program_is_refused_with_the_resave_hint(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """paddle.jit.save's default (PIR) .json program: this OpenVINO's Paddle frontend cannot
    read it, and the export says how to save one it can, instead of 'cannot recognize'."""
    _require("paddle")
    from runner.adapters.model_sources import convert_graph
    from runner.core.errors import OvrunError
    from runner.plan.context import TaskContext

    out = tmp_path_factory.mktemp("pir")
    _build(_PADDLE_BUILD, out)  # paddle's default: model.json + model.pdiparams
    program = out / "pd" / "model.json"
    assert program.is_file()
    files = {"model": program, "weights": out / "pd" / "model.pdiparams"}
    ctx = TaskContext("export", "export", {"source": {"kind": "paddle"}}, {}, files, out / "o")
    with pytest.raises(OvrunError, match="cannot read the Paddle PIR program") as err:
        convert_graph(ctx, "paddle", out / "o" / "model", "fp32")
    assert "FLAGS_enable_pir_api=0" in (err.value.hint or "")


_HIDDEN_FRAMEWORKS = """
import sys

class Hide:  # tensorflow and paddle cannot be imported in this process
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "paddle"):
            raise ImportError(f"{name} hidden by the test")

sys.meta_path.insert(0, Hide())
from pathlib import Path
from runner.adapters.model_sources import convert_graph
from runner.plan.context import TaskContext

for kind, model in zip(sys.argv[1::2], sys.argv[2::2]):
    files = {"model": Path(model)}
    if kind == "paddle":
        files["weights"] = Path(model).with_suffix(".pdiparams")
    out = Path(model).parent / f"converted-{kind}"
    ctx = TaskContext("export", "export", {"source": {"kind": kind}}, {}, files, out)
    converted = convert_graph(ctx, kind, out / "model", "fp32")
    print(kind, len(converted.inputs))
assert "tensorflow" not in sys.modules and "paddle" not in sys.modules
"""


def test_conversion_needs_neither_tensorflow_nor_paddle_simulated_hidden(
    tf_models: Path, paddle_model: Path
) -> None:
    """Why no run asks for the [tensorflow] / [paddle] extras: with both frameworks hidden
    (an import hook refuses them), OpenVINO's own frontends still convert all three kinds."""
    args = ["tf_saved_model", str(tf_models / "saved"), "tflite", str(tf_models / "model.tflite")]
    result = subprocess.run(
        [sys.executable, "-c", _HIDDEN_FRAMEWORKS, *args, "paddle", str(paddle_model)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["tf_saved_model", "1", "tflite", "1", "paddle", "1"]
