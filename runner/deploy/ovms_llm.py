"""What OpenVINO Model Server needs to serve a text-generation variant through its LLM pipeline
(the MediaPipe `HttpLLMCalculator`, OpenAI-style `/v3/chat/completions` and `/v3/completions`).

The layout is the one OVMS's own export script writes
(demos/common/export_models/export_model.py, task `text_generation`):

    <repository>/config.json       {"model_config_list": [{"config": {"name": N, "base_path": N}}]}
    <repository>/<N>/graph.pbtxt   the LLM calculator graph, models_path "./"
    <repository>/<N>/openvino_model.xml|bin, openvino_tokenizer.xml|bin,
                     openvino_detokenizer.xml|bin, config.json, tokenizer files

OVMS sees graph.pbtxt in base_path and serves the entry as a graph; device and plugin_config
live in the graph, not in the config entry, exactly as the export script puts them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# The model directory must hold these for the LLM calculator to tokenize and detokenize.
TOKENIZER_FILES = (
    "openvino_tokenizer.xml",
    "openvino_tokenizer.bin",
    "openvino_detokenizer.xml",
    "openvino_detokenizer.bin",
)
GRAPH = "graph.pbtxt"


@dataclass(frozen=True)
class LLMServing:
    """The LLM calculator's scheduler options ovrun fills; the defaults are the export
    script's (cache_size 0: the KV cache grows on demand; 256 sequences at once)."""

    cache_size: int = 0  # GB of KV cache allocated up front
    max_num_seqs: int = 256
    enable_prefix_caching: bool = True


def llm_entry(name: str) -> dict[str, Any]:
    """The `model_config_list` item OVMS's export script writes for a graph: name and a
    base_path relative to config.json (OVMS resolves it against the config's directory)."""
    return {"config": {"name": name, "base_path": name}}


def llm_graph(device: str, plugin_config: dict[str, str], serving: LLMServing) -> str:
    """graph.pbtxt as the export script renders its `text_generation_graph_template` for a
    local OpenVINO model (models_path "./", no draft model, no reasoning/tool parser,
    dynamic split-fuse on): byte-for-byte what that template gives for these values."""
    plugin = _pbtxt_single_quoted(json.dumps(plugin_config))
    # the template writes " true" (with its space) and "false"
    prefix = " true" if serving.enable_prefix_caching else "false"
    return f"""# OVMS_GRAPH_QUEUE_MAX_SIZE: AUTO
input_stream: "HTTP_REQUEST_PAYLOAD:input"
output_stream: "HTTP_RESPONSE_PAYLOAD:output"

node: {{
  name: "LLMExecutor"
  calculator: "HttpLLMCalculator"
  input_stream: "LOOPBACK:loopback"
  input_stream: "HTTP_REQUEST_PAYLOAD:input"
  input_side_packet: "LLM_NODE_RESOURCES:llm"
  input_side_packet: "LLM_NODE_EXECUTION_CONTEXTS:llm_ctx"
  output_stream: "LOOPBACK:loopback"
  output_stream: "HTTP_RESPONSE_PAYLOAD:output"
  input_stream_info: {{
    tag_index: 'LOOPBACK:0',
    back_edge: true
  }}
  node_options: {{
      [type.googleapis.com / mediapipe.LLMCalculatorOptions]: {{
          models_path: "./",
          plugin_config: '{plugin}',
          enable_prefix_caching: {prefix},
          cache_size: {serving.cache_size},
          max_num_seqs: {serving.max_num_seqs},
          device: "{_pbtxt_double_quoted(device)}",
      }}
  }}
  input_stream_handler {{
    input_stream_handler: "SyncSetInputStreamHandler",
    options {{
      [mediapipe.SyncSetInputStreamHandlerOptions.ext] {{
        sync_set {{
          tag_index: "LOOPBACK:0"
        }}
      }}
    }}
  }}
}}"""


def _pbtxt_single_quoted(text: str) -> str:
    # protobuf text format unescapes backslashes: JSON's own escapes must survive that
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _pbtxt_double_quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
