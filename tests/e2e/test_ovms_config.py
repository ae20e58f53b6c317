"""OVMS configs ovrun writes, checked against OpenVINO Model Server's own files (vendored in
tests/data/ovms, see its README): every config.json against OVMS's MODELS_CONFIG_SCHEMA
(src/schema.cpp), the LLM graph.pbtxt against the export script's template, and a
text-generation deploy end to end on the tiny Llama."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import pytest
from ovms_util import export_script_graph, schema_errors
from recipes_util import ovrun

from runner.adapters.deploy import ovms_entry
from runner.deploy.ovms_llm import LLMServing, llm_entry, llm_graph


@pytest.mark.parametrize(
    ("device", "plugin"),
    [
        ("CPU", {"PERFORMANCE_HINT": "LATENCY"}),
        ("GPU.1", {"NUM_STREAMS": 2, "PERFORMANCE_HINT": "THROUGHPUT", "KV_CACHE_PRECISION": "u8"}),
        ("AUTO:GPU,CPU", {"ENABLE_HYPER_THREADING": False, "INFERENCE_NUM_THREADS": 4}),
    ],
)
def test_every_config_kind_ovrun_writes_is_valid_for_ovms(device, plugin) -> None:
    classic = ovms_entry("tiny-w8", device, plugin)
    llm = llm_entry("chat-w8")
    for config in (
        {"model_config_list": [classic]},
        {"model_config_list": [llm]},
        {"model_config_list": [classic, llm, ovms_entry("tiny-fp32", device, {})]},
    ):
        assert schema_errors(config) == []


def test_the_vendored_schema_refuses_what_ovms_refuses() -> None:
    """The check can fail: keys OVMS does not know, a missing name, a non-scalar property."""
    entry = ovms_entry("m", "CPU", {"NUM_STREAMS": 1})
    assert schema_errors({"models": [entry]})  # model_config_list is required
    assert schema_errors({"model_config_list": [{"config": {**entry["config"], "graph": "x"}}]})
    assert schema_errors({"model_config_list": [{"config": {"base_path": "m"}}]})
    bad_plugin = {**entry["config"], "plugin_config": {"DEVICE_PROPERTIES": [1]}}
    assert schema_errors({"model_config_list": [{"config": bad_plugin}]})


@pytest.mark.parametrize(
    ("device", "plugin", "serving"),
    [
        ("CPU", {"PERFORMANCE_HINT": "LATENCY"}, LLMServing()),
        (
            "GPU",
            {"KV_CACHE_PRECISION": "u8", "NUM_STREAMS": "2", "PERFORMANCE_HINT": "THROUGHPUT"},
            LLMServing(cache_size=4, max_num_seqs=8, enable_prefix_caching=False),
        ),
    ],
)
def test_llm_graph_is_the_export_scripts_template_rendered(device, plugin, serving) -> None:
    assert llm_graph(device, plugin, serving) == export_script_graph(device, plugin, serving)


def test_deploy_llm_options_on_another_task_are_a_positioned_error(tmp_path) -> None:
    from recipes_util import minimal_recipe

    path = minimal_recipe(tmp_path)
    path.write_text(path.read_text() + "deploy: {variants: [int8], llm: {max_num_seqs: 4}}\n")
    result = ovrun("validate", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{path}:" in result.stderr and "deploy.llm" in result.stderr
    assert "task is feature-extraction" in result.stderr


def test_llm_graph_escapes_quotes_for_protobuf_text() -> None:
    graph = llm_graph("CPU", {"CACHE_DIR": "/tmp/it's"}, LLMServing())
    [quoted] = re.findall(r"plugin_config: '((?:[^'\\]|\\.)*)'", graph)
    unescaped = re.sub(r"\\(.)", r"\1", quoted)  # what protobuf text format reads back
    assert json.loads(unescaped) == {"CACHE_DIR": "/tmp/it's"}


@pytest.fixture(scope="module")
def llm_deploy(tmp_path_factory, tiny_project, tiny_causal_lm_dir) -> Path:
    project = tiny_project(
        """
        version: 1
        name: chat
        model: {source: {path: model}, task: text-generation}
        variants:
          w8: {compress_weights: {mode: int8_asym}}
        targets: {devices: [CPU], hints: [LATENCY], properties: {INFERENCE_PRECISION_HINT: f32}}
        deploy: {variants: [w8], properties: {NUM_STREAMS: 1}, llm: {max_num_seqs: 4}}
        """,
        dir=tmp_path_factory.mktemp("ovms_llm"),
        model=tiny_causal_lm_dir,
    )
    args = (str(project.recipe), "--cache-dir", str(project.cache), "--only", "deploy:*")
    result = ovrun(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return project.out / "deploy"


def test_text_generation_deploy_is_an_ovms_llm_servable(llm_deploy: Path) -> None:
    repo = llm_deploy / "ovms"
    config = json.loads((repo / "config.json").read_text())
    assert schema_errors(config) == []
    # as the export script lists a graph: name and base_path only
    assert config == {
        "model_config_list": [{"config": {"name": "chat-w8", "base_path": "chat-w8"}}]
    }
    served = repo / "chat-w8"
    for name in ("openvino_model", "openvino_tokenizer", "openvino_detokenizer"):
        assert (served / f"{name}.xml").is_file() and (served / f"{name}.bin").is_file()
    plugin = {"INFERENCE_PRECISION_HINT": "f32", "NUM_STREAMS": "1", "PERFORMANCE_HINT": "LATENCY"}
    graph = (served / "graph.pbtxt").read_text()
    assert graph == export_script_graph("CPU", plugin, LLMServing(max_num_seqs=4))
    readme = (repo / "README.md").read_text()
    assert "ovms --config_path ./config.json" in readme and str(repo) not in readme
    assert '"model": "chat-w8"' in readme and "/v3/chat/completions" in readme
    assert not list(repo.glob("*.request.json"))  # the LLM is called through /v3, not KServe
    with tarfile.open(llm_deploy / "chat-w8.tar.gz") as tar:
        names = set(tar.getnames())
        bundled = json.loads(tar.extractfile("ovms/config.json").read())
    assert bundled == config  # the bundle's own OVMS config, as valid as the run dir's
    assert {"ovms/config.json", "ovms/chat-w8/graph.pbtxt"} <= names
    assert "ovms/chat-w8/openvino_detokenizer.xml" in names


def test_the_servable_runs_in_the_pipeline_ovms_builds_from_the_graph(llm_deploy: Path) -> None:
    """OVMS's LLM calculator builds an openvino-genai continuous-batching pipeline from
    models_path, device, plugin_config and the scheduler options of the graph: build the same
    from what the graph says and generate from text (tokenizer and detokenizer IRs both run)."""
    import openvino_genai as genai

    served = llm_deploy / "ovms" / "chat-w8"
    graph = (served / "graph.pbtxt").read_text()
    models_path = served / re.search(r'models_path: "([^"]*)"', graph)[1]
    device = re.search(r'device: "([^"]*)"', graph)[1]
    plugin = json.loads(re.search(r"plugin_config: '([^']*)'", graph)[1])
    scheduler = genai.SchedulerConfig()
    scheduler.cache_size = int(re.search(r"cache_size: (\d+)", graph)[1])
    scheduler.max_num_seqs = int(re.search(r"max_num_seqs: (\d+)", graph)[1])
    scheduler.enable_prefix_caching = (
        re.search(r"enable_prefix_caching:\s+(\w+)", graph)[1] == "true"
    )
    pipe = genai.LLMPipeline(str(models_path), device, scheduler_config=scheduler, **plugin)
    config = genai.GenerationConfig()
    config.max_new_tokens, config.ignore_eos = 4, True
    result = pipe.generate(["OpenVINO Model Server serves"], config)
    assert len(result.texts) == 1 and result.perf_metrics.get_num_generated_tokens() == 4
