"""Deploy outputs of a real run on a tiny BERT: optimum dir, OVMS repository, bundle."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from recipes_util import ovrun

from runner.deploy.bundle import verify_bundle, write_bundle


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, tiny_project) -> dict:
    project = tiny_project(
        """
        version: 1
        name: tiny
        model: {source: {path: model}}
        variants:
          fp32: {}
          w8: {compress_weights: {mode: int8_asym}}
        targets: {devices: [CPU], hints: [LATENCY], properties: {INFERENCE_PRECISION_HINT: f32}}
        benchmark: {duration_s: 0.2, warmup: 1, seq_len: 16}
        deploy:
          variants: [w8]
          hint: THROUGHPUT
          properties: {NUM_STREAMS: 2}
        """,
        {"eval.txt": (8, 3)},
        dir=tmp_path_factory.mktemp("deploy"),
    )
    recipe, cache = project.recipe, project.cache
    result = ovrun(str(recipe), "--cache-dir", str(cache))
    assert result.returncode == 0, result.stdout + result.stderr
    return {"recipe": recipe, "cache": cache, "out": project.out, "stdout": result.stdout}


def test_optimum_dir_loads_and_infers(deployed):
    from optimum.intel import OVModelForFeatureExtraction
    from transformers import AutoTokenizer

    model_dir = deployed["out"] / "deploy" / "optimum" / "w8"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = OVModelForFeatureExtraction.from_pretrained(model_dir, device="CPU")
    inputs = tokenizer(["the quick model runs", "another line"], padding=True, return_tensors="pt")
    output = model(**inputs)
    hidden = output.last_hidden_state
    assert tuple(hidden.shape[:2]) == tuple(inputs["input_ids"].shape)
    assert hidden.shape[-1] == 32  # the tiny BERT's hidden size
    assert bool((hidden.abs().sum(-1) > 0).all())


def test_openvino_tokenizer_ir_matches_hf_tokenizer(deployed):
    import openvino as ov
    import openvino_tokenizers  # noqa: F401  registers the tokenizer ops with OpenVINO
    from transformers import AutoTokenizer

    model_dir = deployed["out"] / "deploy" / "optimum" / "w8"
    assert (model_dir / "openvino_tokenizer.xml").is_file()
    compiled = ov.Core().compile_model(model_dir / "openvino_tokenizer.xml", "CPU")
    text = "the quick model runs"
    ids = compiled([text])["input_ids"][0].tolist()
    assert ids == AutoTokenizer.from_pretrained(model_dir)(text)["input_ids"]


def test_ovms_repository_layout_and_config(deployed):
    import openvino as ov

    repo = deployed["out"] / "deploy" / "ovms"
    config = json.loads((repo / "config.json").read_text())
    assert list(config) == ["model_config_list"]
    [item] = config["model_config_list"]
    entry = item["config"]
    assert entry["name"] == "tiny-w8"
    assert entry["target_device"] == "CPU"
    # the recipe's hint, its targets.properties and deploy.properties, as OVMS strings
    assert entry["plugin_config"] == {
        "INFERENCE_PRECISION_HINT": "f32",
        "NUM_STREAMS": "2",
        "PERFORMANCE_HINT": "THROUGHPUT",
    }
    version_dir = (repo / entry["base_path"]) / "1"  # base_path is relative to config.json
    assert sorted(p.name for p in version_dir.iterdir()) == ["model.bin", "model.xml"]
    # OpenVINO accepts the plugin config as written and applies it
    compiled = ov.Core().compile_model(version_dir / "model.xml", "CPU", entry["plugin_config"])
    assert str(compiled.get_property("PERFORMANCE_HINT")) == "THROUGHPUT"
    assert int(compiled.get_property("NUM_STREAMS")) == 2
    assert str(compiled.get_property("INFERENCE_PRECISION_HINT")) == "<Type: 'float32'>"
    readme = (repo / "README.md").read_text()
    assert "ovms --config_path ./config.json" in readme and str(repo) not in readme
    assert "-d @tiny-w8.request.json" in readme and "/v2/models/tiny-w8/infer" in readme


def test_ovms_config_is_valid_against_ovms_schema(deployed):
    from ovms_util import schema_errors

    config = json.loads((deployed["out"] / "deploy" / "ovms" / "config.json").read_text())
    assert schema_errors(config) == []
    with tarfile.open(deployed["out"] / "deploy" / "tiny-w8.tar.gz") as tar:
        bundled = json.loads(tar.extractfile("ovms/config.json").read())
    assert schema_errors(bundled) == [] and bundled == config


def test_kserve_request_sample_feeds_the_model(deployed):
    """The README's infer body names every model input with its KServe type and a shape its
    data fills, and the token ids are the tokenizer's for the sample sentence."""
    import numpy as np
    import openvino as ov
    from transformers import AutoTokenizer

    from runner.adapters.kserve_request import SAMPLE_TEXT

    repo = deployed["out"] / "deploy" / "ovms"
    body = json.loads((repo / "tiny-w8.request.json").read_text())
    model = ov.Core().read_model(repo / "tiny-w8" / "1" / "model.xml")
    types = {"INT64": np.int64, "INT32": np.int32, "FP32": np.float32}
    feed = {
        i["name"]: np.array(i["data"], dtype=types[i["datatype"]]).reshape(i["shape"])
        for i in body["inputs"]
    }
    assert set(feed) == {port.get_any_name() for port in model.inputs}
    tokenizer = AutoTokenizer.from_pretrained(deployed["out"] / "deploy" / "optimum" / "w8")
    assert feed["input_ids"][0].tolist() == tokenizer(SAMPLE_TEXT)["input_ids"]
    result = ov.Core().compile_model(model, "CPU")(feed)
    assert result[0].shape[:2] == feed["input_ids"].shape


def test_bundle_verifies_and_tampering_is_caught(deployed, tmp_path):
    bundle = deployed["out"] / "deploy" / "tiny-w8.tar.gz"
    ok = ovrun("verify", str(bundle))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "files match the manifest" in ok.stdout
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
    assert {"manifest.json", "optimum/openvino_model.xml", "ovms/tiny-w8/1/model.bin"} <= set(names)
    assert "ovms/config.json" in names

    tampered = tmp_path / "tampered.tar.gz"
    _rewrite_member(bundle, tampered, "optimum/config.json", b'{"hacked": true}')
    bad = ovrun("verify", str(tampered))
    assert bad.returncode == 1
    assert "optimum/config.json: sha256" in bad.stdout

    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not a tarball")
    refused = ovrun("verify", str(garbage))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "not an ovrun bundle" in refused.stderr


def test_rerun_uses_cache_and_bundle_is_reproducible(deployed):
    bundle = deployed["out"] / "deploy" / "tiny-w8.tar.gz"
    first = hashlib.sha256(bundle.read_bytes()).hexdigest()
    again = ovrun(
        str(deployed["recipe"]), "--cache-dir", str(deployed["cache"]), "--force", "deploy:w8"
    )
    assert again.returncode == 0, again.stdout + again.stderr
    tasks = json.loads((deployed["out"] / "results.json").read_text())["run"]["tasks"]
    assert tasks["deploy:w8"]["state"] == "ran"
    assert tasks["compress:w8"]["state"] == "cached"
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() == first
    # the swap leaves no temp dirs behind, and nothing is written outside the run dir
    assert not [p for p in deployed["out"].iterdir() if p.name.startswith(".deploy")]


def test_deploy_of_unknown_variant_is_a_positioned_error(tmp_path):
    from recipes_util import minimal_recipe

    path = minimal_recipe(tmp_path)
    path.write_text(path.read_text() + "deploy: {variants: [int9]}\n")
    result = ovrun("validate", str(path))
    assert result.returncode == 2
    assert f"{path}:" in result.stderr and "unknown variant 'int9'" in result.stderr
    assert "did you mean 'int8'?" in result.stderr


def test_bundle_roundtrip_and_missing_member(tmp_path):
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "a" / "x.bin").write_bytes(b"\x00\x01" * 1000)
    (src / "b.txt").write_text("hello")
    first = write_bundle(src, tmp_path / "one.tar.gz")
    assert write_bundle(src, tmp_path / "two.tar.gz") == first  # byte-for-byte reproducible
    assert verify_bundle(tmp_path / "one.tar.gz") == (2, [])
    dropped = tmp_path / "dropped.tar.gz"
    _rewrite_member(tmp_path / "one.tar.gz", dropped, "b.txt", None)
    assert verify_bundle(dropped) == (2, ["b.txt: listed in the manifest but missing"])


def _rewrite_member(src: Path, dest: Path, name: str, data: bytes | None) -> None:
    """Copy a tar.gz, replacing (or with None dropping) one member."""
    with tarfile.open(src) as old, tarfile.open(dest, "w:gz") as new:
        for member in old:
            if member.name != name:
                new.addfile(member, old.extractfile(member))
            elif data is not None:
                member.size = len(data)
                new.addfile(member, io.BytesIO(data))
