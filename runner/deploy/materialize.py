"""Copy the deploy tasks' cached outputs into ``<run out>/deploy/``, replacing it whole.

Layout written (only the formats the recipe asks for):
    deploy/optimum/<variant>/          OVModelFor*.from_pretrained(...) loads it
    deploy/ovms/config.json            model_config_list with every deployed variant
    deploy/ovms/<name>/1/model.xml|bin
    deploy/ovms/<name>.request.json    a KServe infer body for that model (README's curl)
    deploy/ovms/<name>/graph.pbtxt     text-generation instead: OVMS's LLM graph beside the
                                       model dir and its tokenizer IRs (deploy.ovms_llm)
    deploy/ovms/README.md              the `ovms --config_path` command and client calls
    deploy/<name>.tar.gz               bundle with manifest.json; `ovrun verify` checks it
The new tree is assembled in a temp dir inside the run dir and renamed into place, so a
reader sees the old deploy dir or the new one, never a mix.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

OVMS_README = """\
# OpenVINO Model Server repository

Written by ovrun for recipe `{recipe}`. Models: {models}.

## Serve

From this directory (`deploy/ovms/` of the run; the commands hold no absolute path, so they
stay true wherever the directory is copied):

```bash
# the binary package (ovms on PATH)
ovms --config_path ./config.json --port 9000 --rest_port 8000
# or the container
docker run --rm -v "$PWD":/models:ro -p 9000:9000 -p 8000:8000 \\
  openvino/model_server:latest --config_path /models/config.json --port 9000 --rest_port 8000
```

`base_path` entries are relative to config.json, so the directory can be moved as a whole.
Readiness: `curl -s http://localhost:8000/v1/config` lists every model and its state.
{calls}"""

CLASSIC_CALL = """
## `{name}`: KServe / TensorFlow Serving REST

```bash
curl -s http://localhost:8000/v2/models/{name}            # KServe: inputs, outputs, shapes
curl -s http://localhost:8000/v1/models/{name}/metadata   # TFS: the same, TFS style
curl -s -X POST http://localhost:8000/v2/models/{name}/infer \\
  -H 'Content-Type: application/json' -d @{name}.request.json
```

`{name}.request.json` is a KServe infer body for this model's inputs (one tokenized sample
sentence). gRPC (KServe or TFS API) listens on port 9000.
"""

LLM_CALL = """
## `{name}`: OpenAI-style chat and completions (LLM pipeline)

`{name}/graph.pbtxt` runs the model through OVMS's LLM calculator (continuous batching;
device and plugin_config are in the graph), with the tokenizer/detokenizer IRs beside it.

```bash
curl -s http://localhost:8000/v3/chat/completions -H 'Content-Type: application/json' \\
  -d '{{"model": "{name}", "max_tokens": 32,
       "messages": [{{"role": "user", "content": "What is OpenVINO?"}}]}}'
curl -s http://localhost:8000/v3/completions -H 'Content-Type: application/json' \\
  -d '{{"model": "{name}", "max_tokens": 32, "prompt": "OpenVINO is"}}'
```

or `openai.OpenAI(base_url="http://localhost:8000/v3", api_key="unused")
.chat.completions.create(model="{name}", messages=[...])`. Chat applies the model's chat
template (`chat_template.jinja`, else `chat_template` in tokenizer_config.json, else OVMS's
default); /v3/completions applies none.
"""


def materialize(
    out_dir: Path, recipe: str, deploys: list[tuple[dict[str, Any], Path]]
) -> Path | None:
    """``deploys``: (task params, cached out dir) per deployed variant. Returns deploy/, or
    None when there is nothing to deploy: then a deploy/ of an earlier run is removed, so the
    run dir never offers a variant this run held back."""
    out_dir = out_dir.resolve()
    final = out_dir / "deploy"
    if not deploys:
        if final.exists():
            _swap(None, final)
        return None
    tmp = out_dir / f".deploy.tmp-{uuid.uuid4().hex}"
    try:
        tmp.mkdir(parents=True)
        entries, calls = [], []
        for params, src in deploys:
            formats, name = params["formats"], params["model_name"]
            if "optimum" in formats:
                shutil.copytree(src / "optimum", tmp / "optimum" / params["variant"])
            if "ovms" in formats:
                shutil.copytree(src / "ovms" / name, tmp / "ovms" / name)
                entries.append(json.loads((src / "ovms" / f"{name}.entry.json").read_text()))
                request = src / "ovms" / f"{name}.request.json"
                if request.is_file():  # classic model entries; an LLM graph takes /v3 calls
                    shutil.copy2(request, tmp / "ovms" / request.name)
                call = CLASSIC_CALL if request.is_file() else LLM_CALL
                calls.append(call.format(name=name))
            if "bundle" in formats:
                shutil.copy2(src / "bundle.tar.gz", tmp / f"{name}.tar.gz")
        if entries:
            config = {"model_config_list": entries}
            (tmp / "ovms" / "config.json").write_text(json.dumps(config, indent=2) + "\n")
            models = ", ".join(e["config"]["name"] for e in entries)
            readme = OVMS_README.format(recipe=recipe, models=models, calls="".join(calls))
            (tmp / "ovms" / "README.md").write_text(readme, encoding="utf-8")
        _swap(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _swap(new: Path | None, final: Path) -> None:
    old = final.with_name(f".deploy.old-{uuid.uuid4().hex}")
    if final.exists():
        final.rename(old)
    if new is not None:
        new.rename(final)
    shutil.rmtree(old, ignore_errors=True)
