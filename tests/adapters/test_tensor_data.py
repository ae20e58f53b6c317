"""Data for models whose inputs are not token ids (issue 19 §1): named float tensors from an
npz or from seeded synthetic values, fed by input name to a real OpenVINO model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

from runner.adapters import dataset as datasets
from runner.adapters.feeds import make_feed, random_tensors
from runner.core.errors import OvrunError
from runner.plan.context import TaskContext


def run_dataset(tmp: Path, source: Path | None, **params) -> tuple[dict, Path]:
    out = tmp / f"out-{len(list(tmp.glob('out-*')))}"
    out.mkdir()
    full = {"samples": 100, "seed": 0, "shuffle": False, "batch": 1, **params}
    files = {"source": source} if source is not None else {}
    return datasets.run(TaskContext("ds", "dataset", full, {}, files, out)), out


def image_model() -> ov.CompiledModel:
    """A float image input with two names (as a converted TF model's input has) -> its sum."""
    image = ops.parameter([-1, 3, 4, 4], ov.Type.f32, name="image")
    image.output(0).set_names({"image", "serving_default_image:0"})
    total = ops.reduce_sum(image, ops.constant([1, 2, 3]), keep_dims=False)
    return ov.Core().compile_model(ov.Model([ops.result(total)], [image]), "CPU")


def test_npz_named_arrays_feed_the_model_by_name(tmp_path: Path) -> None:
    images = np.random.default_rng(0).uniform(size=(5, 3, 4, 4)).astype(np.float64)
    np.savez(tmp_path / "x.npz", **{"serving_default_image:0": images})
    summary, out = run_dataset(tmp_path, tmp_path / "x.npz", format="npz", batch=2)
    assert summary["tensors"] and summary["samples"] == 5 and summary["batches"] == 3
    assert summary["shapes"] == {"serving_default_image:0": [3, 4, 4]}
    items = datasets.load_samples(out)
    assert [len(item["serving_default_image:0"]) for item in items] == [2, 2, 1]
    model = image_model()
    sums = [model(make_feed(model.inputs, item))[0] for item in items]
    # fed by its second name and cast to the port's f32: the sums are the data's
    np.testing.assert_allclose(np.concatenate(sums), images.sum(axis=(1, 2, 3)), rtol=1e-5)


def test_npz_arrays_with_different_row_counts_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", a=np.zeros((4, 2)), b=np.zeros((3, 2)))
    with pytest.raises(OvrunError, match=r"share their first \(row\) dimension.*a \[4, 2\]"):
        run_dataset(tmp_path, tmp_path / "x.npz", format="npz")


def test_synthetic_tensors_are_seeded_and_shaped(tmp_path: Path) -> None:
    spec = {"dtype": "float32", "shapes": {"image": [3, 4, 4]}, "low": -1.0, "high": 1.0}
    first = run_dataset(tmp_path, None, format="synthetic", synthetic=spec, samples=6)[1]
    again = run_dataset(tmp_path, None, format="synthetic", synthetic=spec, samples=6)[1]
    other = run_dataset(tmp_path, None, format="synthetic", synthetic=spec, samples=6, seed=1)[1]
    arrays = [np.load(out / datasets.SAMPLES_FILE)["image"] for out in (first, again, other)]
    assert arrays[0].shape == (6, 3, 4, 4) and arrays[0].dtype == np.float32
    assert arrays[0].min() >= -1.0 and arrays[0].max() < 1.0
    np.testing.assert_array_equal(arrays[0], arrays[1])
    assert not np.array_equal(arrays[0], arrays[2])


def test_a_model_input_missing_from_the_data_is_named(tmp_path: Path) -> None:
    model = image_model()
    with pytest.raises(OvrunError, match=r"no array for model input 'image' \(it has pixels\)"):
        make_feed(model.inputs, {"pixels": np.zeros((1, 3, 4, 4), np.float32)})


def test_benchmark_tensors_follow_the_static_ports() -> None:
    image = ops.parameter([2, 3, 4, 4], ov.Type.f32, name="image")
    steps = ops.parameter([2], ov.Type.i32, name="steps")
    model = ov.Model([ops.result(image), ops.result(steps)], [image, steps])
    feed = random_tensors(model.inputs, seed=0)
    assert feed["image"].shape == (2, 3, 4, 4) and feed["image"].dtype == np.float32
    assert feed["steps"].dtype == np.int32
    np.testing.assert_array_equal(feed["image"], random_tensors(model.inputs, seed=0)["image"])
