"""OpenVINO Model Server's own files, vendored in tests/data/ovms (see its README), as checks:
a config.json against OVMS's MODELS_CONFIG_SCHEMA, a graph against its export script's
text-generation template."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import jsonschema

from runner.deploy.ovms_llm import LLMServing

OVMS_DATA = Path(__file__).resolve().parent / "data" / "ovms"
# OVMS validates with RapidJSON's schema validator, which implements draft 04.
VALIDATOR = jsonschema.Draft4Validator(
    json.loads((OVMS_DATA / "models_config_schema.json").read_text(encoding="utf-8"))
)
TEMPLATE = jinja2.Environment(loader=jinja2.BaseLoader()).from_string(
    (OVMS_DATA / "text_generation_graph.pbtxt.j2").read_text(encoding="utf-8")
)


def schema_errors(config: dict) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(config)
    ]


def export_script_graph(device: str, plugin_config: dict[str, str], serving: LLMServing) -> str:
    """The template rendered as export_model.py renders it for a local OpenVINO model dir:
    model_path "./", its argparse defaults for everything ovrun does not set."""
    return TEMPLATE.render(
        model_path="./",
        plugin_config=json.dumps(plugin_config),
        target_device=device,
        pipeline_type=None,
        enable_prefix_caching=serving.enable_prefix_caching,
        cache_size=serving.cache_size,
        max_num_seqs=serving.max_num_seqs,
        max_num_batched_tokens=None,
        dynamic_split_fuse=True,
        draft_model_dir_name=None,
        reasoning_parser=None,
        tool_parser=None,
        enable_tool_guided_generation=False,
    )
